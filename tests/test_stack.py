import pytest

ALL = ["dev", "staging", "prod", "pr123"]


@pytest.mark.parametrize("suffix", ALL)
def test_s3_backend_one_key_per_suffix_with_native_locking(stacks, suffix):
    backend = stacks[suffix]["terraform"]["backend"]
    assert backend == {"s3": {
        "bucket": "video-pipeline-tfstate",
        "key": f"video-pipeline/{suffix}/terraform.tfstate",
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


def test_local_backend_switch(environments):
    from cdktf import Testing
    import json

    from stacks.video_pipeline_stack import VideoPipelineStack

    stack = VideoPipelineStack(Testing.app(), environments["dev"], backend="local")
    assert json.loads(Testing.synth(stack))["terraform"]["backend"] == {"local": {"path": "terraform.dev.tfstate"}}
