"""The environment's customer-managed key (modules/keys.py): what uses it, and a key policy scoped to exactly that."""

from __future__ import annotations

import dataclasses
import json

import pytest

from config.settings import SecuritySettings
from tests.conftest import ENVIRONMENTS, UNPROTECTED
from tests.helpers import address, arn, find, find_all, kms_key, policy_statements, reference_to, role_statements

KEYED = [env.suffix for env in ENVIRONMENTS if env.security.customer_managed_key]
USE_ACTIONS = {"kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:CreateGrant"}


def data_key(stack: dict, suffix: str) -> dict:
    return kms_key(stack, f"alias/data-{suffix}")


def key_policy(stack: dict, key: dict) -> dict[str, dict]:
    policy = find(stack, "aws_kms_key_policy", key_id=reference_to(stack, key, "key_id"))
    return {s["sid"]: s for s in policy_statements(stack, policy["policy"])}


def condition(statement: dict, variable: str) -> list[str]:
    (found,) = [c for c in statement.get("condition", []) if c["variable"] == variable]
    return found["values"]


def test_prod_and_staging_have_a_key(environments):
    assert {"prod", "staging"} <= set(KEYED)
    assert all(environments[s].security.customer_managed_key for s in ("prod", "staging"))


@pytest.mark.parametrize("suffix", KEYED)
def test_every_log_group_is_encrypted_with_the_key_and_the_key_names_exactly_them(stacks, environments, suffix):
    stack = stacks[suffix]
    key = data_key(stack, suffix)
    policy = find(stack, "aws_kms_key_policy", key_id=reference_to(stack, key, "key_id"))
    groups = find_all(stack, "aws_cloudwatch_log_group")
    assert len(groups) >= 10
    for group in groups:
        assert group["kms_key_id"] == reference_to(stack, key, "arn"), group["name"]
        assert address(stack, policy) in group["depends_on"], group["name"]
    logs = key_policy(stack, key)["CloudWatchLogsForTheseGroups"]
    assert logs["principals"] == [
        {"type": "Service", "identifiers": [f"logs.{environments[suffix].region}.amazonaws.com"]}
    ]
    region = environments[suffix].region
    assert sorted(condition(logs, "kms:EncryptionContext:aws:logs:arn")) == sorted(
        arn(stack, "logs", region, f"log-group:{group['name']}") for group in groups
    )
    assert logs["condition"][0]["test"] == "ArnEquals"


@pytest.mark.parametrize("suffix", KEYED)
def test_the_account_uses_the_key_only_through_the_services_that_hold_data(stacks, environments, suffix):
    stack = stacks[suffix]
    statements = key_policy(stack, data_key(stack, suffix))
    assert set(statements) == {
        "AccountAdministers",
        "UseThroughServices",
        "CloudWatchLogsForTheseGroups",
        "LogDeliveryDecrypts",
        "StateMachineDataRole1",
        "LogExecutionDataRole2",
        "StateMachineDataRole3",
    }
    assert not USE_ACTIONS & set(statements["AccountAdministers"]["actions"])
    assert "kms:*" not in statements["AccountAdministers"]["actions"]
    via = statements["UseThroughServices"]
    region = environments[suffix].region
    assert sorted(condition(via, "kms:ViaService")) == sorted(
        f"{service}.{region}.amazonaws.com"
        for service in ("rds", "elasticache", "elasticfilesystem", "states", "lambda")
    )
    assert condition(via, "kms:CallerAccount") == ["${data.aws_caller_identity.account.account_id}"]


@pytest.mark.parametrize("suffix", KEYED)
def test_every_data_store_and_the_workflow_and_function_use_the_key(stacks, environments, suffix):
    stack = stacks[suffix]
    key_arn = reference_to(stack, data_key(stack, suffix), "arn")
    database = find(stack, "aws_db_instance")
    assert database["kms_key_id"] == key_arn
    assert database.get("performance_insights_kms_key_id") == (
        key_arn if environments[suffix].database.performance_insights else None
    )
    assert find(stack, "aws_efs_file_system")["kms_key_id"] == key_arn
    assert find(stack, "aws_elasticache_replication_group")["kms_key_id"] == key_arn
    assert find(stack, "aws_lambda_function")["kms_key_arn"] == key_arn
    assert find(stack, "aws_sfn_state_machine")["encryption_configuration"] == {
        "type": "CUSTOMER_MANAGED_KMS_KEY",
        "kms_key_id": key_arn,
        "kms_data_key_reuse_period_seconds": 300,
    }


@pytest.mark.parametrize("suffix", KEYED)
def test_roles_that_touch_executions_may_use_the_key_for_this_machine_only(stacks, environments, suffix):
    """The workflow's role writes execution data; the API's handler describes executions (decrypt only). Each grant
    is in the role's policy and, for that role, in the key policy (not through kms:ViaService, which Step Functions'
    calls do not match)."""
    stack = stacks[suffix]
    names = environments[suffix].names
    key = data_key(stack, suffix)
    machine = arn(stack, "states", environments[suffix].region, f"stateMachine:{names.state_machine}")
    in_key_policy = [s for sid, s in key_policy(stack, key).items() if sid.startswith("StateMachineData")]
    for role_name, actions in (
        (names.role("sfn-workflow"), ["kms:Decrypt", "kms:GenerateDataKey"]),
        (names.role("video-api-handler"), ["kms:Decrypt"]),
    ):
        statement = role_statements(stack, role_name)["StateMachineData"]
        assert statement["actions"] == actions
        assert statement["resources"] == [reference_to(stack, key, "arn")]
        assert condition(statement, "kms:EncryptionContext:aws:states:stateMachineArn") == [machine]
        role_arn = reference_to(stack, find(stack, "aws_iam_role", name=role_name), "arn")
        (granted,) = [s for s in in_key_policy if s["principals"] == [{"type": "AWS", "identifiers": [role_arn]}]]
        assert granted["actions"] == actions and granted["condition"] == statement["condition"]
    assert "kms:ViaService" not in json.dumps(in_key_policy)


@pytest.mark.parametrize("suffix", KEYED)
def test_log_delivery_may_decrypt_what_the_workflow_logs(stacks, environments, suffix):
    stack = stacks[suffix]
    statements = key_policy(stack, data_key(stack, suffix))
    assert statements["LogDeliveryDecrypts"]["principals"] == [
        {"type": "Service", "identifiers": ["delivery.logs.amazonaws.com"]}
    ]
    assert statements["LogDeliveryDecrypts"]["actions"] == ["kms:Decrypt"]
    logging = role_statements(stack, environments[suffix].names.role("sfn-workflow"))["LogExecutionData"]
    assert logging["actions"] == ["kms:GenerateDataKey"]
    assert condition(logging, "kms:EncryptionContext:SourceArn") == [
        arn(stack, "logs", environments[suffix].region, "*")
    ]


def test_the_key_is_protected_where_data_is(stacks):
    assert data_key(stacks["prod"], "prod")["lifecycle"] == {"prevent_destroy": True}
    assert "lifecycle" not in data_key(stacks["dev"], "dev")


def test_without_the_setting_there_is_no_key_and_aws_managed_keys_apply():
    from cdktf import Testing

    from stacks.video_pipeline_stack import VideoPipelineStack

    settings = dataclasses.replace(
        UNPROTECTED, security=SecuritySettings(customer_managed_key=False, waf=False, waf_rate_limit=2000)
    )
    stack = json.loads(Testing.synth(VideoPipelineStack(Testing.app(), settings)))
    assert not find_all(stack, "aws_kms_alias", name=f"alias/data-{settings.suffix}")
    assert all("kms_key_id" not in group for group in find_all(stack, "aws_cloudwatch_log_group"))
    assert "kms_key_id" not in find(stack, "aws_db_instance")
    assert "encryption_configuration" not in find(stack, "aws_sfn_state_machine")
    assert "StateMachineData" not in role_statements(stack, settings.names.role("video-api-handler"))
