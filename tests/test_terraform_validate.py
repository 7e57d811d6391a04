"""`terraform validate` of every environment's stack, offline against the local provider mirror."""
import shutil
import subprocess

import pytest

from tests.conftest import stack_dir, terraform_env


@pytest.mark.parametrize("suffix", ["dev", "staging", "prod", "pr123"])
def test_terraform_validate(synth_dir, plugin_dir, tmp_path, suffix):
    shutil.copytree(stack_dir(synth_dir, suffix), tmp_path, dirs_exist_ok=True)  # with its Lambda asset
    env = terraform_env()
    init = subprocess.run(["terraform", "init", "-backend=false", f"-plugin-dir={plugin_dir}", "-input=false", "-no-color"],
                          cwd=tmp_path, env=env, capture_output=True, text=True)
    assert init.returncode == 0, init.stdout + init.stderr
    validate = subprocess.run(["terraform", "validate", "-no-color"], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert validate.returncode == 0, validate.stdout + validate.stderr
    assert "The configuration is valid" in validate.stdout
