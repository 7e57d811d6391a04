"""The S3 bucket every stack keeps its Terraform state in, and the customer-managed KMS key that encrypts it.

Secure by default: versioned (a bad apply can be rolled back to an earlier state version), SSE-KMS under the key with
an S3 Bucket Key, no public access, ACLs disabled (`BucketOwnerEnforced`), TLS only, no principal of another account,
replaced versions expire after `noncurrent_version_days`, and Terraform refuses to destroy the bucket or the key.
"""

from __future__ import annotations

from cdktf import TerraformResource
from cdktf_cdktf_provider_aws.kms_alias import KmsAlias
from cdktf_cdktf_provider_aws.kms_key import KmsKey
from cdktf_cdktf_provider_aws.s3_bucket import S3Bucket
from cdktf_cdktf_provider_aws.s3_bucket_lifecycle_configuration import (
    S3BucketLifecycleConfiguration,
    S3BucketLifecycleConfigurationRule,
    S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload,
    S3BucketLifecycleConfigurationRuleFilter,
    S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration,
)
from cdktf_cdktf_provider_aws.s3_bucket_ownership_controls import (
    S3BucketOwnershipControls,
    S3BucketOwnershipControlsRule,
)
from cdktf_cdktf_provider_aws.s3_bucket_policy import S3BucketPolicy
from cdktf_cdktf_provider_aws.s3_bucket_public_access_block import S3BucketPublicAccessBlock
from cdktf_cdktf_provider_aws.s3_bucket_server_side_encryption_configuration import (
    S3BucketServerSideEncryptionConfigurationA,
    S3BucketServerSideEncryptionConfigurationRuleA,
    S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA,
)
from cdktf_cdktf_provider_aws.s3_bucket_versioning import (
    S3BucketVersioningA,
    S3BucketVersioningVersioningConfiguration,
)
from constructs import Construct

from config.naming import STATE_KEY_ALIAS
from config.settings import AccountSettings
from modules.iam import Statement, policy_document

ABORT_INCOMPLETE_UPLOADS_DAYS = 7


def _protect(resource: TerraformResource) -> None:
    """Every environment's state depends on these two: `terraform destroy` of the account stack is refused."""
    resource.add_override("lifecycle.prevent_destroy", True)


class StateBucket(Construct):
    def __init__(self, scope: Construct, id_: str, *, settings: AccountSettings) -> None:
        super().__init__(scope, id_)
        account_root = f"arn:{settings.partition}:iam::{settings.account_id}:root"

        key_policy = policy_document(
            self,
            "key-policy",
            [
                # Without it the key would be unmanageable; IAM policies of the account then decide who may use it.
                Statement(
                    sid="AccountAdministers", actions=["kms:*"], resources=["*"], principals={"AWS": [account_root]}
                )
            ],
        )
        key = KmsKey(
            self,
            "key",
            description=f"Terraform state of every video-pipeline stack in {settings.bucket}",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=key_policy.json,
        )
        _protect(key)
        alias = KmsAlias(self, "key-alias", name=STATE_KEY_ALIAS, target_key_id=key.key_id)

        bucket = S3Bucket(self, "bucket", bucket=settings.bucket)
        _protect(bucket)
        versioning = S3BucketVersioningA(
            self,
            "versioning",
            bucket=bucket.id,
            versioning_configuration=S3BucketVersioningVersioningConfiguration(status="Enabled"),
        )
        S3BucketServerSideEncryptionConfigurationA(
            self,
            "encryption",
            bucket=bucket.id,
            rule=[
                S3BucketServerSideEncryptionConfigurationRuleA(
                    apply_server_side_encryption_by_default=S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA(
                        sse_algorithm="aws:kms", kms_master_key_id=key.arn
                    ),
                    bucket_key_enabled=True,  # one data key per bucket and period: far fewer KMS calls
                )
            ],
        )
        public_access = S3BucketPublicAccessBlock(
            self,
            "public-access-block",
            bucket=bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
        )
        S3BucketOwnershipControls(
            self,
            "ownership",
            bucket=bucket.id,
            rule=S3BucketOwnershipControlsRule(object_ownership="BucketOwnerEnforced"),
        )
        every_object = [bucket.arn, f"{bucket.arn}/*"]
        policy = policy_document(
            self,
            "policy-doc",
            [
                Statement(
                    sid="DenyInsecureTransport",
                    effect="Deny",
                    actions=["s3:*"],
                    resources=every_object,
                    principals={"*": ["*"]},
                    conditions=[("Bool", "aws:SecureTransport", ["false"])],
                ),
                # Requests signed by any principal of this account carry aws:PrincipalAccount = the account and
                # pass; anonymous requests and other accounts' principals (even with a grant in some other policy)
                # are refused.
                Statement(
                    sid="DenyOtherAccounts",
                    effect="Deny",
                    actions=["s3:*"],
                    resources=every_object,
                    principals={"*": ["*"]},
                    conditions=[("StringNotEquals", "aws:PrincipalAccount", [settings.account_id])],
                ),
            ],
        )
        # After the public access block: S3 refuses a policy while a concurrent block update is in flight.
        S3BucketPolicy(self, "policy", bucket=bucket.id, policy=policy.json, depends_on=[public_access])
        S3BucketLifecycleConfiguration(
            self,
            "lifecycle",
            bucket=bucket.id,
            rule=[
                S3BucketLifecycleConfigurationRule(
                    id="expire-replaced-state-versions",
                    status="Enabled",
                    filter=[S3BucketLifecycleConfigurationRuleFilter(prefix="")],  # every object
                    noncurrent_version_expiration=[
                        S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration(
                            noncurrent_days=settings.noncurrent_version_days
                        )
                    ],
                ),
                S3BucketLifecycleConfigurationRule(
                    id="abort-incomplete-multipart-uploads",
                    status="Enabled",
                    filter=[S3BucketLifecycleConfigurationRuleFilter(prefix="")],
                    abort_incomplete_multipart_upload=[
                        S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload(
                            days_after_initiation=ABORT_INCOMPLETE_UPLOADS_DAYS
                        )
                    ],
                ),
            ],
            # Noncurrent-version rules on a bucket whose versioning is not yet on are accepted but idle.
            depends_on=[versioning],
        )

        self.bucket_name: str = bucket.bucket
        self.bucket_arn: str = bucket.arn
        self.key_arn: str = key.arn
        self.alias_arn: str = alias.arn
        self.alias_name: str = alias.name
