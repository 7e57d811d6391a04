"""Account-wide settings an environment stack may manage: one environment per account and region does
(`api.manage_account_logging_role`, checked by config/settings.py)."""

from __future__ import annotations

from cdktf_cdktf_provider_aws.api_gateway_account import ApiGatewayAccount
from constructs import Construct

from modules.context import StackContext
from modules.iam import Role


def api_gateway_logging(scope: Construct, ctx: StackContext) -> ApiGatewayAccount:
    """The role API Gateway writes CloudWatch logs with, set on the account (per region). `scope` is where it
    was first deployed (the API), which keeps its addresses."""
    role = Role(
        scope,
        "account-logging-role",
        name=ctx.names.role("apigw-cloudwatch"),
        service="apigateway.amazonaws.com",
        managed_policies=[ctx.managed_policy("service-role/AmazonAPIGatewayPushToCloudWatchLogs")],
        inline_policy=False,
    )
    return ApiGatewayAccount(scope, "account", cloudwatch_role_arn=role.arn)
