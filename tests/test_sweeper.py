"""The nightly sweeper (synth/sweeper.py) on an in-process S3 (moto): which ad-hoc stacks it destroys, which it keeps,
what it never touches. The destroy itself (synth/operate.py) is replaced by a recorder here; the e2e suite runs the
real one against a deployed stack."""

from __future__ import annotations

import json
from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from config.settings import load_selection
from synth import sweeper

SELECTION = load_selection(None, environ={})
BUCKET = SELECTION.environments[0].state_bucket
REGION = SELECTION.environments[0].state_region


def state(expires_at: str | None) -> str:
    tags = {"Environment": "x", **({"ExpiresAt": expires_at} if expires_at else {})}
    return json.dumps(
        {
            "version": 4,
            "resources": [
                {"mode": "data", "type": "aws_partition", "instances": [{"attributes": {}}]},
                {"mode": "managed", "type": "aws_vpc", "instances": [{"attributes": {"tags_all": tags}}]},
            ],
        }
    )


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        client = boto3.client("s3", region_name=REGION)
        client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        objects = {
            "video-pipeline/adhoc/pr1/terraform.tfstate": state("2026-11-23T00:00:00Z"),  # expired yesterday
            "video-pipeline/adhoc/pr2/terraform.tfstate": state("2026-12-01T00:00:00Z"),  # next week
            "video-pipeline/adhoc/pr3/terraform.tfstate": state(None),  # no tag: last deploy (now) + 7 days
            "video-pipeline/adhoc/pr4/terraform.tfstate": state("2026-11-01T00:00:00Z"),  # expired, but locked
            "video-pipeline/adhoc/pr4/terraform.tfstate.tflock": "{}",
            "video-pipeline/adhoc/Not_A_Suffix/terraform.tfstate": state("2026-01-01T00:00:00Z"),
            "video-pipeline/adhoc/notes.txt": "not a state",
            "video-pipeline/dev/terraform.tfstate": state("2026-01-01T00:00:00Z"),  # a named environment
        }
        for key, body in objects.items():
            client.put_object(Bucket=BUCKET, Key=key, Body=body.encode())
        yield client


@pytest.fixture
def destroyed(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    calls: list[list[str]] = []

    def destroy(argv: list[str], environ: object) -> int:
        calls.append(argv[:2])
        return 0

    monkeypatch.setattr(sweeper.operate, "main", destroy)
    return calls


def sweep(tmp_path, *args: str) -> int:
    return sweeper.main([*args, "--plans-dir", str(tmp_path)], environ={})


def test_destroys_exactly_the_expired_unlocked_stacks(s3, destroyed, tmp_path, capsys):
    assert sweep(tmp_path, "--now", "2026-11-24T03:00:00Z") == 0
    assert destroyed == [["destroy", "pr1"]]
    err = capsys.readouterr().err
    assert "sweep: pr1: destroyed: expires 2026-11-23T00:00:00Z (ExpiresAt tag)" in err
    assert "sweep: pr2: kept: expires 2026-12-01T00:00:00Z (ExpiresAt tag)" in err
    assert "sweep: pr3: kept: expires " in err and "(last deploy + 7 days)" in err
    assert "sweep: pr4: expired, but its state is locked" in err
    assert "ignored s3://" in err and "Not_A_Suffix" in err and "notes.txt" in err
    assert "dev" not in {call[1] for call in destroyed}


def test_dry_run_destroys_nothing(s3, destroyed, tmp_path, capsys):
    assert sweep(tmp_path, "--dry-run", "--now", "2026-11-24") == 0
    assert destroyed == []
    assert "sweep: pr1: would destroy" in capsys.readouterr().err


def test_now_in_a_fortnight_sweeps_every_unlocked_stack(s3, destroyed, tmp_path):
    assert sweep(tmp_path, "--now", "2099-01-01T00:00:00Z") == 0
    assert destroyed == [["destroy", "pr1"], ["destroy", "pr2"], ["destroy", "pr3"]]


def test_a_failed_destroy_fails_the_sweep(s3, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(sweeper.operate, "main", lambda argv, environ: 1)
    assert sweep(tmp_path, "--now", "2026-11-24") == 1
    assert "sweep: pr1: destroy FAILED (exit 1)" in capsys.readouterr().err


def test_bad_now_is_refused_before_anything_is_listed(destroyed, tmp_path, capsys):
    assert sweep(tmp_path, "--now", "next tuesday") == 2
    assert "--now = 'next tuesday': must be a UTC date or time" in capsys.readouterr().err
    assert destroyed == []


def test_expires_tag_is_the_latest_the_state_holds():
    document = json.loads(state("2026-11-01T00:00:00Z"))
    document["resources"].append(
        {
            "mode": "managed",
            "type": "aws_subnet",
            "instances": [{"attributes": {"tags_all": {"ExpiresAt": "2026-12-09T00:00:00Z"}}}],
        }
    )
    assert sweeper.expires_tag(document) == "2026-12-09T00:00:00Z"
    assert sweeper.expires_tag(json.loads(state(None))) is None
