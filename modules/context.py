"""What every module of one environment shares: one object instead of names, account, retention and protection
threaded through each constructor."""

from __future__ import annotations

from dataclasses import dataclass

from cdktf import TerraformResource
from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from constructs import Construct

from config.naming import Names


@dataclass(frozen=True)
class StackContext:
    names: Names
    account_id: str  # a token (aws_caller_identity): the account the provider runs in
    partition: str  # a token (aws_partition)
    region: str
    log_retention_days: int
    protected: bool  # prevent_destroy on stateful resources (prod)

    @property
    def environment(self) -> str:
        return self.names.suffix

    def arn(self, service: str, resource: str, *, regional: bool = True) -> str:
        """An ARN no resource attribute provides (a pattern, or a resource that does not exist yet)."""
        region = self.region if regional else ""
        return f"arn:{self.partition}:{service}:{region}:{self.account_id}:{resource}"

    def managed_policy(self, name: str) -> str:
        return f"arn:{self.partition}:iam::aws:policy/{name}"

    def log_group(self, scope: Construct, id_: str, *, name: str) -> CloudwatchLogGroup:
        """A log group with the environment's retention; it goes away with the stack."""
        return CloudwatchLogGroup(scope, id_, name=name, retention_in_days=self.log_retention_days)

    def protect(self, resource: TerraformResource) -> None:
        """prevent_destroy on a stateful resource (prod): `destroy` is refused before anything is deleted."""
        if self.protected:
            resource.add_override("lifecycle.prevent_destroy", True)


def log_streams_arn(group: CloudwatchLogGroup) -> str:
    """Terraform's log group `arn` lacks CloudFormation's trailing `:*`; stream-level grants need it."""
    return f"{group.arn}:*"
