"""The account's API Gateway settings: one per account and region, so the account stack owns them, never an
environment stack (an ad-hoc stack on a prod profile would otherwise own, and destroy, them)."""

from __future__ import annotations

from cdktf_cdktf_provider_aws.api_gateway_account import ApiGatewayAccount
from constructs import Construct

from config.settings import AccountSettings
from modules.iam import Role


class ApiGatewayLogging(Construct):
    """The role API Gateway writes CloudWatch logs with (execution and access logs of every stage in the account and
    region), set on the account. Environment stacks' stages log through it."""

    def __init__(self, scope: Construct, id_: str, *, settings: AccountSettings) -> None:
        super().__init__(scope, id_)
        role = Role(
            self,
            "role",
            name=settings.names.role("apigw-cloudwatch"),  # IAM is global: the region keeps it apart from others
            service="apigateway.amazonaws.com",
            managed_policies=[
                f"arn:{settings.partition}:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"
            ],
            inline_policy=False,
        )
        # API Gateway checks the role's permissions when the account setting is made: on a first apply the
        # attachment must exist by then, or the call fails ("role ... does not have required permissions").
        account = ApiGatewayAccount(self, "account", cloudwatch_role_arn=role.arn, depends_on=role.ready)
        self.role_arn: str = role.arn
        self.cloudwatch_role_arn: str = account.cloudwatch_role_arn
