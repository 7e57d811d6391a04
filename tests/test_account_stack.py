"""The account stack `video-pipeline-account`: the state bucket and its key, API Gateway's account-wide logging role,
its provider and its own backend. The JSON comes from the session's one synth (tests/conftest.py)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from tests.conftest import ACCOUNT
from tests.helpers import address, find, find_all, policy_statements, reference_to, referenced

ALIAS_ARN = "arn:aws:kms:ap-northeast-1:123456789012:alias/video-pipeline-tfstate"
BUCKET = "video-pipeline-tfstate-123456789012-ap-northeast-1"


def bucket_of(stack: dict) -> dict:
    return find(stack, "aws_s3_bucket", bucket=BUCKET)


def on_the_bucket(stack: dict, type_: str) -> dict:
    """The one `type_` block configuring the state bucket."""
    return find(stack, type_, bucket=reference_to(stack, bucket_of(stack), "id"))


def state_key(stack: dict) -> dict:
    return referenced(
        stack, find(stack, "aws_kms_alias", name="alias/video-pipeline-tfstate")["target_key_id"], "key_id"
    )


def test_bucket_and_key_are_protected_from_destroy(account_stack):
    for block in (bucket_of(account_stack), state_key(account_stack)):
        assert block["lifecycle"] == {"prevent_destroy": True}
    assert "force_destroy" not in bucket_of(account_stack)


def test_state_key_rotates_and_the_account_administers_it(account_stack):
    key = state_key(account_stack)
    assert (key["enable_key_rotation"], key["deletion_window_in_days"]) == (True, 30)
    assert policy_statements(account_stack, key["policy"]) == [
        {
            "sid": "AccountAdministers",
            "effect": "Allow",
            "actions": ["kms:*"],
            "resources": ["*"],
            "principals": [{"type": "AWS", "identifiers": ["arn:aws:iam::123456789012:root"]}],
        }
    ]


def test_bucket_is_versioned_and_encrypted_with_the_state_key(account_stack):
    versioning = on_the_bucket(account_stack, "aws_s3_bucket_versioning")
    assert versioning["versioning_configuration"] == {"status": "Enabled"}
    encryption = on_the_bucket(account_stack, "aws_s3_bucket_server_side_encryption_configuration")
    assert encryption["rule"] == [
        {
            "apply_server_side_encryption_by_default": {
                "sse_algorithm": "aws:kms",
                "kms_master_key_id": reference_to(account_stack, state_key(account_stack), "arn"),
            },
            "bucket_key_enabled": True,
        }
    ]


def test_no_public_access_and_no_acls(account_stack):
    block = on_the_bucket(account_stack, "aws_s3_bucket_public_access_block")
    assert {k: block[k] for k in block if k not in ("bucket", "//")} == dict.fromkeys(
        ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"), True
    )
    ownership = on_the_bucket(account_stack, "aws_s3_bucket_ownership_controls")
    assert ownership["rule"] == {"object_ownership": "BucketOwnerEnforced"}


def test_bucket_policy_denies_plain_http_and_other_accounts(account_stack):
    policy = on_the_bucket(account_stack, "aws_s3_bucket_policy")
    everything = [
        reference_to(account_stack, bucket_of(account_stack), "arn"),
        reference_to(account_stack, bucket_of(account_stack), "arn") + "/*",
    ]
    deny = {
        "effect": "Deny",
        "actions": ["s3:*"],
        "resources": everything,
        "principals": [{"type": "*", "identifiers": ["*"]}],
    }
    assert policy_statements(account_stack, policy["policy"]) == [
        {
            **deny,
            "sid": "DenyInsecureTransport",
            "condition": [{"test": "Bool", "variable": "aws:SecureTransport", "values": ["false"]}],
        },
        # StringNotEquals on the account: every principal of the account (its root included) carries it and passes.
        {
            **deny,
            "sid": "DenyOtherAccounts",
            "condition": [{"test": "StringNotEquals", "variable": "aws:PrincipalAccount", "values": ["123456789012"]}],
        },
    ]
    # The public access block is in place before the policy is put.
    assert policy["depends_on"] == [
        address(account_stack, on_the_bucket(account_stack, "aws_s3_bucket_public_access_block"))
    ]


def test_lifecycle_expires_replaced_state_versions_and_aborts_stale_uploads(account_stack):
    lifecycle = on_the_bucket(account_stack, "aws_s3_bucket_lifecycle_configuration")
    rules = {rule["id"]: rule for rule in lifecycle["rule"]}
    assert set(rules) == {"expire-replaced-state-versions", "abort-incomplete-multipart-uploads"}
    assert all(rule["status"] == "Enabled" and rule["filter"] == [{"prefix": ""}] for rule in rules.values())
    assert rules["expire-replaced-state-versions"]["noncurrent_version_expiration"] == [
        {"noncurrent_days": ACCOUNT.noncurrent_version_days}
    ]
    assert "expiration" not in rules["expire-replaced-state-versions"]  # the current state object never expires
    assert rules["abort-incomplete-multipart-uploads"]["abort_incomplete_multipart_upload"] == [
        {"days_after_initiation": 7}
    ]
    versioning = on_the_bucket(account_stack, "aws_s3_bucket_versioning")
    assert lifecycle["depends_on"] == [address(account_stack, versioning)]


def test_api_gateway_account_uses_the_logging_role_once_its_policy_is_attached(account_stack):
    role = find(account_stack, "aws_iam_role", name="apigw-cloudwatch-ap-northeast-1")
    [trust] = policy_statements(account_stack, role["assume_role_policy"])
    assert trust["principals"] == [{"type": "Service", "identifiers": ["apigateway.amazonaws.com"]}]
    attachment = find(account_stack, "aws_iam_role_policy_attachment", role=reference_to(account_stack, role, "name"))
    assert attachment["policy_arn"] == "arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"
    assert find_all(account_stack, "aws_iam_role_policy") == []  # the managed policy only
    account = find(account_stack, "aws_api_gateway_account")
    assert account["cloudwatch_role_arn"] == reference_to(account_stack, role, "arn")
    # Without it, the first apply races: API Gateway checks the role's permissions when the setting is made.
    assert account["depends_on"] == [address(account_stack, attachment)]


def test_provider_is_pinned_to_the_account_with_default_tags(account_stack):
    assert account_stack["provider"]["aws"] == [
        {
            "region": "ap-northeast-1",
            "allowed_account_ids": ["123456789012"],
            "default_tags": [{"tags": {"Project": "video-pipeline", "Environment": "account", "ManagedBy": "cdktf"}}],
        }
    ]


def test_its_own_state_lives_in_the_bucket_it_creates(account_stack):
    assert account_stack["terraform"]["backend"] == {
        "s3": {
            "bucket": BUCKET,
            "key": "video-pipeline/account/terraform.tfstate",
            "region": "ap-northeast-1",
            "encrypt": True,
            "kms_key_id": ALIAS_ARN,
            "use_lockfile": True,
        }
    }


def test_outputs_name_the_bucket_key_alias_and_role(account_stack):
    outputs = {name: output["value"] for name, output in account_stack["output"].items()}
    assert outputs == {
        "state_bucket": reference_to(account_stack, bucket_of(account_stack), "bucket"),
        "state_kms_key_arn": reference_to(account_stack, state_key(account_stack), "arn"),
        "state_kms_alias_arn": reference_to(account_stack, find(account_stack, "aws_kms_alias"), "arn"),
        "apigateway_cloudwatch_role_arn": reference_to(account_stack, find(account_stack, "aws_iam_role"), "arn"),
    }


def synth_account(settings, **kwargs) -> dict:
    from cdktf import Testing

    from stacks.account_stack import AccountStack

    return json.loads(Testing.synth(AccountStack(Testing.app(), settings, **kwargs)))


def test_local_backend_for_the_first_apply(tmp_path):
    stack = synth_account(ACCOUNT, backend="local", local_state_dir=tmp_path / ".state")
    assert stack["terraform"]["backend"] == {
        "local": {"path": str(tmp_path / ".state" / "video-pipeline" / "account" / "terraform.tfstate")}
    }
    with pytest.raises(ValueError, match="must be an absolute path"):
        synth_account(ACCOUNT, backend="local", local_state_dir=Path(".state"))


def test_settings_reach_the_stack_in_another_partition():
    settings = dataclasses.replace(
        ACCOUNT, account_id="111122223333", region="cn-north-1", state_bucket="acme-state", noncurrent_version_days=30
    )
    stack = synth_account(settings)
    assert find(stack, "aws_s3_bucket")["bucket"] == "acme-state"
    assert stack["terraform"]["backend"]["s3"]["kms_key_id"] == (
        "arn:aws-cn:kms:cn-north-1:111122223333:alias/video-pipeline-tfstate"
    )
    assert find(stack, "aws_iam_role")["name"] == "apigw-cloudwatch-cn-north-1"
    assert find(stack, "aws_iam_role_policy_attachment")["policy_arn"].startswith("arn:aws-cn:iam::aws:policy/")
    [statement] = policy_statements(stack, state_key(stack)["policy"])
    assert statement["principals"][0]["identifiers"] == ["arn:aws-cn:iam::111122223333:root"]
    lifecycle = find(stack, "aws_s3_bucket_lifecycle_configuration")
    assert lifecycle["rule"][0]["noncurrent_version_expiration"] == [{"noncurrent_days": 30}]
    assert stack["provider"]["aws"][0]["allowed_account_ids"] == ["111122223333"]
