"""`make bootstrap` (synth/bootstrap.py), step by step against a stand-in for Terraform and S3: which commands run in
which situation, and that a run stopped anywhere is finished by the next. The real thing runs in the e2e suite
(tests/e2e/test_deploy.py, step 0 and 10)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import synth.bootstrap as bootstrap
from tests.conftest import ACCOUNT

RESOURCES = [
    {"mode": "managed", "type": "aws_s3_bucket", "name": "state_bucket", "instances": [{"attributes": {"id": "b"}}]},
    {"mode": "managed", "type": "aws_kms_key", "name": "state_key", "instances": [{"attributes": {"id": "k"}}]},
    {"mode": "data", "type": "aws_iam_policy_document", "name": "doc", "instances": [{"attributes": {"id": "1"}}]},
]


class World:
    """The account as the bootstrap sees it: the bucket, its state object, the local state file; Terraform's
    commands change them as the real ones would."""

    def __init__(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(bootstrap, "LOCAL_STATE_DIR", tmp_path / ".state")
        self.local_state = tmp_path / ".state" / "video-pipeline" / "account" / "terraform.tfstate"
        self.bucket = False
        self.remote: dict | None = None  # the state object in the bucket
        self.plan_changes = False
        self.fail_at: str | None = None  # a command that exits 1
        self.commands: list[str] = []
        self.backend = ""
        self.run = bootstrap.Bootstrap(ACCOUNT, tmp_path / "out", {"TF_PLUGIN_DIR": "/mirror"})
        monkeypatch.setattr(self.run, "synth", self.synth)
        monkeypatch.setattr(self.run, "terraform", self.terraform)
        monkeypatch.setattr(self.run, "_exists", self.exists)

    def synth(self, backend: str) -> None:
        self.backend = backend
        self.commands.append(f"synth {backend}")

    def exists(self, call: str, **_: str) -> bool:
        return self.remote is not None if call == "head_object" else self.bucket

    def terraform(self, *args: str, ok: tuple[int, ...] = (0,), echo: bool = True) -> tuple[int, str]:
        command = " ".join(args)
        self.commands.append(command)
        if self.fail_at and self.fail_at in command:
            raise bootstrap.BootstrapError(f"`terraform {command}` exited 1")
        if args[0] == "apply" and self.backend == "local":
            self.bucket = True
            self.local_state.parent.mkdir(parents=True, exist_ok=True)
            self.local_state.write_text(json.dumps({"lineage": "local", "serial": 14, "resources": RESOURCES}))
        if "-migrate-state" in args:
            self.remote = {**json.loads(self.local_state.read_text()), "lineage": "new", "serial": 1}
        if args[0] == "plan":
            return (2 if self.plan_changes else 0), ""
        if args[:2] == ("state", "pull"):
            return 0, json.dumps(self.remote)
        return 0, ""


@pytest.fixture
def world(tmp_path, monkeypatch) -> World:
    return World(tmp_path, monkeypatch)


INIT = "init -input=false -plugin-dir=/mirror"


def test_a_new_account_applies_with_local_state_then_moves_it_into_the_bucket(world):
    world.run.run()
    assert world.commands == [
        "synth local",
        f"{INIT} -reconfigure",
        "apply -input=false -auto-approve",
        "synth s3",
        f"{INIT} -migrate-state -force-copy",
        "state pull",
    ]
    assert world.remote is not None and not world.local_state.exists()


def test_a_second_run_plans_and_changes_nothing(world, capsys):
    world.run.run()
    world.commands.clear()
    world.run.run()
    assert world.commands == [
        "synth s3",
        f"{INIT} -reconfigure",
        "plan -input=false -detailed-exitcode -out=bootstrap.tfplan",
    ]
    assert "bootstrap: no changes: the account stack is up to date" in capsys.readouterr().err


def test_changes_are_applied_from_the_saved_plan(world):
    world.run.run()
    world.plan_changes = True
    world.commands.clear()
    world.run.run()
    assert world.commands[-1] == "apply -input=false bootstrap.tfplan"


@pytest.mark.parametrize("step", ["-reconfigure", "apply -input=false -auto-approve", "-migrate-state", "state pull"])
def test_a_run_stopped_at_any_step_is_finished_by_the_next(world, step):
    world.fail_at = step
    with pytest.raises(bootstrap.BootstrapError):
        world.run.run()
    world.fail_at = None
    world.run.run()
    assert world.remote is not None and world.remote["resources"] == RESOURCES
    assert not world.local_state.exists()
    world.commands.clear()
    world.run.run()  # and the one after that changes nothing
    assert "apply" not in " ".join(world.commands)


def test_a_local_copy_that_differs_from_the_bucket_is_kept_and_reported(world):
    world.run.run()
    world.local_state.parent.mkdir(parents=True, exist_ok=True)
    world.local_state.write_text(json.dumps({"resources": RESOURCES[:1]}))
    with pytest.raises(bootstrap.BootstrapError, match="holds other resources than s3://"):
        world.run.run()
    assert world.local_state.exists()


def test_a_bucket_without_any_state_is_not_bootstrapped_again(world):
    world.bucket = True
    with pytest.raises(bootstrap.BootstrapError, match=r"exists, but neither s3://.* nor a local state"):
        world.run.run()
    assert world.commands == []


def test_bad_settings_exit_2_and_write_nothing(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(bootstrap, "WORK_DIR", tmp_path / ".bootstrap")
    config = tmp_path / "settings.toml"
    config.write_text(
        Path(bootstrap.ROOT / "config" / "environments.toml").read_text().replace('"123456789012"', '"1"', 1)
    )
    assert bootstrap.main({"VP_CONFIG": str(config)}) == 2
    err = capsys.readouterr().err
    assert "error: account.account_id = '1': must be a 12-digit AWS account id" in err and "nothing was done" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["settings.toml"]
