import hashlib
import json
import re
from datetime import UTC, datetime
from typing import Any

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
    # Every literal argument of every resource, method, integration, validator, model and gateway response is in the
    # hash (recomputed here from the synthesized blocks, so an argument set outside the hashed dicts fails), every
    # reference is in the list.
    parts = [
        *find_all(stack, "aws_api_gateway_resource"),
        *find_all(stack, "aws_api_gateway_method"),
        *find_all(stack, "aws_api_gateway_integration"),
        *find_all(stack, "aws_api_gateway_request_validator"),
        *find_all(stack, "aws_api_gateway_model"),
        *find_all(stack, "aws_api_gateway_gateway_response"),
    ]
    assert len(parts) == 13
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
    # Which validator and which body model a method uses (references, so not in the hash) is in the list, after the
    # method: moving a method to another validator or content type redeploys too.
    for method in find_all(stack, "aws_api_gateway_method"):
        validator = referenced(stack, method["request_validator_id"], "id")
        after = trigger.split(f"{address(stack, method)}.id", 1)[1]
        assert f"{address(stack, validator)}.id" in after.split("aws_api_gateway_method.", 1)[0]
        for content_type, model in method.get("request_models", {}).items():
            assert f'"{content_type}", {address(stack, referenced(stack, model, "name"))}.name' in after


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
    assert plan["quota_settings"] == {"limit": settings.quota_per_day, "period": "DAY"}
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
    # The key's value lands in the seed's api-secret, write-only: the state keeps it once (the key's `value`).
    version = find(stack, "aws_secretsmanager_secret_version")
    assert version["secret_string_wo"] == reference_to(stack, key, "value")
    assert version["secret_string_wo_version"] == settings.key_version
    assert "secret_string" not in version and "secret_binary" not in version
    assert version["secret_id"] == reference_to(
        stack, find(stack, "aws_secretsmanager_secret", name=f"api-secret-{suffix}"), "id"
    )


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_bumping_key_version_replaces_the_key_and_rewrites_its_secret_in_one_apply(stacks, environments, suffix):
    stack = stacks[suffix]
    version = environments[suffix].api.key_version
    key = find(stack, "aws_api_gateway_api_key")
    # A new key_version updates the marker; an update of the marker replaces the key (a new generated value). The
    # marker is named bare: Terraform's JSON syntax refuses `${...}` in replace_triggered_by.
    [marker] = find_all(stack, "terraform_data")
    assert key["lifecycle"]["replace_triggered_by"] == [address(stack, marker)]
    assert marker["input"] == {"key_version": version}
    # The new key is in the usage plan before the old one leaves it (create_before_destroy on both).
    assert key["lifecycle"]["create_before_destroy"] is True
    plan_key = find(stack, "aws_api_gateway_usage_plan_key")
    assert plan_key["key_id"] == reference_to(stack, key, "id")
    assert plan_key["lifecycle"] == {"create_before_destroy": True}
    # The same number makes the provider write the (new) value into the secret again.
    secret_version = find(stack, "aws_secretsmanager_secret_version")
    assert secret_version["secret_string_wo_version"] == version
    assert secret_version["secret_string_wo"] == reference_to(stack, key, "value")


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


# ---------------------------------------------------------------------------------------------------------------------
# POST /videos: API Gateway's body model against the handler's own checks
# ---------------------------------------------------------------------------------------------------------------------
ACCEPTED, REFUSED = "accepted", "refused"
HANDLER_ONLY = "handler only"  # the schema cannot see it; the handler refuses it

_BODIES = [
    # (id, body as sent, verdict of both)
    ("minimal", '{"videoId": "abc"}', ACCEPTED),
    ("one-char", '{"videoId": "a"}', ACCEPTED),
    ("128-chars", json.dumps({"videoId": "x" * 128}), ACCEPTED),
    ("every-character-class", '{"videoId": "AZaz09_-"}', ACCEPTED),
    ("escaped-ascii", '{"videoId": "\\u0041bc"}', ACCEPTED),
    ("run-1", '{"videoId": "abc", "run": 1}', ACCEPTED),
    ("run-max", '{"videoId": "abc", "run": 1000}', ACCEPTED),
    ("unknown-fields-ignored", '{"videoId": "abc", "run": 2, "note": {"tags": [1, "x", null]}}', ACCEPTED),
    ("not-json", "{", REFUSED),
    ("empty-body", "", REFUSED),
    ("array", '[{"videoId": "abc"}]', REFUSED),
    ("string", '"abc"', REFUSED),
    ("null", "null", REFUSED),
    ("number", "1", REFUSED),
    ("no-videoId", "{}", REFUSED),
    ("only-run", '{"run": 1}', REFUSED),
    ("wrong-case-key", '{"videoid": "abc"}', REFUSED),
    ("empty-videoId", '{"videoId": ""}', REFUSED),
    ("129-chars", json.dumps({"videoId": "x" * 129}), REFUSED),
    ("space", '{"videoId": "a b"}', REFUSED),
    ("slash", '{"videoId": "a/b"}', REFUSED),
    ("dot", '{"videoId": "a.b"}', REFUSED),
    ("non-ascii-letter", '{"videoId": "caf\\u00e9"}', REFUSED),
    ("fullwidth-letter", '{"videoId": "\\uff41"}', REFUSED),
    ("trailing-newline", '{"videoId": "abc\\n"}', REFUSED),  # ECMA 262's `$` is the end of input
    ("leading-newline", '{"videoId": "\\nabc"}', REFUSED),
    ("nul", '{"videoId": "abc\\u0000"}', REFUSED),
    ("videoId-number", '{"videoId": 123}', REFUSED),
    ("videoId-null", '{"videoId": null}', REFUSED),
    ("videoId-true", '{"videoId": true}', REFUSED),
    ("videoId-array", '{"videoId": ["abc"]}', REFUSED),
    ("videoId-object", '{"videoId": {"id": "abc"}}', REFUSED),
    ("run-0", '{"videoId": "abc", "run": 0}', REFUSED),
    ("run-negative", '{"videoId": "abc", "run": -1}', REFUSED),
    ("run-over-max", '{"videoId": "abc", "run": 1001}', REFUSED),
    ("run-21-digits", '{"videoId": "abc", "run": 123456789012345678901}', REFUSED),
    ("run-float", '{"videoId": "abc", "run": 2.0}', REFUSED),  # draft-04: an integer has no fraction part
    ("run-exponent", '{"videoId": "abc", "run": 1e2}', REFUSED),
    ("run-fraction", '{"videoId": "abc", "run": 1.5}', REFUSED),
    ("run-string", '{"videoId": "abc", "run": "2"}', REFUSED),
    ("run-true", '{"videoId": "abc", "run": true}', REFUSED),
    ("run-null", '{"videoId": "abc", "run": null}', REFUSED),
    ("nan", '{"videoId": "abc", "x": NaN}', REFUSED),  # not JSON (RFC 8259)
    ("duplicate-key", '{"videoId": "abc", "videoId": "abd"}', HANDLER_ONLY),
    ("long-number-elsewhere", '{"videoId": "abc", "x": 123456789012345678901}', HANDLER_ONLY),
    ("float-out-of-range-elsewhere", '{"videoId": "abc", "x": 1e400}', HANDLER_ONLY),
    ("over-1-MiB", json.dumps({"videoId": "abc", "pad": "x" * (1024 * 1024)}), HANDLER_ONLY),  # 413 (WAF: 403)
]


def _schema_validator(schema: dict) -> Any:
    """jsonschema's draft-04 validator with ECMA 262 regular expressions, as JSON Schema specifies them: without
    flags `$` is the end of the input, where Python's `$` also matches before a final newline."""
    from jsonschema import Draft4Validator, ValidationError, validators

    def ecma_pattern(validator: Any, pattern: str, instance: Any, _schema: dict) -> Any:
        assert pattern.count("$") == 1 and pattern.endswith("$") and "\\" not in pattern, pattern
        if validator.is_type(instance, "string") and not re.search(pattern[:-1] + r"\Z", instance):
            yield ValidationError(f"{instance!r} does not match {pattern!r}")

    Draft4Validator.check_schema(schema)
    return validators.extend(Draft4Validator, {"pattern": ecma_pattern})(schema)


def _schema_accepts(validator: Any, body: str) -> bool:
    """What API Gateway's validator would say: the body must be JSON (no NaN), then valid against the schema."""

    def not_json(constant: str) -> Any:
        raise ValueError(constant)

    try:
        document = json.loads(body, parse_constant=not_json)
    except ValueError:
        return False
    return validator.is_valid(document)


class _Running:
    """Step Functions for bodies the handler accepts: the run's execution exists and runs."""

    def describe_execution(self, **call: str) -> dict[str, Any]:
        return {"executionArn": call["executionArn"], "status": "RUNNING", "startDate": datetime.now(UTC)}


def _handler_accepts(handler: Any, body: str) -> bool:
    event = {"httpMethod": "POST", "resource": "/videos", "path": "/videos", "body": body, "isBase64Encoded": False}
    status = handler.handler(event, None)["statusCode"]
    assert status in (200, 400, 413), status
    return status == 200


def test_post_videos_validates_its_body_against_one_model_other_methods_their_parameters(stacks):
    from modules.api.runtime import handler

    for suffix, stack in stacks.items():
        model = find(stack, "aws_api_gateway_model")
        assert (model["name"], model["content_type"]) == ("StartVideo", "application/json")
        assert json.loads(model["schema"])["$schema"] == "http://json-schema.org/draft-04/schema#"
        api = reference_to(stack, find(stack, "aws_api_gateway_rest_api"), "id")
        validators = {v["name"]: v for v in find_all(stack, "aws_api_gateway_request_validator")}
        assert {
            name: (v["validate_request_body"], v["validate_request_parameters"]) for name, v in validators.items()
        } == {
            "body-and-parameters": (True, True),
            "parameters": (False, True),
        }, suffix
        assert model["rest_api_id"] == api and all(v["rest_api_id"] == api for v in validators.values())
        for method in find_all(stack, "aws_api_gateway_method"):
            validator = referenced(stack, method["request_validator_id"], "id")
            if method["http_method"] == "POST":
                assert validator is validators["body-and-parameters"]
                # Whatever the Content-Type: the handler parses every body as JSON.
                assert method["request_models"] == {
                    "application/json": reference_to(stack, model, "name"),
                    "$default": reference_to(stack, model, "name"),
                }
            else:
                assert validator is validators["parameters"] and "request_models" not in method
        # A refused body gets the handler's 400 form, {"error": ...}, not API Gateway's {"message": ...}.
        refused = find(stack, "aws_api_gateway_gateway_response")
        assert (refused["rest_api_id"], refused["response_type"], refused["status_code"]) == (
            api,
            "BAD_REQUEST_BODY",
            "400",
        )
        [(content_type, template)] = refused["response_templates"].items()
        assert content_type == "application/json" and "$" not in template and "#" not in template  # no VTL
        assert json.loads(template) == {
            "error": "request body must be a JSON object with a videoId and an optional run: "
            f"{handler.VIDEO_ID_RULE}; {handler.RUN_RULE}"
        }


@pytest.mark.parametrize("body, verdict", [pytest.param(b, v, id=i) for i, b, v in _BODIES])
def test_the_body_model_accepts_what_the_handler_accepts_and_refuses_what_it_refuses(
    stacks, monkeypatch, body, verdict
):
    from modules.api.runtime import handler

    monkeypatch.setattr(handler, "_client", _Running())
    monkeypatch.setenv("STATE_MACHINE_ARN", "arn:aws:states:ap-northeast-1:123456789012:stateMachine:m")
    schemas = {find(stack, "aws_api_gateway_model")["schema"] for stack in stacks.values()}
    assert len(schemas) == 1  # one contract, every environment
    validator = _schema_validator(json.loads(schemas.pop()))
    expected = {ACCEPTED: (True, True), REFUSED: (False, False), HANDLER_ONLY: (True, False)}[verdict]
    assert (_schema_accepts(validator, body), _handler_accepts(handler, body)) == expected
