import pytest

from tests.conftest import only, resources


@pytest.mark.parametrize("suffix, window, kms", [("dev", 0, False), ("pr123", 0, False), ("staging", 0, False), ("prod", 30, True)])
def test_api_secret_recovery_window_and_kms(stacks, suffix, window, kms):
    secret = only(stacks[suffix], "aws_secretsmanager_secret")
    assert secret["name"] == f"api-secret-{suffix}"
    assert secret["recovery_window_in_days"] == window
    assert ("kms_key_id" in secret) is kms
    keys = [k for k in resources(stacks[suffix], "aws_kms_key").values() if k["description"].startswith("Secrets")]
    assert len(keys) == (1 if kms else 0)
    assert all(k["enable_key_rotation"] is True for k in keys)


@pytest.mark.parametrize("suffix", ["dev", "prod"])
def test_data_tier_outputs(stacks, suffix):
    outputs = stacks[suffix]["output"]
    for name in ("rds_endpoint", "redis_primary_endpoint", "redis_port", "efs_file_system_id", "db_secret_arn"):
        assert name in outputs, name
    assert outputs["redis_port"]["value"] == 6379
