"""The account stack `video-pipeline-account`: what exists once per account and region, before any environment.

The state bucket and its KMS key, which every stack's S3 backend uses (its own included, once `make bootstrap` moved
its first, local state there), and API Gateway's account-wide CloudWatch logging role, which the environments' stages
log through. `make bootstrap` (synth/bootstrap.py) deploys it; see README, "A new account".
"""

from __future__ import annotations

from pathlib import Path

from cdktf import TerraformStack
from constructs import Construct

from config.naming import ACCOUNT, PROJECT
from config.settings import AccountSettings
from modules.account import ApiGatewayLogging
from modules.state_bucket import StateBucket
from stacks.base import outputs, pinned_provider, state_backend


class AccountStack(TerraformStack):
    def __init__(
        self,
        scope: Construct,
        settings: AccountSettings,
        *,
        backend: str = "s3",
        local_state_dir: Path | None = None,
    ) -> None:
        names = settings.names
        super().__init__(scope, names.stack)
        self.settings = settings
        pinned_provider(  # never bootstrap, or change, another account
            self,
            region=settings.region,
            account_id=settings.account_id,
            tags={"Project": PROJECT, "Environment": ACCOUNT, "ManagedBy": "cdktf"},
        )
        self._backend(backend, local_state_dir)

        state = StateBucket(self, "state", settings=settings)
        logging = ApiGatewayLogging(self, "apigateway-logging", settings=settings)

        outputs(
            self,
            {
                "state_bucket": (state.bucket_name, "S3 bucket holding every stack's Terraform state"),
                "state_kms_key_arn": (state.key_arn, "KMS key encrypting the state objects"),
                "state_kms_alias_arn": (state.alias_arn, "Its alias ARN: every S3 backend's kms_key_id"),
                "apigateway_cloudwatch_role_arn": (logging.role_arn, "Role API Gateway writes CloudWatch logs with"),
            },
        )

    def _backend(self, kind: str, local_state_dir: Path | None) -> None:
        # In the bucket this stack creates, under the key it creates; never TF_STATE_BUCKET/TF_STATE_REGION. Local for
        # the first apply of `make bootstrap`: the bucket does not exist yet.
        settings = self.settings
        state_backend(
            self,
            kind,
            local_state_dir,
            key=settings.names.state_key,
            bucket=settings.bucket,
            region=settings.region,
            kms_key_id=settings.state_key_alias_arn,
        )
