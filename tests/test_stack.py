import dataclasses
import json
from pathlib import Path

import pytest

from tests.conftest import ADHOC_ENVIRONMENT, ENVIRONMENTS, PROTECTED, SUFFIXES
from tests.helpers import find, reference_to


def state_key(settings) -> str:
    """Named environments at video-pipeline/<suffix>/; ad-hoc stacks under their own prefix, so that no suffix can
    reach a named environment's state object."""
    prefix = "video-pipeline/adhoc" if settings.adhoc else "video-pipeline"
    return f"{prefix}/{settings.suffix}/terraform.tfstate"


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_s3_backend_one_key_per_suffix_with_native_locking(stacks, environments, suffix):
    """In the account stack's bucket, encrypted under its state key (the alias ARN: a backend takes no expressions)."""
    backend = stacks[suffix]["terraform"]["backend"]
    assert backend == {
        "s3": {
            "bucket": "video-pipeline-tfstate-123456789012-ap-northeast-1",
            "key": state_key(environments[suffix]),
            "region": "ap-northeast-1",
            "encrypt": True,
            "kms_key_id": "arn:aws:kms:ap-northeast-1:123456789012:alias/video-pipeline-tfstate",
            "use_lockfile": True,
        }
    }


def test_backend_follows_the_environments_state_settings():
    moved = dataclasses.replace(
        ENVIRONMENTS[0], state_bucket="other-state", state_region="eu-west-1", account_id="111122223333"
    )
    backend = synth_one(moved)["terraform"]["backend"]["s3"]
    assert (backend["bucket"], backend["region"], backend["kms_key_id"]) == (
        "other-state",
        "eu-west-1",
        "arn:aws:kms:eu-west-1:111122223333:alias/video-pipeline-tfstate",
    )


@pytest.mark.parametrize("suffix, profile", [(env.suffix, env.name) for env in ENVIRONMENTS])
def test_provider_region_and_default_tags(stacks, suffix, profile):
    provider = stacks[suffix]["provider"]["aws"][0]
    assert provider["region"] == "ap-northeast-1"
    assert provider["default_tags"] == [
        {
            "tags": {
                "Project": "video-pipeline",
                "Environment": suffix,
                "Profile": profile,
                "ManagedBy": "cdktf",
            }
        }
    ]


def test_provider_is_pinned_to_the_mirrored_version(stacks):
    assert {suffix: stack["terraform"]["required_providers"]["aws"] for suffix, stack in stacks.items()} == {
        suffix: {"source": "aws", "version": "5.100.0"} for suffix in SUFFIXES
    }


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_vpc_id_is_an_output(stacks, suffix):
    stack = stacks[suffix]
    assert stack["output"]["vpc_id"]["value"] == reference_to(stack, find(stack, "aws_vpc"), "id")


def synth_one(settings, **kwargs) -> dict:
    from cdktf import Testing

    from stacks.video_pipeline_stack import VideoPipelineStack

    return json.loads(Testing.synth(VideoPipelineStack(Testing.app(), settings, **kwargs)))


# The ad-hoc stack and the named environment it is built on.
@pytest.mark.parametrize("suffix", [ADHOC_ENVIRONMENT.name, ADHOC_ENVIRONMENT.suffix])
def test_local_backend_keeps_state_outside_the_output_folder(environments, tmp_path, suffix):
    stack = synth_one(environments[suffix], backend="local", local_state_dir=tmp_path / ".state")
    assert stack["terraform"]["backend"] == {
        "local": {"path": str(tmp_path / ".state" / state_key(environments[suffix]))}
    }


def test_local_backend_needs_an_absolute_state_folder():
    with pytest.raises(ValueError, match="must be an absolute path"):
        synth_one(ENVIRONMENTS[0], backend="local", local_state_dir=Path(".state"))


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_provider_is_pinned_to_the_account(stacks, environments, suffix):
    """Every environment is pinned: to its own account_id, by default the [account] table's."""
    provider = stacks[suffix]["provider"]["aws"][0]
    assert provider["allowed_account_ids"] == [environments[suffix].account_id] == ["123456789012"]
    assert "assume_role" not in provider


def test_pinned_account_and_deploy_role_reach_the_provider():
    pinned = dataclasses.replace(
        PROTECTED, account_id="111122223333", deploy_role_arn="arn:aws:iam::111122223333:role/deploy"
    )
    provider = synth_one(pinned)["provider"]["aws"][0]
    assert provider["allowed_account_ids"] == ["111122223333"]
    assert provider["assume_role"] == [
        {"role_arn": "arn:aws:iam::111122223333:role/deploy", "session_name": f"video-pipeline-{PROTECTED.suffix}"}
    ]
