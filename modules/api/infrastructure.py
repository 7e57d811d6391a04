"""REST API with a Lambda backend (`runtime/`): start processing, follow it, read metadata.

Every method requires the API key and has a request validator; POST /videos' body is checked against a JSON schema
built from the handler's own rules (`runtime/routes.py`). The key's value is kept in the Secrets module's API-key
secret so consumers read it from Secrets Manager; bumping `api.key_version` replaces the key and rewrites the
secret in the same apply."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from cdktf import DataResource, Fn, TerraformResourceLifecycle
from cdktf_cdktf_provider_aws.api_gateway_api_key import ApiGatewayApiKey
from cdktf_cdktf_provider_aws.api_gateway_deployment import ApiGatewayDeployment
from cdktf_cdktf_provider_aws.api_gateway_gateway_response import ApiGatewayGatewayResponse
from cdktf_cdktf_provider_aws.api_gateway_integration import ApiGatewayIntegration
from cdktf_cdktf_provider_aws.api_gateway_method import ApiGatewayMethod
from cdktf_cdktf_provider_aws.api_gateway_method_settings import (
    ApiGatewayMethodSettings,
    ApiGatewayMethodSettingsSettings,
)
from cdktf_cdktf_provider_aws.api_gateway_model import ApiGatewayModel
from cdktf_cdktf_provider_aws.api_gateway_request_validator import ApiGatewayRequestValidator
from cdktf_cdktf_provider_aws.api_gateway_resource import ApiGatewayResource
from cdktf_cdktf_provider_aws.api_gateway_rest_api import ApiGatewayRestApi, ApiGatewayRestApiEndpointConfiguration
from cdktf_cdktf_provider_aws.api_gateway_stage import ApiGatewayStage, ApiGatewayStageAccessLogSettings
from cdktf_cdktf_provider_aws.api_gateway_usage_plan import (
    ApiGatewayUsagePlan,
    ApiGatewayUsagePlanApiStages,
    ApiGatewayUsagePlanQuotaSettings,
    ApiGatewayUsagePlanThrottleSettings,
)
from cdktf_cdktf_provider_aws.api_gateway_usage_plan_key import ApiGatewayUsagePlanKey
from cdktf_cdktf_provider_aws.lambda_function import (
    LambdaFunction,
    LambdaFunctionEnvironment,
    LambdaFunctionTracingConfig,
)
from cdktf_cdktf_provider_aws.lambda_permission import LambdaPermission
from constructs import Construct

from config.settings import ApiSettings
from modules.api.runtime import routes
from modules.context import StackContext, log_streams_arn
from modules.iam import Role, Statement
from modules.packaging import lambda_code
from modules.secrets import Secrets
from modules.workflow import Workflow

RUNTIME = Path(__file__).resolve().parent / "runtime"

# API Gateway access log fields, one JSON object per request.
ACCESS_LOG_FORMAT = json.dumps(
    {
        "requestId": "$context.requestId",
        "ip": "$context.identity.sourceIp",
        "apiKeyId": "$context.identity.apiKeyId",
        "requestTime": "$context.requestTime",
        "httpMethod": "$context.httpMethod",
        "resourcePath": "$context.resourcePath",
        "status": "$context.status",
        "responseLength": "$context.responseLength",
        "integrationError": "$context.integration.error",
        "xrayTraceId": "$context.xrayTraceId",
    },
    separators=(",", ":"),
)


# The JSON schema (draft-04, the version API Gateway models use) of each handler function's request body, from the
# handler's own rules in routes.py: API Gateway answers 400 before the function runs when a body breaks them. The
# handler still checks everything, and what a schema cannot see (a duplicate key, a 21-digit number, 1 MiB).
# Unknown fields are allowed: the handler ignores them.
BODY_SCHEMAS: dict[str, dict[str, Any]] = {
    "start_video": {
        "$schema": "http://json-schema.org/draft-04/schema#",
        "title": "StartVideo",
        "type": "object",
        "required": ["videoId"],
        "properties": {
            "videoId": {"type": "string", "pattern": f"^{routes.VIDEO_ID_PATTERN}$"},
            "run": {"type": "integer", "minimum": 1, "maximum": routes.MAX_RUN},
        },
    },
}
# A model applies to the request content types it is mapped to; API Gateway skips body validation for any other,
# and the handler parses every body as JSON whatever its Content-Type: `$default` covers the rest.
BODY_CONTENT_TYPES = ("application/json", "$default")
# What API Gateway answers for a body the model refuses: the handler's own 400 form, `{"error": ...}` (API Gateway's
# default is `{"message": "Invalid request body"}`). A fixed text: the validator's own message would need escaping
# that gateway response templates cannot do.
BAD_REQUEST_BODY = {
    "error": (
        "request body must be a JSON object with a videoId and an optional run: "
        f"{routes.VIDEO_ID_RULE}; {routes.RUN_RULE}"
    )
}
# API Gateway's request validators: a method with a body schema checks body and parameters, the others parameters.
VALIDATORS: dict[str, dict[str, Any]] = {
    "body-and-parameters": {"validate_request_body": True, "validate_request_parameters": True},
    "parameters": {"validate_request_body": False, "validate_request_parameters": True},
}


def _slug(path: str) -> str:
    """A construct-id fragment for an API path: `/videos/{videoId}` -> `-videos-videoId`."""
    return path.replace("/", "-").replace("{", "").replace("}", "")


class Api(Construct):
    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        ctx: StackContext,
        settings: ApiSettings,
        workflow: Workflow,
        secrets: Secrets,
    ) -> None:
        super().__init__(scope, id_)
        names = ctx.names
        self.function_role = Role(
            self, "function-role", name=names.role("video-api-handler"), service="lambda.amazonaws.com"
        )
        workflow.grant_start_and_read(self.function_role)
        function = self._function(ctx, workflow)

        api = ApiGatewayRestApi(
            self,
            "rest-api",
            name=names("video-metadata-api"),
            description="Start and follow video processing",
            endpoint_configuration=ApiGatewayRestApiEndpointConfiguration(types=["REGIONAL"]),
        )
        api.add_override("lifecycle.create_before_destroy", True)  # a replacement API exists before the old one goes
        parents = {"": api.root_resource_id}
        # A deployment snapshots the routes: any change of their arguments (api_key_required, request parameters,
        # validators, body models and the answer to a refused body, the integration) or of what they point at must
        # redeploy the stage. Literal arguments are hashed here (one dict per resource, the same dict the resource is
        # built from); references go to Terraform as they are (a method's body models as content type, model name
        # pairs, so the content types count too). Not the resources' whole objects: their refreshed attributes (null
        # vs. {}) would redeploy on every plan.
        arguments: list[dict[str, object]] = []
        references: list[str] = []

        def hashed(resource_type: Any, id_: str, literal: dict[str, Any], **refs: Any) -> Any:
            """A resource of the REST API whose literal arguments and id the deployment's trigger hashes."""
            resource = resource_type(self, id_, rest_api_id=api.id, **refs, **literal)
            arguments.append(literal)
            references.append(resource.id)
            return resource

        validators: dict[str, ApiGatewayRequestValidator] = {
            name: hashed(ApiGatewayRequestValidator, f"validator-{name}", {"name": name, **flags})
            for name, flags in VALIDATORS.items()
        }
        models: dict[str, ApiGatewayModel] = {
            action: hashed(
                ApiGatewayModel,
                f"model-{schema['title']}",
                {
                    "name": schema["title"],
                    "content_type": "application/json",
                    "description": f"Request body of {action}",
                    "schema": json.dumps(schema, sort_keys=True),
                },
            )
            for action, schema in BODY_SCHEMAS.items()
        }
        hashed(
            ApiGatewayGatewayResponse,
            "bad-request-body",
            {
                "response_type": "BAD_REQUEST_BODY",
                "status_code": "400",
                "response_templates": {"application/json": json.dumps(BAD_REQUEST_BODY)},
            },
        )
        for path, http_method in routes.pairs():
            parent_path = ""
            for part in path.strip("/").split("/"):
                current = f"{parent_path}/{part}"
                if current not in parents:
                    resource = hashed(
                        ApiGatewayResource,
                        f"resource{_slug(current)}",
                        {"path_part": part},
                        parent_id=parents[parent_path],
                    )
                    parents[current] = resource.id
                parent_path = current
            label = f"{http_method.lower()}{_slug(path)}"
            parameters = {f"method.request.path.{p[1:-1]}": True for p in path.split("/") if p.startswith("{")}
            method_args: dict[str, Any] = {
                "http_method": http_method,
                "authorization": "NONE",
                "api_key_required": True,
                "request_parameters": parameters or None,
            }
            model = models.get(routes.ROUTES[path][http_method])
            validator = validators["body-and-parameters" if model else "parameters"]
            body_models = dict.fromkeys(BODY_CONTENT_TYPES, model.name) if model else None
            method = ApiGatewayMethod(
                self,
                f"method-{label}",
                rest_api_id=api.id,
                resource_id=parents[path],
                request_validator_id=validator.id,
                request_models=body_models,
                **method_args,
            )
            integration_args: dict[str, Any] = {"type": "AWS_PROXY", "integration_http_method": "POST"}
            integration = ApiGatewayIntegration(
                self,
                f"integration-{label}",
                rest_api_id=api.id,
                resource_id=parents[path],
                http_method=method.http_method,
                uri=function.invoke_arn,
                **integration_args,
            )
            arguments += [method_args, integration_args]
            references += [method.id, integration.id, integration.uri, validator.id]
            references += [part for content_type, name in (body_models or {}).items() for part in (content_type, name)]

        deployment = ApiGatewayDeployment(
            self,
            "deployment",
            rest_api_id=api.id,
            triggers={"redeployment": Fn.sha1(Fn.jsonencode([arguments_hash(arguments), *references]))},
        )
        deployment.add_override("lifecycle.create_before_destroy", True)

        access_logs = ctx.log_group(self, "access-logs", name=f"/aws/apigateway/{names('video-metadata-api')}")
        stage = ApiGatewayStage(
            self,
            "stage",
            rest_api_id=api.id,
            deployment_id=deployment.id,
            stage_name=settings.stage_name,
            xray_tracing_enabled=True,
            access_log_settings=ApiGatewayStageAccessLogSettings(
                destination_arn=access_logs.arn, format=ACCESS_LOG_FORMAT
            ),
        )
        # API Gateway writes execution logs here itself; creating it sets retention and removes it on destroy.
        ctx.log_group(self, "execution-logs", name=f"API-Gateway-Execution-Logs_{api.id}/{settings.stage_name}")
        ApiGatewayMethodSettings(
            self,
            "method-settings",
            rest_api_id=api.id,
            stage_name=stage.stage_name,
            method_path="*/*",
            settings=ApiGatewayMethodSettingsSettings(
                metrics_enabled=True,
                data_trace_enabled=False,
                logging_level="ERROR",
                throttling_rate_limit=settings.throttle_rate_limit,
                throttling_burst_limit=settings.throttle_burst_limit,
            ),
        )
        LambdaPermission(
            self,
            "invoke-permission",
            statement_id="AllowApiGatewayInvoke",
            action="lambda:InvokeFunction",
            function_name=function.function_name,
            principal="apigateway.amazonaws.com",
            source_arn=f"{api.execution_arn}/{settings.stage_name}/*/*",
        )

        # Rotation: bumping api.key_version updates this marker, which replaces the key (API Gateway generates a new
        # value); the new key joins the usage plan before the old one leaves it, and the secret gets the new value,
        # all in one apply. Creating the marker (first apply) replaces nothing: only its updates do.
        key_version = DataResource(self, "api-key-version", input={"key_version": settings.key_version})
        key = ApiGatewayApiKey(
            self,
            "api-key",
            name=names("video-metadata-key"),
            enabled=True,
            # The marker's address, bare: Terraform's JSON syntax refuses `${...}` here (cdktf's form for an object).
            lifecycle=TerraformResourceLifecycle(
                create_before_destroy=True,
                replace_triggered_by=[f"{key_version.terraform_resource_type}.{key_version.friendly_unique_id}"],
            ),
        )
        plan = ApiGatewayUsagePlan(
            self,
            "usage-plan",
            name=names("video-metadata-plan"),
            api_stages=[ApiGatewayUsagePlanApiStages(api_id=api.id, stage=stage.stage_name)],
            throttle_settings=ApiGatewayUsagePlanThrottleSettings(
                rate_limit=settings.throttle_rate_limit, burst_limit=settings.throttle_burst_limit
            ),
            quota_settings=ApiGatewayUsagePlanQuotaSettings(limit=settings.quota_per_day, period="DAY"),
        )
        ApiGatewayUsagePlanKey(
            self,
            "usage-plan-key",
            key_id=key.id,
            key_type="API_KEY",
            usage_plan_id=plan.id,
            lifecycle=TerraformResourceLifecycle(create_before_destroy=True),
        )
        # Consumers read the key from Secrets Manager instead of the API Gateway console.
        secrets.store_api_key(self, "api-secret-value", value=key.value, version=settings.key_version)

        self.url: str = stage.invoke_url
        self.stage_arn: str = stage.arn  # what a web ACL protects (WebAcl.protect)
        self.api_key_id: str = key.id
        self.rest_api_id: str = api.id
        self.function_name: str = function.function_name

    def _function(self, ctx: StackContext, workflow: Workflow) -> LambdaFunction:
        logs = ctx.log_group(self, "function-logs", name=f"/aws/lambda/{ctx.names.lambda_function}")
        self.function_role.add(
            Statement(
                sid="Logs", actions=["logs:CreateLogStream", "logs:PutLogEvents"], resources=[log_streams_arn(logs)]
            ),
            Statement(
                sid="Tracing", actions=["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
            ),  # no resource-level
        )
        code = lambda_code(self, "code", source=RUNTIME, name="video-api.zip")
        return LambdaFunction(
            self,
            "function",
            function_name=ctx.names.lambda_function,
            role=self.function_role.arn,
            runtime="python3.12",
            handler="handler.handler",
            filename=code.path,
            source_code_hash=Fn.filebase64sha256(code.path),
            timeout=10,
            memory_size=256,
            environment=LambdaFunctionEnvironment(
                variables={
                    "STATE_MACHINE_ARN": workflow.state_machine_arn,
                    "ENVIRONMENT": ctx.environment,
                    "SERVICE_VERSION": routes.SERVICE_VERSION,
                }
            ),
            tracing_config=LambdaFunctionTracingConfig(mode="Active"),
            kms_key_arn=ctx.encryption_key("lambda"),  # the environment variables at rest
            depends_on=[logs, self.function_role.policy],
        )


def arguments_hash(arguments: list[dict[str, object]]) -> str:
    """sha256 of the resources' literal arguments, in any order; None (unset) left out as Terraform JSON leaves it
    out."""
    present = sorted(
        json.dumps({key: value for key, value in args.items() if value is not None}, sort_keys=True)
        for args in arguments
    )
    return hashlib.sha256(json.dumps(present).encode()).hexdigest()
