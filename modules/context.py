"""What every module of one environment shares: one object instead of names, account, retention and protection
threaded through each constructor."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from cdktf import TerraformResource
from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from constructs import Construct

from config.naming import Names

if TYPE_CHECKING:
    from modules.keys import DataKey


@dataclass(frozen=True)
class StackContext:
    names: Names
    account_id: str  # a token (aws_caller_identity): the account the provider runs in
    partition: str  # a token (aws_partition)
    region: str
    log_retention_days: int
    protected: bool  # prevent_destroy on stateful resources (prod)
    key: DataKey | None = None  # the environment's customer-managed key (security.customer_managed_key)

    def with_key(self, key: DataKey) -> StackContext:
        return replace(self, key=key)

    @property
    def environment(self) -> str:
        return self.names.suffix

    def arn(self, service: str, resource: str, *, regional: bool = True) -> str:
        """An ARN no resource attribute provides (a pattern, or a resource that does not exist yet)."""
        region = self.region if regional else ""
        return f"arn:{self.partition}:{service}:{region}:{self.account_id}:{resource}"

    def managed_policy(self, name: str) -> str:
        return f"arn:{self.partition}:iam::aws:policy/{name}"

    def encryption_key(self, service: str) -> str | None:
        """The customer-managed key's ARN for a resource of `service`; None: the service's AWS-managed key."""
        return self.key.for_service(service) if self.key else None

    def log_group(self, scope: Construct, id_: str, *, name: str) -> CloudwatchLogGroup:
        """A log group with the environment's retention, under the environment's key; it goes away with the stack."""
        return CloudwatchLogGroup(
            scope,
            id_,
            name=name,
            retention_in_days=self.log_retention_days,
            kms_key_id=self.key.for_log_group(name) if self.key else None,
            # CloudWatch Logs checks the key policy when the group is created.
            depends_on=[self.key.policy] if self.key else None,
        )

    def protect(self, resource: TerraformResource) -> None:
        """prevent_destroy on a stateful resource (prod): `destroy` is refused before anything is deleted."""
        if self.protected:
            resource.add_override("lifecycle.prevent_destroy", True)


def log_streams_arn(group: CloudwatchLogGroup) -> str:
    """Terraform's log group `arn` lacks CloudFormation's trailing `:*`; stream-level grants need it."""
    return f"{group.arn}:*"
