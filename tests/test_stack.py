import dataclasses
import json
from pathlib import Path

import pytest

ALL = ["dev", "staging", "prod", "pr123"]
STATE_KEYS = {
    "dev": "video-pipeline/dev/terraform.tfstate",
    "staging": "video-pipeline/staging/terraform.tfstate",
    "prod": "video-pipeline/prod/terraform.tfstate",
    # ad-hoc stacks under their own prefix: no suffix can reach a named environment's state object
    "pr123": "video-pipeline/adhoc/pr123/terraform.tfstate",
}


@pytest.mark.parametrize("suffix", ALL)
def test_s3_backend_one_key_per_suffix_with_native_locking(stacks, suffix):
    backend = stacks[suffix]["terraform"]["backend"]
    assert backend == {"s3": {
        "bucket": "video-pipeline-tfstate",
        "key": STATE_KEYS[suffix],
        "region": "ap-northeast-1",
        "encrypt": True,
        "use_lockfile": True,
    }}


@pytest.mark.parametrize("suffix, profile", [("dev", "dev"), ("staging", "staging"), ("prod", "prod"), ("pr123", "dev")])
def test_provider_region_and_default_tags(stacks, suffix, profile):
    provider = stacks[suffix]["provider"]["aws"][0]
    assert provider["region"] == "ap-northeast-1"
    assert provider["default_tags"] == [{"tags": {
        "Project": "video-pipeline", "Environment": suffix, "Profile": profile, "ManagedBy": "cdktf",
    }}]


def test_provider_is_pinned_to_the_mirrored_version(stacks):
    assert stacks["dev"]["terraform"]["required_providers"]["aws"] == {"source": "aws", "version": "5.100.0"}


@pytest.mark.parametrize("suffix", ALL)
def test_vpc_id_is_an_output(stacks, suffix):
    assert stacks[suffix]["output"]["vpc_id"]["value"].startswith("${aws_vpc.")


def synth_one(settings, **kwargs) -> dict:
    from cdktf import Testing

    from stacks.video_pipeline_stack import VideoPipelineStack

    return json.loads(Testing.synth(VideoPipelineStack(Testing.app(), settings, **kwargs)))


@pytest.mark.parametrize("suffix", ["dev", "pr123"])
def test_local_backend_keeps_state_outside_the_output_folder(environments, tmp_path, suffix):
    stack = synth_one(environments[suffix], backend="local", local_state_dir=tmp_path / ".state")
    assert stack["terraform"]["backend"] == {"local": {"path": str(tmp_path / ".state" / STATE_KEYS[suffix])}}


def test_local_backend_needs_an_absolute_state_folder(environments):
    with pytest.raises(ValueError, match="must be an absolute path"):
        synth_one(environments["dev"], backend="local", local_state_dir=Path(".state"))


@pytest.mark.parametrize("suffix", ALL)
def test_provider_accepts_any_account_unless_one_is_pinned(stacks, suffix):
    provider = stacks[suffix]["provider"]["aws"][0]
    assert "allowed_account_ids" not in provider and "assume_role" not in provider


def test_pinned_account_and_deploy_role_reach_the_provider(environments):
    pinned = dataclasses.replace(environments["prod"], account_id="111122223333",
                                 deploy_role_arn="arn:aws:iam::111122223333:role/deploy")
    provider = synth_one(pinned)["provider"]["aws"][0]
    assert provider["allowed_account_ids"] == ["111122223333"]
    assert provider["assume_role"] == [{"role_arn": "arn:aws:iam::111122223333:role/deploy",
                                        "session_name": "video-pipeline-prod"}]
