"""Small builders shared by the modules: IAM policy documents, roles and log groups."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktf_cdktf_provider_aws.data_aws_iam_policy_document import (
    DataAwsIamPolicyDocument,
    DataAwsIamPolicyDocumentStatement,
    DataAwsIamPolicyDocumentStatementCondition,
    DataAwsIamPolicyDocumentStatementPrincipals,
)
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from cdktf_cdktf_provider_aws.iam_role_policy_attachment import IamRolePolicyAttachment
from cdktf import TerraformResource
from constructs import Construct


@dataclass(frozen=True)
class AwsContext:
    """Account, partition and region for ARNs that no resource attribute provides."""

    account_id: str
    partition: str
    region: str

    def arn(self, service: str, resource: str, *, regional: bool = True) -> str:
        region = self.region if regional else ""
        return f"arn:{self.partition}:{service}:{region}:{self.account_id}:{resource}"

    def managed_policy(self, name: str) -> str:
        return f"arn:{self.partition}:iam::aws:policy/{name}"


@dataclass(frozen=True)
class Statement:
    """One IAM statement; `conditions` are (test, variable, values) triples."""

    actions: Sequence[str]
    resources: Sequence[str] = ("*",)
    principals: dict[str, Sequence[str]] = field(default_factory=dict)
    conditions: Sequence[tuple[str, str, Sequence[str]]] = ()
    effect: str = "Allow"
    sid: str | None = None

    def render(self) -> DataAwsIamPolicyDocumentStatement:
        return DataAwsIamPolicyDocumentStatement(
            sid=self.sid,
            effect=self.effect,
            actions=list(self.actions),
            resources=list(self.resources) if self.resources else None,
            principals=[
                DataAwsIamPolicyDocumentStatementPrincipals(type=kind, identifiers=list(ids))
                for kind, ids in self.principals.items()
            ] or None,
            condition=[
                DataAwsIamPolicyDocumentStatementCondition(test=test, variable=variable, values=list(values))
                for test, variable, values in self.conditions
            ] or None,
        )


def account_administers_key(context: AwsContext) -> Statement:
    """The key-policy statement without which a KMS key would be unmanageable by the account's administrators."""
    return Statement(sid="AccountAdministers", actions=["kms:*"], resources=["*"],
                     principals={"AWS": [context.arn("iam", "root", regional=False)]})


def policy_document(scope: Construct, id_: str, statements: Sequence[Statement]) -> DataAwsIamPolicyDocument:
    return DataAwsIamPolicyDocument(scope, id_, statement=[s.render() for s in statements])


def service_role(
    scope: Construct,
    id_: str,
    *,
    name: str,
    service: str,
    statements: Sequence[Statement] = (),
    managed_policy_arns: Sequence[str] = (),
    trust_conditions: Sequence[tuple[str, str, Sequence[str]]] = (),
) -> tuple[IamRole, IamRolePolicy | None]:
    """A role that `service` may assume, with an inline least-privilege policy."""
    trust = policy_document(scope, f"{id_}-trust", [
        Statement(actions=["sts:AssumeRole"], resources=(), principals={"Service": [service]}, conditions=trust_conditions)
    ])
    role = IamRole(scope, id_, name=name, assume_role_policy=trust.json)
    policy = None
    if statements:
        document = policy_document(scope, f"{id_}-policy-doc", statements)
        policy = IamRolePolicy(scope, f"{id_}-policy", name=f"{name}-policy", role=role.id, policy=document.json)
    for index, arn in enumerate(managed_policy_arns):
        IamRolePolicyAttachment(scope, f"{id_}-managed-{index}", role=role.name, policy_arn=arn)
    return role, policy


def log_group(scope: Construct, id_: str, *, name: str, retention_days: int, kms_key_id: str | None = None) -> CloudwatchLogGroup:
    return CloudwatchLogGroup(scope, id_, name=name, retention_in_days=retention_days, kms_key_id=kms_key_id)


def protect(resource: TerraformResource, enabled: bool) -> None:
    """prevent_destroy on a stateful resource (prod): `destroy` is refused before anything is deleted."""
    if enabled:
        resource.add_override("lifecycle.prevent_destroy", True)


def log_streams_arn(group: CloudwatchLogGroup) -> str:
    """Terraform's log group `arn` lacks CloudFormation's trailing `:*`; stream-level grants need it."""
    return f"{group.arn}:*"
