"""Provider pinning: the committed lock file verifies the provider binary; the mirror is found only where documented."""

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from synth.providers import LOCK_FILE
from tests.conftest import SUFFIXES, stack_dir, terraform_init

ROOT = Path(__file__).resolve().parents[1]
PROVIDER = Path("registry.terraform.io/hashicorp/aws/5.100.0/linux_amd64")
BINARY = "terraform-provider-aws_v5.100.0_x5"


def test_every_stack_folder_carries_the_committed_lock_file(synth_dir):
    for suffix in SUFFIXES:
        assert (stack_dir(synth_dir, suffix) / ".terraform.lock.hcl").read_text() == LOCK_FILE.read_text()


@pytest.fixture
def minimal_stack(tmp_path: Path) -> Path:
    (tmp_path / "main.tf.json").write_text(
        '{"terraform": {"required_providers": {"aws": {"source": "aws", "version": "5.100.0"}}}}'
    )
    (tmp_path / ".terraform.lock.hcl").write_text(LOCK_FILE.read_text())
    return tmp_path


def test_the_mirror_matches_the_recorded_checksum(minimal_stack, plugin_dir):
    result = terraform_init(minimal_stack, plugin_dir)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_tampered_provider_is_refused(minimal_stack, plugin_dir, tmp_path_factory):
    """A mirror whose package differs by one byte (the binary linked, its LICENSE.txt changed)."""
    fake = tmp_path_factory.mktemp("mirror")
    package = fake / PROVIDER
    package.mkdir(parents=True)
    (package / BINARY).symlink_to(Path(plugin_dir) / PROVIDER / BINARY)
    (package / "LICENSE.txt").write_bytes((Path(plugin_dir) / PROVIDER / "LICENSE.txt").read_bytes() + b" ")
    result = terraform_init(minimal_stack, str(fake))
    assert result.returncode != 0
    assert "doesn't match any of the checksums previously recorded in the dependency lock file" in " ".join(
        result.stderr.split()
    )


def find_plugin_dir(home: Path, **env: str) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if k not in ("TF_PLUGIN_DIR", "XDG_DATA_HOME")}
    return subprocess.run(
        [str(ROOT / "scripts" / "find-plugin-dir")],
        env={**environ, "HOME": str(home), **env},
        capture_output=True,
        text=True,
    )


def plant(root: Path) -> Path:
    (root / PROVIDER).mkdir(parents=True)
    (root / PROVIDER / BINARY).write_text("#!/bin/sh\necho planted\n")
    return root


def test_find_plugin_dir_never_takes_a_world_writable_mirror(tmp_path, plugin_dir):
    planted = plant(tmp_path / ".terraform.d" / "plugins")  # a documented root, but ...
    (planted / "registry.terraform.io").chmod(0o777)  # ... anyone could have put the binary there
    result = find_plugin_dir(tmp_path)
    assert f"skipped {planted}: {planted / 'registry.terraform.io'} is world-writable" in result.stderr
    assert result.stdout.strip() != str(planted)


def test_find_plugin_dir_searches_only_documented_roots(tmp_path):
    """The old script took the first hashicorp/aws/5.100.0 folder anywhere on disk, /tmp included."""
    planted = plant(Path(tempfile.mkdtemp(prefix="planted-mirror-")))
    try:
        result = find_plugin_dir(tmp_path)
    finally:
        shutil.rmtree(planted)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() in (
        "/usr/local/share/terraform/plugins",
        "/usr/share/terraform/plugins",
        "/opt/tf-plugins",
    ), result.stdout
    user_mirror = plant(tmp_path / ".terraform.d" / "plugins")
    assert find_plugin_dir(tmp_path).stdout.strip() == str(user_mirror)  # the user's own mirror comes first


def test_an_explicit_plugin_dir_must_hold_the_provider(tmp_path):
    result = find_plugin_dir(tmp_path, TF_PLUGIN_DIR=str(tmp_path))
    assert result.returncode == 2
    assert f"TF_PLUGIN_DIR = '{tmp_path}': must hold {PROVIDER}/{BINARY}" in result.stderr
