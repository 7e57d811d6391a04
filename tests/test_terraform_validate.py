"""`terraform validate` of every environment's stack, offline against the local provider mirror.

`init -lockfile=readonly` checks the provider binary against the committed lock file main.py placed in each stack
folder. The four stacks are checked side by side (each run mostly loads the provider's schema)."""

import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.conftest import SUFFIXES, stack_dir, terraform_env


def init_and_validate(workdir: Path, plugin_dir: str) -> list[subprocess.CompletedProcess]:
    env = terraform_env()
    init = subprocess.run(
        [
            "terraform",
            "init",
            "-backend=false",
            f"-plugin-dir={plugin_dir}",
            "-lockfile=readonly",
            "-input=false",
            "-no-color",
        ],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
    )
    if init.returncode != 0:
        return [init]
    return [
        init,
        subprocess.run(["terraform", "validate", "-no-color"], cwd=workdir, env=env, capture_output=True, text=True),
    ]


@pytest.fixture(scope="module")
def validated(synth_dir, plugin_dir, tmp_path_factory) -> dict[str, list[subprocess.CompletedProcess]]:
    workdirs = {}
    for suffix in SUFFIXES:
        workdirs[suffix] = tmp_path_factory.mktemp(f"validate-{suffix}")
        shutil.copytree(stack_dir(synth_dir, suffix), workdirs[suffix], dirs_exist_ok=True)  # with its Lambda asset
    with ThreadPoolExecutor(max_workers=len(SUFFIXES)) as pool:
        futures = {suffix: pool.submit(init_and_validate, workdir, plugin_dir) for suffix, workdir in workdirs.items()}
    return {suffix: future.result() for suffix, future in futures.items()}


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_terraform_validate(validated, suffix):
    for result in validated[suffix]:
        assert result.returncode == 0, f"{' '.join(result.args)}:\n{result.stdout}{result.stderr}"
    assert "The configuration is valid" in validated[suffix][-1].stdout
