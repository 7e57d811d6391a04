"""`terraform test` in every environment's stack folder: tests/terraform/*.tftest.hcl, as main.py places them beside
cdk.tf.json, against the mocked AWS provider (offline, no account, plan only).

They assert what the JSON snapshots cannot: values that exist once Terraform evaluates the expressions (zones, the
RDS-managed secret, the rendered container and state machine definitions, policy ARNs, outputs). `init` checks the
provider binary against the committed lock file, as in test_terraform_validate.py; the named environments and the
account stack run side by side (the ad-hoc stack is dev's configuration under other names).

Slow tier (7-9 s and 10-12 s of CPU per stack; ~24 s for the four on an idle 2-core machine, see README "Terraform
tests"): `make test` runs it, `make test-unit` does not. The checks that main.py places the files, and that every
address they name exists, need no Terraform and stay in the unit tier.
"""

import re
import subprocess
from pathlib import Path

import pytest

from synth.terraform_tests import ACCOUNT_TESTS, SOURCE, terraform_test_files
from tests.conftest import ACCOUNT_KEY, in_every_stack, stack_dir

SUFFIXES = ["dev", "staging", "prod"]  # not the ad-hoc stack: dev's configuration under other names

# `aws_x.name` or `data.aws_x.name` in HCL; cdktf names are letters, digits, '-' and '_'.
ADDRESS = re.compile(r"(?<![\w.-])((?:data\.)?aws_[a-z0-9_]+\.[A-Za-z0-9_-]+)")
OUTPUT = re.compile(r"(?<![\w.-])output\.([a-z0-9_]+)")
OVERRIDE_TARGET = re.compile(r"^\s*target\s*=\s*(\S+)\s*$", re.MULTILINE)


def tftest_files(source: Path = SOURCE) -> list[Path]:
    return [path for path in terraform_test_files(source) if path.name.endswith(".tftest.hcl")]


def addresses(stack: dict) -> set[str]:
    return {f"{type_}.{name}" for type_, items in stack.get("resource", {}).items() for name in items} | {
        f"data.{type_}.{name}" for type_, items in stack.get("data", {}).items() for name in items
    }


def run_blocks(source: Path = SOURCE) -> int:
    return sum(len(re.findall(r'^run "', path.read_text(), re.MULTILINE)) for path in tftest_files(source))


def test_every_stack_folder_carries_the_terraform_tests(synth_dir, environments):
    assert tftest_files() and (SOURCE / "aws.tfmock.hcl") in terraform_test_files()
    for suffix in environments:
        for path in terraform_test_files():
            assert (stack_dir(synth_dir, suffix) / path.name).read_text() == path.read_text()
    # The account stack carries its own (the environments' name resources it does not have).
    account_files = terraform_test_files(ACCOUNT_TESTS)
    assert tftest_files(ACCOUNT_TESTS) and (ACCOUNT_TESTS / "aws.tfmock.hcl") in account_files
    placed = sorted(p.name for p in stack_dir(synth_dir, ACCOUNT_KEY).glob("*.hcl") if p.name != ".terraform.lock.hcl")
    assert placed == sorted(p.name for p in account_files)
    for path in account_files:
        assert (stack_dir(synth_dir, ACCOUNT_KEY) / path.name).read_text() == path.read_text()


def test_the_account_tests_name_only_what_the_account_stack_has(account_stack):
    for path in tftest_files(ACCOUNT_TESTS):
        text = path.read_text()
        assert set(ADDRESS.findall(text)) <= addresses(account_stack), path.name
        assert set(OUTPUT.findall(text)) <= set(account_stack["output"]), path.name


def test_the_tests_name_only_what_every_stack_has(stacks):
    """A run that names a resource or output missing from one stack fails to load there; override targets are the
    exception (Terraform ignores an absent one, so each must exist in some stack, or a typo would go unnoticed)."""
    for path in tftest_files():
        text = path.read_text()
        overrides = set(OVERRIDE_TARGET.findall(text))
        for suffix, stack in stacks.items():
            assert set(ADDRESS.findall(text)) - overrides <= addresses(stack), f"{path.name} in {suffix}"
            assert set(OUTPUT.findall(text)) <= set(stack["output"]), f"{path.name} in {suffix}"
    for path in terraform_test_files():
        for target in OVERRIDE_TARGET.findall(path.read_text()):
            assert any(target in addresses(stack) for stack in stacks.values()), f"{path.name}: {target}"


@pytest.fixture(scope="module")
def tested(synth_dir, plugin_dir, tmp_path_factory) -> dict[str, list[subprocess.CompletedProcess[str]]]:
    return in_every_stack(synth_dir, plugin_dir, tmp_path_factory, "test", adhoc=False)


@pytest.mark.slow
@pytest.mark.parametrize("suffix", [*SUFFIXES, ACCOUNT_KEY])
def test_terraform_test(tested, suffix):
    for result in tested[suffix]:
        assert result.returncode == 0, f"{' '.join(result.args)}:\n{result.stdout}{result.stderr}"
    # Every run block ran and passed (a file Terraform did not pick up would pass silently otherwise).
    blocks = run_blocks(ACCOUNT_TESTS if suffix == ACCOUNT_KEY else SOURCE)
    assert f"Success! {blocks} passed, 0 failed." in tested[suffix][-1].stdout, tested[suffix][-1].stdout
