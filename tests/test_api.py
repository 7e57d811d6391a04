import json

import pytest

from tests.conftest import only, resources, role_statements

ALL = ["dev", "staging", "prod", "pr123"]


@pytest.mark.parametrize("suffix", ALL)
def test_routes_methods_and_proxy_integrations_all_require_the_key(stacks, suffix):
    stack = stacks[suffix]
    paths = sorted(r["path_part"] for r in resources(stack, "aws_api_gateway_resource").values())
    assert paths == ["metadata", "videos", "{videoId}"]
    methods = resources(stack, "aws_api_gateway_method")
    assert sorted(m["http_method"] for m in methods.values()) == ["GET", "GET", "POST"]
    assert all(m["api_key_required"] is True and m["authorization"] == "NONE" for m in methods.values())
    integrations = resources(stack, "aws_api_gateway_integration").values()
    assert len(integrations) == 3
    assert all(i["type"] == "AWS_PROXY" and i["integration_http_method"] == "POST" and i["uri"].endswith(".invoke_arn}") for i in integrations)
    get_video = next(m for k, m in methods.items() if "get-videos-videoId" in k)
    assert get_video["request_parameters"] == {"method.request.path.videoId": True}


@pytest.mark.parametrize("suffix", ALL)
def test_deployment_redeploys_on_change_create_before_destroy(stacks, suffix):
    deployment = only(stacks[suffix], "aws_api_gateway_deployment")
    assert deployment["lifecycle"] == {"create_before_destroy": True}
    trigger = deployment["triggers"]["redeployment"]
    assert trigger.startswith("${sha1(jsonencode([") and trigger.count("aws_api_gateway_method.") == 3


@pytest.mark.parametrize("suffix", ALL)
def test_stage_access_logs_tracing_and_throttling(stacks, environments, suffix):
    stack = stacks[suffix]
    stage = only(stack, "aws_api_gateway_stage")
    assert stage["stage_name"] == "prod" and stage["xray_tracing_enabled"] is True
    access = stage["access_log_settings"]
    assert access["destination_arn"].startswith("${aws_cloudwatch_log_group.api_access-logs_")
    assert set(json.loads(access["format"])) >= {"requestId", "status", "apiKeyId"}
    settings = only(stack, "aws_api_gateway_method_settings")
    assert settings["method_path"] == "*/*"
    assert settings["settings"] == {"metrics_enabled": True, "data_trace_enabled": False, "logging_level": "ERROR",
                                    "throttling_rate_limit": 100, "throttling_burst_limit": 200}
    groups = {g["name"]: g["retention_in_days"] for g in resources(stack, "aws_cloudwatch_log_group").values()}
    assert groups[f"/aws/apigateway/video-metadata-api-{suffix}"] == environments[suffix].log_retention_days


@pytest.mark.parametrize("suffix", ALL)
def test_key_usage_plan_and_secret(stacks, suffix):
    stack = stacks[suffix]
    assert only(stack, "aws_api_gateway_rest_api")["name"] == f"video-metadata-api-{suffix}"
    key = only(stack, "aws_api_gateway_api_key")
    assert key["name"] == f"video-metadata-key-{suffix}" and key["enabled"] is True
    plan = only(stack, "aws_api_gateway_usage_plan")
    assert plan["name"] == f"video-metadata-plan-{suffix}"
    assert plan["throttle_settings"] == {"rate_limit": 100, "burst_limit": 200}
    assert plan["api_stages"][0]["stage"].startswith("${aws_api_gateway_stage.")
    assert only(stack, "aws_api_gateway_usage_plan_key")["key_type"] == "API_KEY"
    version = only(stack, "aws_secretsmanager_secret_version")
    assert version["secret_string"].startswith("${aws_api_gateway_api_key.") and version["secret_string"].endswith(".value}")
    assert version["secret_id"].startswith("${aws_secretsmanager_secret.secrets_api-secret_")


@pytest.mark.parametrize("suffix, managed", [("dev", False), ("staging", False), ("prod", True), ("pr123", False)])
def test_account_logging_role_is_managed_where_configured(stacks, suffix, managed):
    stack = stacks[suffix]
    accounts = resources(stack, "aws_api_gateway_account")
    assert len(accounts) == (1 if managed else 0)
    stage = only(stack, "aws_api_gateway_stage")
    assert ("depends_on" in stage) is managed


@pytest.mark.parametrize("suffix", ALL)
def test_lambda_function(stacks, environments, suffix):
    stack = stacks[suffix]
    function = only(stack, "aws_lambda_function")
    assert function["function_name"] == f"video-api-{suffix}"
    assert (function["runtime"], function["handler"]) == ("python3.12", "handler.handler")
    assert function["tracing_config"] == {"mode": "Active"}
    variables = function["environment"]["variables"]
    assert variables["STATE_MACHINE_ARN"].startswith("${aws_sfn_state_machine.") and variables["ENVIRONMENT"] == suffix
    assert function["filename"].startswith("assets/") and function["filename"].endswith("/video-api.zip")
    assert function["source_code_hash"] == "${filebase64sha256(\"%s\")}" % function["filename"]
    groups = {g["name"]: g["retention_in_days"] for g in resources(stack, "aws_cloudwatch_log_group").values()}
    assert groups[f"/aws/lambda/video-api-{suffix}"] == environments[suffix].log_retention_days


@pytest.mark.parametrize("suffix", ALL)
def test_lambda_role_only_starts_and_reads_executions_of_its_state_machine(stacks, suffix):
    statements = role_statements(stacks[suffix], f"video-api-handler-{suffix}")
    assert set(statements) == {"StartAndList", "DescribeExecutions", "Logs", "Tracing"}
    [machine] = statements["StartAndList"]["resources"]
    assert machine.startswith("${aws_sfn_state_machine.workflow_state-machine_") and machine.endswith(".arn}")
    [executions] = statements["DescribeExecutions"]["resources"]
    assert ":execution:${aws_sfn_state_machine.workflow_state-machine_" in executions and executions.endswith(".name}:*")


@pytest.mark.parametrize("suffix", ALL)
def test_invoke_permission_scoped_to_this_api_and_stage(stacks, suffix):
    permission = only(stacks[suffix], "aws_lambda_permission")
    assert permission["principal"] == "apigateway.amazonaws.com" and permission["action"] == "lambda:InvokeFunction"
    assert permission["source_arn"].startswith("${aws_api_gateway_rest_api.api_rest-api_") and permission["source_arn"].endswith(".execution_arn}/prod/*/*")


@pytest.mark.parametrize("suffix", ["dev", "prod"])
def test_api_outputs(stacks, suffix):
    outputs = stacks[suffix]["output"]
    assert outputs["api_url"]["value"].endswith(".invoke_url}")
    assert outputs["api_key_id"]["value"].startswith("${aws_api_gateway_api_key.")
    assert outputs["api_secret_arn"]["value"].startswith("${aws_secretsmanager_secret.")
