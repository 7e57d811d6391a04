"""Secrets Manager: the seed's API-key secret, and the optional KMS key for every secret of the stack."""

from __future__ import annotations

from cdktf_cdktf_provider_aws.kms_alias import KmsAlias
from cdktf_cdktf_provider_aws.kms_key import KmsKey
from cdktf_cdktf_provider_aws.secretsmanager_secret import SecretsmanagerSecret
from cdktf_cdktf_provider_aws.secretsmanager_secret_version import SecretsmanagerSecretVersion
from constructs import Construct

from config.settings import SecretsSettings
from modules.context import StackContext
from modules.iam import account_administers_key, policy_document


class Secrets(Construct):
    def __init__(self, scope: Construct, id_: str, *, ctx: StackContext, settings: SecretsSettings) -> None:
        super().__init__(scope, id_)
        names = ctx.names
        key = None
        if settings.kms_encryption:
            # Administered by the account; Secrets Manager uses it on behalf of callers whose IAM policy allows it.
            admin = policy_document(self, "kms-policy", [account_administers_key(ctx)])
            key = KmsKey(
                self,
                "kms",
                description=f"Secrets of {names.stack}",
                enable_key_rotation=True,
                deletion_window_in_days=30,
                policy=admin.json,
            )
            KmsAlias(self, "kms-alias", name=f"alias/{names('secrets')}", target_key_id=key.key_id)
        self._api_secret = SecretsmanagerSecret(
            self,
            "api-secret",
            name=names.api_secret,
            description="API Gateway API key for the video API",
            # 0 days outside prod: dev can be destroyed and recreated with the same name at once.
            recovery_window_in_days=settings.recovery_window_days,
            kms_key_id=key.arn if key else None,
        )
        self.api_secret_arn: str = self._api_secret.arn
        # None: secrets use the AWS-managed aws/secretsmanager key.
        self.kms_key_arn: str | None = key.arn if key else None

    def store_api_key(self, scope: Construct, id_: str, *, value: str, version: int) -> None:
        """Keep the API key's value in the API-key secret (the seed generated an unrelated one). The caller's
        scope and id are the version's address: it was first deployed under the API.

        Write-only (`secret_string_wo`, Terraform >= 1.11): the value goes to Secrets Manager but never into the
        state or the plan, so the state holds the key once (the API key's own `value`). Terraform cannot see a
        write-only value change: a new `version` writes the value again (a new secret version; the old one
        becomes AWSPREVIOUS)."""
        SecretsmanagerSecretVersion(
            scope,
            id_,
            secret_id=self._api_secret.id,
            secret_string_wo=value,
            secret_string_wo_version=version,
        )
