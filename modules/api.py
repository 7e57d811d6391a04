"""REST API with a Lambda backend (functions/video_api): start processing, follow it, read metadata.

Every method requires the API key; the key's value is stored in the seed's `api-secret-<suffix>` so
consumers read it from Secrets Manager."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from cdktf import AssetType, Fn, TerraformAsset
from cdktf_cdktf_provider_aws.api_gateway_account import ApiGatewayAccount
from cdktf_cdktf_provider_aws.api_gateway_api_key import ApiGatewayApiKey
from cdktf_cdktf_provider_aws.api_gateway_deployment import ApiGatewayDeployment
from cdktf_cdktf_provider_aws.api_gateway_integration import ApiGatewayIntegration
from cdktf_cdktf_provider_aws.api_gateway_method import ApiGatewayMethod
from cdktf_cdktf_provider_aws.api_gateway_method_settings import ApiGatewayMethodSettings, ApiGatewayMethodSettingsSettings
from cdktf_cdktf_provider_aws.api_gateway_resource import ApiGatewayResource
from cdktf_cdktf_provider_aws.api_gateway_rest_api import ApiGatewayRestApi, ApiGatewayRestApiEndpointConfiguration
from cdktf_cdktf_provider_aws.api_gateway_stage import ApiGatewayStage, ApiGatewayStageAccessLogSettings
from cdktf_cdktf_provider_aws.api_gateway_usage_plan import (
    ApiGatewayUsagePlan,
    ApiGatewayUsagePlanApiStages,
    ApiGatewayUsagePlanThrottleSettings,
)
from cdktf_cdktf_provider_aws.api_gateway_usage_plan_key import ApiGatewayUsagePlanKey
from cdktf_cdktf_provider_aws.lambda_function import LambdaFunction, LambdaFunctionEnvironment, LambdaFunctionTracingConfig
from cdktf_cdktf_provider_aws.lambda_permission import LambdaPermission
from cdktf_cdktf_provider_aws.secretsmanager_secret_version import SecretsmanagerSecretVersion
from constructs import Construct

from config.naming import Names
from config.settings import ApiSettings
from modules.common import AwsContext, Statement, log_group, log_streams_arn, service_role
from modules.packaging import function_package

FUNCTION_SOURCE = Path(__file__).resolve().parents[1] / "functions" / "video_api"
SERVICE_VERSION = "1.0.0"

# (path, method); path parts in braces are path parameters. All use the one Lambda (proxy integration).
ROUTES = (
    ("/videos", "POST"),
    ("/videos/{videoId}", "GET"),
    ("/metadata", "GET"),
)

# API Gateway access log fields, one JSON object per request.
ACCESS_LOG_FORMAT = json.dumps({
    "requestId": "$context.requestId", "ip": "$context.identity.sourceIp", "apiKeyId": "$context.identity.apiKeyId",
    "requestTime": "$context.requestTime", "httpMethod": "$context.httpMethod", "resourcePath": "$context.resourcePath",
    "status": "$context.status", "responseLength": "$context.responseLength",
    "integrationError": "$context.integration.error", "xrayTraceId": "$context.xrayTraceId",
}, separators=(",", ":"))


@dataclass(frozen=True)
class ApiOutputs:
    url: str
    api_key_id: str
    rest_api_id: str
    function_name: str


def _slug(path: str) -> str:
    """A construct-id fragment for an API path: `/videos/{videoId}` -> `-videos-videoId`."""
    return path.replace("/", "-").replace("{", "").replace("}", "")


class Api(Construct):
    def __init__(self, scope: Construct, id_: str, *, names: Names, settings: ApiSettings, context: AwsContext,
                 environment: str, state_machine_arn: str, state_machine_name: str, api_secret_id: str,
                 log_retention_days: int) -> None:
        super().__init__(scope, id_)
        function = self._function(names, context, environment, state_machine_arn, state_machine_name, log_retention_days)

        api = ApiGatewayRestApi(self, "rest-api", name=names("video-metadata-api"),
                                description="Start and follow video processing",
                                endpoint_configuration=ApiGatewayRestApiEndpointConfiguration(types=["REGIONAL"]))
        api.add_override("lifecycle.create_before_destroy", True)  # a replacement API exists before the old one goes
        parents = {"": api.root_resource_id}
        # A redeployment follows any change of the routes (in this file) or of the API's resources.
        definition: list[str] = [hashlib.sha256(json.dumps(ROUTES).encode()).hexdigest()]
        for path, http_method in ROUTES:
            parent_path = ""
            for part in path.strip("/").split("/"):
                current = f"{parent_path}/{part}"
                if current not in parents:
                    resource = ApiGatewayResource(self, f"resource{_slug(current)}",
                                                  rest_api_id=api.id, parent_id=parents[parent_path], path_part=part)
                    parents[current] = resource.id
                    definition.append(resource.id)
                parent_path = current
            label = f"{http_method.lower()}{_slug(path)}"
            parameters = {f"method.request.path.{p[1:-1]}": True for p in path.split("/") if p.startswith("{")}
            method = ApiGatewayMethod(self, f"method-{label}", rest_api_id=api.id, resource_id=parents[path],
                                      http_method=http_method, authorization="NONE", api_key_required=True,
                                      request_parameters=parameters or None)
            integration = ApiGatewayIntegration(self, f"integration-{label}", rest_api_id=api.id, resource_id=parents[path],
                                                http_method=method.http_method, type="AWS_PROXY",
                                                integration_http_method="POST", uri=function.invoke_arn)
            definition += [method.id, integration.id, integration.uri]

        deployment = ApiGatewayDeployment(
            self, "deployment", rest_api_id=api.id,
            triggers={"redeployment": Fn.sha1(Fn.jsonencode(definition))},
        )
        deployment.add_override("lifecycle.create_before_destroy", True)

        account = self._account_logging_role(names, context) if settings.manage_account_logging_role else None
        access_logs = log_group(self, "access-logs", name=f"/aws/apigateway/{names('video-metadata-api')}",
                                retention_days=log_retention_days)
        stage = ApiGatewayStage(
            self, "stage", rest_api_id=api.id, deployment_id=deployment.id, stage_name=settings.stage_name,
            xray_tracing_enabled=True,
            access_log_settings=ApiGatewayStageAccessLogSettings(destination_arn=access_logs.arn, format=ACCESS_LOG_FORMAT),
            depends_on=[account] if account else None,
        )
        # API Gateway writes execution logs here itself; creating it sets retention and removes it on destroy.
        log_group(self, "execution-logs", name=f"API-Gateway-Execution-Logs_{api.id}/{settings.stage_name}",
                  retention_days=log_retention_days)
        ApiGatewayMethodSettings(
            self, "method-settings", rest_api_id=api.id, stage_name=stage.stage_name, method_path="*/*",
            settings=ApiGatewayMethodSettingsSettings(
                metrics_enabled=True, data_trace_enabled=False, logging_level="ERROR",
                throttling_rate_limit=settings.throttle_rate_limit, throttling_burst_limit=settings.throttle_burst_limit),
        )
        LambdaPermission(self, "invoke-permission", statement_id="AllowApiGatewayInvoke", action="lambda:InvokeFunction",
                         function_name=function.function_name, principal="apigateway.amazonaws.com",
                         source_arn=f"{api.execution_arn}/{settings.stage_name}/*/*")

        key = ApiGatewayApiKey(self, "api-key", name=names("video-metadata-key"), enabled=True)
        plan = ApiGatewayUsagePlan(
            self, "usage-plan", name=names("video-metadata-plan"),
            api_stages=[ApiGatewayUsagePlanApiStages(api_id=api.id, stage=stage.stage_name)],
            throttle_settings=ApiGatewayUsagePlanThrottleSettings(
                rate_limit=settings.throttle_rate_limit, burst_limit=settings.throttle_burst_limit),
        )
        ApiGatewayUsagePlanKey(self, "usage-plan-key", key_id=key.id, key_type="API_KEY", usage_plan_id=plan.id)
        # Consumers read the key from Secrets Manager instead of the API Gateway console.
        SecretsmanagerSecretVersion(self, "api-secret-value", secret_id=api_secret_id, secret_string=key.value)

        self.outputs = ApiOutputs(url=stage.invoke_url, api_key_id=key.id, rest_api_id=api.id,
                                  function_name=function.function_name)

    def _function(self, names: Names, context: AwsContext, environment: str, state_machine_arn: str,
                  state_machine_name: str, log_retention_days: int) -> LambdaFunction:
        logs = log_group(self, "function-logs", name=f"/aws/lambda/{names.lambda_function}", retention_days=log_retention_days)
        role, policy = service_role(
            self, "function-role", name=names.role("video-api-handler"), service="lambda.amazonaws.com",
            statements=[
                Statement(sid="StartAndList", actions=["states:StartExecution", "states:ListExecutions"], resources=[state_machine_arn]),
                Statement(sid="DescribeExecutions", actions=["states:DescribeExecution"],
                          resources=[context.arn("states", f"execution:{state_machine_name}:*")]),
                Statement(sid="Logs", actions=["logs:CreateLogStream", "logs:PutLogEvents"], resources=[log_streams_arn(logs)]),
                Statement(sid="Tracing", actions=["xray:PutTraceSegments", "xray:PutTelemetryRecords"]),  # no resource-level permissions
            ],
        )
        asset = TerraformAsset(self, "code", path=str(function_package(FUNCTION_SOURCE, "video-api.zip")), type=AssetType.FILE)
        return LambdaFunction(
            self, "function", function_name=names.lambda_function, role=role.arn,
            runtime="python3.12", handler="handler.handler", filename=asset.path, source_code_hash=Fn.filebase64sha256(asset.path),
            timeout=10, memory_size=256,
            environment=LambdaFunctionEnvironment(variables={
                "STATE_MACHINE_ARN": state_machine_arn, "ENVIRONMENT": environment, "SERVICE_VERSION": SERVICE_VERSION}),
            tracing_config=LambdaFunctionTracingConfig(mode="Active"),
            depends_on=[logs, policy],
        )

    def _account_logging_role(self, names: Names, context: AwsContext) -> ApiGatewayAccount:
        """The account-wide (per region) role API Gateway logs with; one environment per account manages it."""
        role, _ = service_role(
            self, "account-logging-role", name=names.role("apigw-cloudwatch"), service="apigateway.amazonaws.com",
            managed_policy_arns=[context.managed_policy("service-role/AmazonAPIGatewayPushToCloudWatchLogs")],
        )
        return ApiGatewayAccount(self, "account", cloudwatch_role_arn=role.arn)
