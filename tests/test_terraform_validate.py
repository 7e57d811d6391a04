"""`terraform validate` of every environment's stack, offline against the local provider mirror.

`init -lockfile=readonly` checks the provider binary against the committed lock file main.py placed in each stack
folder. The named environments are checked side by side (each run mostly loads the provider's schema; the ad-hoc
stack is dev's configuration under other names). The account stack is validated by `terraform test` in the slow tier
(tests/test_terraform_test.py; `test` validates before it plans): a fifth run here would cost the fast tier several
seconds on two cores."""

import subprocess

import pytest

from tests.conftest import ADHOC, SUFFIXES, in_every_stack


@pytest.fixture(scope="module")
def validated(synth_dir, plugin_dir, tmp_path_factory) -> dict[str, list[subprocess.CompletedProcess[str]]]:
    return in_every_stack(synth_dir, plugin_dir, tmp_path_factory, "validate", account=False, adhoc=False)


@pytest.mark.parametrize("suffix", [s for s in SUFFIXES if s != ADHOC])  # the ad-hoc stack: dev's configuration
def test_terraform_validate(validated, suffix):
    for result in validated[suffix]:
        assert result.returncode == 0, f"{' '.join(result.args)}:\n{result.stdout}{result.stderr}"
    assert "The configuration is valid" in validated[suffix][-1].stdout
