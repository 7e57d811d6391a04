"""The operator commands (synth/operate.py) up to the point where Terraform would run: which stack a suffix names,
whether the gate is on, what bad input stops before anything is written. The e2e suite runs them against deployed
stacks (plan, apply, drift, destroy, the gate)."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from pathlib import Path

import pytest

from synth import operate
from synth.operate import resolve, today_plus

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    "suffix, gated", [("dev", False), ("staging", True), ("prod", True), ("account", True), ("pr7", False)]
)
def test_the_gate_is_on_for_staging_prod_and_the_account_stack(suffix, gated, tmp_path):
    assert resolve(suffix, {}, plans_dir=tmp_path).gated is gated


def test_gated_puts_any_stack_under_the_gate(tmp_path):
    assert resolve("dev", {}, plans_dir=tmp_path, gated=True).gated


def test_an_adhoc_stack_expires_ttl_days_after_today_unless_expires_at_says(tmp_path):
    target = resolve("pr7", {}, plans_dir=tmp_path)
    assert target.adhoc and target.settings.names.state_key == "video-pipeline/adhoc/pr7/terraform.tfstate"
    assert target.settings.expires_at == today_plus(7)
    assert resolve("pr7", {"EXPIRES_AT": "2027-01-31"}, plans_dir=tmp_path).settings.expires_at == (
        "2027-01-31T00:00:00Z"
    )


def test_today_plus_is_midnight_utc_so_a_replan_the_same_day_changes_no_tag():
    assert today_plus(7, dt.date(2026, 11, 24)) == "2026-12-01T00:00:00Z"


def test_working_files_go_under_the_plans_folder(tmp_path):
    target = resolve("dev", {}, plans_dir=tmp_path)
    assert target.root == tmp_path / "dev"
    assert target.stack_dir == tmp_path / "dev" / "cdktf.out" / "stacks" / "video-pipeline-dev"
    assert target.data_dir == tmp_path / "dev" / "terraform.d"  # outside the output folder a synth replaces


def test_the_synth_digest_follows_the_settings(tmp_path):
    a = resolve("pr7", {"EXPIRES_AT": "2027-01-31"}, plans_dir=tmp_path)
    b = resolve("pr7", {"EXPIRES_AT": "2027-02-01"}, plans_dir=tmp_path)
    assert operate.inputs_digest(a, "s3") == operate.inputs_digest(a, "s3")
    assert operate.inputs_digest(a, "s3") != operate.inputs_digest(b, "s3")
    assert operate.inputs_digest(a, "s3") != operate.inputs_digest(a, "local")


@pytest.fixture
def no_terraform(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("Terraform must not run")

    monkeypatch.setattr(operate.Workspace, "terraform", refuse)
    monkeypatch.setattr(operate.Workspace, "synth", refuse)


@pytest.mark.parametrize(
    "argv, environ, message",
    [
        (["plan", "Bad_Suffix"], {}, "Bad_Suffix"),
        (["plan", "pr7"], {"EXPIRES_AT": "soon"}, "EXPIRES_AT = 'soon': must be a UTC date or time"),
        (["plan", "dev"], {"EXPIRES_AT": "2027-01-31"}, "EXPIRES_AT = '2027-01-31': applies to the ad-hoc stack only"),
        (["plan", "dev"], {"TF_BACKEND": "nfs"}, "TF_BACKEND = 'nfs'"),
        (["destroy", "dev"], {}, "destroy dev: only ad-hoc stacks"),
        (["destroy", "prod"], {}, "destroy prod: only ad-hoc stacks"),
        (["destroy", "account"], {}, "is the account stack"),
        (["apply", "dev"], {}, "tfplan does not exist: run `make plan ENV=dev` first"),
    ],
)
def test_bad_input_exits_2_names_the_value_and_writes_nothing(argv, environ, message, tmp_path, no_terraform, capsys):
    plans = tmp_path / "plans"
    assert operate.main([*argv, "--plans-dir", str(plans)], environ) == 2
    assert message in capsys.readouterr().err
    assert not plans.exists() or not any(plans.rglob("*"))


def test_apply_refuses_a_plan_other_than_the_reviewed_one(tmp_path, no_terraform, capsys):
    root = tmp_path / "dev"
    root.mkdir()
    (root / "tfplan").write_bytes(b"plan")
    (root / "review.json").write_text(json.dumps({"changes": [{"address": "a", "action": "update"}], "outputs": {}}))
    approved = tmp_path / "approved.json"
    approved.write_text(json.dumps({"changes": [], "outputs": {}}))
    assert operate.main(["apply", "dev", "--reviewed", str(approved), "--plans-dir", str(tmp_path)], {}) == 2
    assert "differs from the reviewed plan" in capsys.readouterr().err
    assert (root / "tfplan").exists()


def test_make_without_env_says_how_to_call_it():
    result = subprocess.run(
        ["make", "-s", "--no-print-directory", "plan", "ENV="],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": "/usr/bin:/bin", "MAKEFLAGS": ""},
    )
    assert result.returncode == 2, result
    assert "error: ENV is not set: make plan ENV=<suffix>" in result.stderr


DB = "aws_db_instance.database_instance_D7FC2283"
REPLACE_DB = {
    "resource_changes": [
        {
            "address": DB,
            "mode": "managed",
            "type": "aws_db_instance",
            "change": {"actions": ["delete", "create"], "replace_paths": [["kms_key_id"]]},
        }
    ]
}


@pytest.fixture
def fake_terraform(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, ...]]:
    """Terraform answering a plan with REPLACE_DB (the review and the gate are what is tested here)."""
    calls: list[tuple[str, ...]] = []

    def terraform(self, *args, ok=(0,), echo=True):
        calls.append(args)
        for arg in args:
            if arg.startswith("-out="):
                Path(arg.removeprefix("-out=")).write_bytes(b"plan")
        return 2, json.dumps(REPLACE_DB) if args[0] == "show" else ""

    monkeypatch.setattr(operate.Workspace, "prepare", lambda self: self.target.root.mkdir(parents=True, exist_ok=True))
    monkeypatch.setattr(operate.Workspace, "terraform", terraform)
    monkeypatch.setattr(operate.Workspace, "read_only_attributes", lambda self: {})
    return calls


@pytest.mark.parametrize(
    "suffix, allowed, status",
    [
        ("dev", "", 0),
        ("dev", "aws_db_instance.typo", 0),  # no gate, the list is not read
        ("prod", "", 3),
        ("prod", DB, 0),
        ("prod", f"{DB},aws_db_instance.typo", 2),
    ],
)
def test_the_gate_and_its_allowance_list(suffix, allowed, status, tmp_path, fake_terraform, capsys):
    environ = {"ALLOW_STATEFUL_CHANGES": allowed} if allowed else {}
    assert operate.main(["plan", suffix, "--plans-dir", str(tmp_path)], environ) == status
    out, err = capsys.readouterr()
    planfile = tmp_path / suffix / "tfplan"
    assert planfile.exists() is (status == 0), "a refused plan must not stay behind"
    if status == 3:
        assert f"- replace `{DB}` (forced by `kms_key_id`) **BLOCKED**" in out
        assert f"the stateful-change gate refuses {DB}" in err
        assert (tmp_path / suffix / "summary.md").read_text() == out
    if status == 0:
        review = json.loads((tmp_path / suffix / "review.json").read_text())
        assert review["changes"] == [{"address": DB, "action": "replace", "forced_by": ["kms_key_id"]}]


def test_no_lock_plans_without_the_state_lock(tmp_path, fake_terraform):
    assert operate.main(["plan", "dev", "--no-lock", "--plans-dir", str(tmp_path)], {}) == 0
    assert operate.main(["drift", "dev", "--no-lock", "--plans-dir", str(tmp_path)], {}) == 0
    plans = [call for call in fake_terraform if call[0] == "plan"]
    assert len(plans) == 2 and all("-lock=false" in call for call in plans), plans


def test_an_empty_plan_says_no_changes_without_show(tmp_path, fake_terraform, monkeypatch, capsys):
    def terraform(self, *args, ok=(0,), echo=True):
        fake_terraform.append(args)
        assert args[0] != "show", "show -json loads the provider's schemas (~3 s): not for an empty plan"
        self.target.planfile.write_bytes(b"plan")
        return 0, ""

    monkeypatch.setattr(operate.Workspace, "terraform", terraform)
    assert operate.main(["plan", "prod", "--plans-dir", str(tmp_path)], {}) == 0
    out, err = capsys.readouterr()
    assert "No changes." in out and "prod: plan: no changes" in err
    assert json.loads((tmp_path / "prod" / "review.json").read_text()) == {"changes": [], "outputs": {}}
