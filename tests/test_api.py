import hashlib
import json

import pytest

from stacks.video_pipeline_stack import REMOVED_ACCOUNT_SETTING
from tests.conftest import PROTECTED, SUFFIXES, UNPROTECTED
from tests.helpers import address, arn, find, find_all, reference_to, referenced, role_statements


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_routes_methods_and_proxy_integrations_all_require_the_key(stacks, suffix):
    stack = stacks[suffix]
    api = find(stack, "aws_api_gateway_rest_api")
    videos = find(stack, "aws_api_gateway_resource", path_part="videos")
    video = find(stack, "aws_api_gateway_resource", path_part="{videoId}")
    metadata = find(stack, "aws_api_gateway_resource", path_part="metadata")
    assert len(find_all(stack, "aws_api_gateway_resource")) == 3
    root = reference_to(stack, api, "root_resource_id")
    assert (videos["parent_id"], video["parent_id"], metadata["parent_id"]) == (
        root,
        reference_to(stack, videos, "id"),
        root,
    )
    # (path part, method) of every method, each on this API, keyed, and behind a Lambda proxy integration.
    function = reference_to(stack, find(stack, "aws_lambda_function"), "invoke_arn")
    methods = find_all(stack, "aws_api_gateway_method")
    routes = sorted((referenced(stack, m["resource_id"], "id")["path_part"], m["http_method"]) for m in methods)
    assert routes == [("metadata", "GET"), ("videos", "POST"), ("{videoId}", "GET")]
    for method in methods:
        assert method["rest_api_id"] == reference_to(stack, api, "id")
        assert method["api_key_required"] is True and method["authorization"] == "NONE"
        integration = find(
            stack,
            "aws_api_gateway_integration",
            resource_id=method["resource_id"],
            http_method=reference_to(stack, method, "http_method"),
        )
        assert (integration["type"], integration["integration_http_method"], integration["uri"]) == (
            "AWS_PROXY",
            "POST",
            function,
        )
    assert len(find_all(stack, "aws_api_gateway_integration")) == 3
    get_video = find(stack, "aws_api_gateway_method", resource_id=reference_to(stack, video, "id"))
    assert get_video["request_parameters"] == {"method.request.path.videoId": True}


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_deployment_redeploys_on_change_create_before_destroy(stacks, suffix):
    stack = stacks[suffix]
    deployment = find(stack, "aws_api_gateway_deployment")
    assert deployment["lifecycle"] == {"create_before_destroy": True}
    assert deployment["rest_api_id"] == reference_to(stack, find(stack, "aws_api_gateway_rest_api"), "id")
    trigger = deployment["triggers"]["redeployment"]
    # Every literal argument of every resource, method and integration is in the hash (recomputed here from the
    # synthesized blocks, so an argument set outside the hashed dicts fails), every reference is in the list.
    parts = [
        *find_all(stack, "aws_api_gateway_resource"),
        *find_all(stack, "aws_api_gateway_method"),
        *find_all(stack, "aws_api_gateway_integration"),
    ]
    assert len(parts) == 9
    literal = sorted(
        json.dumps({k: v for k, v in part.items() if k != "//" and "${" not in json.dumps(v)}, sort_keys=True)
        for part in parts
    )
    digest = hashlib.sha256(json.dumps(literal).encode()).hexdigest()
    assert trigger.startswith(f'${{sha1(jsonencode(["{digest}", ')
    for part in parts:
        assert f"{address(stack, part)}.id" in trigger, part
    for integration in find_all(stack, "aws_api_gateway_integration"):
        assert f"{address(stack, integration)}.uri" in trigger


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_stage_access_logs_tracing_and_throttling(stacks, environments, suffix):
    stack = stacks[suffix]
    settings = environments[suffix].api
    stage = find(stack, "aws_api_gateway_stage")
    assert stage["stage_name"] == settings.stage_name and stage["xray_tracing_enabled"] is True
    assert stage["deployment_id"] == reference_to(stack, find(stack, "aws_api_gateway_deployment"), "id")
    access = stage["access_log_settings"]
    group = find(stack, "aws_cloudwatch_log_group", name=f"/aws/apigateway/video-metadata-api-{suffix}")
    assert access["destination_arn"] == reference_to(stack, group, "arn")
    assert group["retention_in_days"] == environments[suffix].log_retention_days
    assert set(json.loads(access["format"])) >= {"requestId", "status", "apiKeyId"}
    method_settings = find(stack, "aws_api_gateway_method_settings")
    assert method_settings["method_path"] == "*/*"
    assert method_settings["settings"] == {
        "metrics_enabled": True,
        "data_trace_enabled": False,
        "logging_level": "ERROR",
        "throttling_rate_limit": settings.throttle_rate_limit,
        "throttling_burst_limit": settings.throttle_burst_limit,
    }


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_key_usage_plan_and_secret(stacks, environments, suffix):
    stack = stacks[suffix]
    settings = environments[suffix].api
    api = find(stack, "aws_api_gateway_rest_api")
    assert api["name"] == f"video-metadata-api-{suffix}"
    key = find(stack, "aws_api_gateway_api_key")
    assert key["name"] == f"video-metadata-key-{suffix}" and key["enabled"] is True
    plan = find(stack, "aws_api_gateway_usage_plan")
    assert plan["name"] == f"video-metadata-plan-{suffix}"
    assert plan["throttle_settings"] == {
        "rate_limit": settings.throttle_rate_limit,
        "burst_limit": settings.throttle_burst_limit,
    }
    assert plan["api_stages"] == [
        {
            "api_id": reference_to(stack, api, "id"),
            "stage": reference_to(stack, find(stack, "aws_api_gateway_stage"), "stage_name"),
        }
    ]
    plan_key = find(stack, "aws_api_gateway_usage_plan_key")
    assert plan_key["key_type"] == "API_KEY"
    assert (plan_key["key_id"], plan_key["usage_plan_id"]) == (
        reference_to(stack, key, "id"),
        reference_to(stack, plan, "id"),
    )
    # The key's value lands in the seed's api-secret.
    version = find(stack, "aws_secretsmanager_secret_version")
    assert version["secret_string"] == reference_to(stack, key, "value")
    assert version["secret_id"] == reference_to(
        stack, find(stack, "aws_secretsmanager_secret", name=f"api-secret-{suffix}"), "id"
    )


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_environments_leave_the_account_logging_role_to_the_account_stack(stacks, suffix):
    """The account's API Gateway setting and its role belong to the account stack; the stage logs through them. The
    environment that used to own them (prod) forgets the setting instead of destroying it."""
    stack = stacks[suffix]
    assert find_all(stack, "aws_api_gateway_account") == []
    assert find_all(stack, "aws_iam_role", name=lambda name: name.startswith("apigw-cloudwatch-")) == []
    assert find(stack, "aws_api_gateway_stage").get("depends_on") is None
    assert stack["removed"] == [{"from": REMOVED_ACCOUNT_SETTING, "lifecycle": {"destroy": False}}]


def test_the_removed_address_is_where_environments_kept_the_account_setting():
    """cdktf derives a logical id from the construct path below the stack: api/account, in any stack."""
    from cdktf import TerraformStack, Testing
    from cdktf_cdktf_provider_aws.api_gateway_account import ApiGatewayAccount
    from cdktf_cdktf_provider_aws.provider import AwsProvider
    from constructs import Construct

    stack = TerraformStack(Testing.app(), "any-environment")
    AwsProvider(stack, "aws", region="ap-northeast-1")
    ApiGatewayAccount(Construct(stack, "api"), "account", cloudwatch_role_arn="arn:aws:iam::123456789012:role/r")
    (name,) = json.loads(Testing.synth(stack))["resource"]["aws_api_gateway_account"]
    assert f"aws_api_gateway_account.{name}" == REMOVED_ACCOUNT_SETTING


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_lambda_function(stacks, environments, suffix):
    stack = stacks[suffix]
    function = find(stack, "aws_lambda_function")
    assert function["function_name"] == f"video-api-{suffix}"
    assert (function["runtime"], function["handler"]) == ("python3.12", "handler.handler")
    assert function["tracing_config"] == {"mode": "Active"}
    assert function["role"] == reference_to(
        stack, find(stack, "aws_iam_role", name=f"video-api-handler-{suffix}"), "arn"
    )
    variables = function["environment"]["variables"]
    assert variables["STATE_MACHINE_ARN"] == reference_to(stack, find(stack, "aws_sfn_state_machine"), "arn")
    assert variables["ENVIRONMENT"] == suffix
    assert function["filename"].startswith("assets/") and function["filename"].endswith("/video-api.zip")
    assert function["source_code_hash"] == '${{filebase64sha256("{}")}}'.format(function["filename"])
    group = find(stack, "aws_cloudwatch_log_group", name=f"/aws/lambda/video-api-{suffix}")
    assert group["retention_in_days"] == environments[suffix].log_retention_days


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_lambda_role_only_starts_and_reads_executions_of_its_state_machine(stacks, environments, suffix):
    stack = stacks[suffix]
    statements = role_statements(stack, f"video-api-handler-{suffix}")
    keyed = {"StateMachineData"} if environments[suffix].security.customer_managed_key else set()  # tests/test_keys.py
    assert set(statements) == {"StartExecutions", "DescribeExecutions", "Logs", "Tracing", *keyed}
    machine = find(stack, "aws_sfn_state_machine", name=f"video-processing-workflow-{suffix}")
    # What the handler calls: StartExecution, and DescribeExecution of an execution it names (it never lists them).
    assert statements["StartExecutions"]["actions"] == ["states:StartExecution"]
    assert statements["StartExecutions"]["resources"] == [reference_to(stack, machine, "arn")]
    assert statements["DescribeExecutions"]["actions"] == ["states:DescribeExecution"]
    assert statements["DescribeExecutions"]["resources"] == [
        arn(stack, "states", environments[suffix].region, f"execution:{reference_to(stack, machine, 'name')}:*")
    ]
    logs = find(stack, "aws_cloudwatch_log_group", name=f"/aws/lambda/video-api-{suffix}")
    assert statements["Logs"]["resources"] == [reference_to(stack, logs, "arn") + ":*"]


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_invoke_permission_scoped_to_this_api_and_stage(stacks, environments, suffix):
    stack = stacks[suffix]
    permission = find(stack, "aws_lambda_permission")
    assert permission["principal"] == "apigateway.amazonaws.com" and permission["action"] == "lambda:InvokeFunction"
    assert permission["function_name"] == reference_to(stack, find(stack, "aws_lambda_function"), "function_name")
    api = reference_to(stack, find(stack, "aws_api_gateway_rest_api"), "execution_arn")
    assert permission["source_arn"] == f"{api}/{environments[suffix].api.stage_name}/*/*"


@pytest.mark.parametrize("suffix", [UNPROTECTED.suffix, PROTECTED.suffix])
def test_api_outputs(stacks, suffix):
    stack = stacks[suffix]
    outputs = {name: output["value"] for name, output in stack["output"].items()}
    assert outputs["api_url"] == reference_to(stack, find(stack, "aws_api_gateway_stage"), "invoke_url")
    assert outputs["api_key_id"] == reference_to(stack, find(stack, "aws_api_gateway_api_key"), "id")
    assert outputs["api_secret_arn"] == reference_to(stack, find(stack, "aws_secretsmanager_secret"), "arn")
