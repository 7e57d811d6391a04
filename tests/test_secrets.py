import pytest

from tests.conftest import ENVIRONMENTS, PROTECTED, UNPROTECTED
from tests.helpers import find, find_all, kms_key, reference_to


@pytest.mark.parametrize(
    "suffix, window, kms",
    [(env.suffix, env.secrets.recovery_window_days, env.secrets.kms_encryption) for env in ENVIRONMENTS],
)
def test_api_secret_recovery_window_and_kms(stacks, suffix, window, kms):
    stack = stacks[suffix]
    secret = find(stack, "aws_secretsmanager_secret")
    assert secret["name"] == f"api-secret-{suffix}"
    assert secret["recovery_window_in_days"] == window
    assert len(find_all(stack, "aws_kms_key", description=f"Secrets of video-pipeline-{suffix}")) == (1 if kms else 0)
    assert len(find_all(stack, "aws_kms_alias", name=f"alias/secrets-{suffix}")) == (1 if kms else 0)
    if kms:
        key = kms_key(stack, f"alias/secrets-{suffix}")
        assert key["enable_key_rotation"] is True
        assert secret["kms_key_id"] == reference_to(stack, key, "arn")
    else:
        assert "kms_key_id" not in secret


@pytest.mark.parametrize("suffix", [UNPROTECTED.suffix, PROTECTED.suffix])
def test_data_tier_outputs(stacks, suffix):
    stack = stacks[suffix]
    outputs = {name: output["value"] for name, output in stack["output"].items()}
    db = find(stack, "aws_db_instance")
    redis = find(stack, "aws_elasticache_replication_group")
    assert outputs["rds_endpoint"] == reference_to(stack, db, "address")
    assert outputs["db_secret_arn"] == reference_to(stack, db, "master_user_secret[0].secret_arn")
    assert outputs["redis_primary_endpoint"] == reference_to(stack, redis, "primary_endpoint_address")
    assert outputs["redis_port"] == 6379
    assert outputs["efs_file_system_id"] == reference_to(stack, find(stack, "aws_efs_file_system"), "id")
