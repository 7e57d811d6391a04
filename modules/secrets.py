"""Secrets Manager: the seed's API-key secret, and the optional KMS key for every secret of the stack."""
from __future__ import annotations

from dataclasses import dataclass

from cdktf_cdktf_provider_aws.kms_alias import KmsAlias
from cdktf_cdktf_provider_aws.kms_key import KmsKey
from cdktf_cdktf_provider_aws.secretsmanager_secret import SecretsmanagerSecret
from constructs import Construct

from config.naming import Names
from config.settings import SecretsSettings
from modules.common import AwsContext, account_administers_key, policy_document


@dataclass(frozen=True)
class SecretsOutputs:
    api_secret_arn: str
    api_secret_id: str
    kms_key_arn: str | None  # None: secrets use the AWS-managed aws/secretsmanager key


class Secrets(Construct):
    def __init__(self, scope: Construct, id_: str, *, names: Names, settings: SecretsSettings, context: AwsContext) -> None:
        super().__init__(scope, id_)
        key = None
        if settings.kms_encryption:
            # Administered by the account; Secrets Manager uses it on behalf of callers whose IAM policy allows it.
            admin = policy_document(self, "kms-policy", [account_administers_key(context)])
            key = KmsKey(self, "kms", description=f"Secrets of {names.stack}", enable_key_rotation=True,
                         deletion_window_in_days=30, policy=admin.json)
            KmsAlias(self, "kms-alias", name=f"alias/{names('secrets')}", target_key_id=key.key_id)
        # Its value is the API key's, written by the API module; the seed generated an unrelated one.
        api_secret = SecretsmanagerSecret(
            self, "api-secret", name=names.api_secret, description="API Gateway API key for the video API",
            # 0 days outside prod: dev can be destroyed and recreated with the same name at once.
            recovery_window_in_days=settings.recovery_window_days,
            kms_key_id=key.arn if key else None,
        )
        self.outputs = SecretsOutputs(api_secret_arn=api_secret.arn, api_secret_id=api_secret.id,
                                      kms_key_arn=key.arn if key else None)
