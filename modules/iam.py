"""IAM as the modules use it: statements, policy documents, and roles that gather statements from the modules
owning the resources they reach.

Policies stay `DataAwsIamPolicyDocument` data sources (checkov cannot read policies written as JSON strings)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import jsii
from cdktf import TerraformResource
from cdktf_cdktf_provider_aws.data_aws_iam_policy_document import (
    DataAwsIamPolicyDocument,
    DataAwsIamPolicyDocumentStatement,
    DataAwsIamPolicyDocumentStatementCondition,
    DataAwsIamPolicyDocumentStatementPrincipals,
)
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from cdktf_cdktf_provider_aws.iam_role_policy_attachment import IamRolePolicyAttachment
from constructs import Construct, IValidation

from modules.context import StackContext

Condition = tuple[str, str, Sequence[str]]  # (test, variable, values)


@dataclass(frozen=True)
class Statement:
    actions: Sequence[str]
    resources: Sequence[str] = ("*",)
    principals: Mapping[str, Sequence[str]] = field(default_factory=dict)
    conditions: Sequence[Condition] = ()
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
            ]
            or None,
            condition=[
                DataAwsIamPolicyDocumentStatementCondition(test=test, variable=variable, values=list(values))
                for test, variable, values in self.conditions
            ]
            or None,
        )


def source_conditions(account_id: str, source_arn: str) -> list[Condition]:
    """A service role's cross-service confused-deputy conditions: the service may assume the role only on behalf of
    a resource of `account_id` that matches `source_arn` (an ARN or an ARN pattern). Only for services that document
    them: a service that sends no `aws:SourceArn` fails a positive condition on it, and cannot assume the role."""
    return [
        ("StringEquals", "aws:SourceAccount", [account_id]),
        ("ArnLike", "aws:SourceArn", [source_arn]),
    ]


def policy_document(scope: Construct, id_: str, statements: Sequence[Statement] = ()) -> DataAwsIamPolicyDocument:
    document = DataAwsIamPolicyDocument(scope, id_)
    render(document, statements)
    return document


def render(document: DataAwsIamPolicyDocument, statements: Sequence[Statement]) -> None:
    """(Re)write a document's statements: resource policies grow as grants arrive, before synthesis."""
    if statements:
        document.put_statement([statement.render() for statement in statements])


def account_administers_key(ctx: StackContext) -> Statement:
    """The key-policy statement without which a KMS key would be unmanageable by the account's administrators."""
    return Statement(
        sid="AccountAdministers",
        actions=["kms:*"],
        resources=["*"],
        principals={"AWS": [ctx.arn("iam", "root", regional=False)]},
    )


@jsii.implements(IValidation)
class _Required:
    """Fails the synth with `message` while `ready()` is false (a document no grant ever filled)."""

    def __init__(self, ready: Callable[[], bool], message: str) -> None:
        self._ready, self._message = ready, message

    def validate(self) -> list[str]:
        return [] if self._ready() else [self._message]


def require(scope: Construct, ready: Callable[[], bool], message: str) -> None:
    scope.node.add_validation(_Required(ready, message))


Address = tuple[Construct, str]  # (scope, construct id): together they are the Terraform address


@dataclass(frozen=True)
class Placement:
    """Where the parts of a role live in the construct tree, beside the role itself. A construct's path is its
    Terraform address, so a role keeps the placement it was first deployed with (ARCHITECTURE.md, "Addresses")."""

    trust: Address
    policy_document: Address
    policy: Address
    attachments: Address  # prefix: `<id>-<index>` per managed policy

    @classmethod
    def beside(cls, scope: Construct, id_: str) -> Placement:
        """`<id>-trust`, `<id>`, `<id>-policy-doc`, `<id>-policy`, `<id>-managed-<n>`, all in `scope`."""
        return cls(
            trust=(scope, f"{id_}-trust"),
            policy_document=(scope, f"{id_}-policy-doc"),
            policy=(scope, f"{id_}-policy"),
            attachments=(scope, f"{id_}-managed"),
        )


class Role:
    """An IAM role that one AWS service assumes. The modules that own the resources it reaches add the statements
    (`database.grant_connect(role)`); they are rendered into the role's one inline policy, in the order added.

    The role is `id_` in `scope`; its other parts go `Placement.beside` it unless `placement` says otherwise.
    `inline_policy=False` for roles that only carry AWS managed policies."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        name: str,
        service: str,
        trust_conditions: Sequence[Condition] = (),
        managed_policies: Sequence[str] = (),
        inline_policy: bool = True,
        placement: Placement | None = None,
    ) -> None:
        where = placement or Placement.beside(scope, id_)
        trust = policy_document(
            *where.trust,
            [
                Statement(
                    actions=["sts:AssumeRole"],
                    resources=(),
                    principals={"Service": [service]},
                    conditions=trust_conditions,
                )
            ],
        )
        self.name = name
        self.resource = IamRole(scope, id_, name=name, assume_role_policy=trust.json)
        self.arn: str = self.resource.arn
        self._statements: list[Statement] = []
        self._document: DataAwsIamPolicyDocument | None = None
        self._policy: IamRolePolicy | None = None
        if inline_policy:
            self._document = policy_document(*where.policy_document)
            self._policy = IamRolePolicy(
                *where.policy, name=f"{name}-policy", role=self.resource.id, policy=self._document.json
            )
            require(self.resource, lambda: bool(self._statements), f"role {name}: inline policy without statements")
        attachments_scope, prefix = where.attachments
        self._attachments = [
            IamRolePolicyAttachment(attachments_scope, f"{prefix}-{index}", role=self.resource.name, policy_arn=arn)
            for index, arn in enumerate(managed_policies)
        ]

    def add(self, *statements: Statement) -> None:
        if self._document is None:
            raise ValueError(f"role {self.name} has no inline policy (inline_policy=False)")
        self._statements.extend(statements)
        render(self._document, self._statements)

    @property
    def ready(self) -> list[TerraformResource]:
        """What a resource that uses the role at creation time must depend on: IAM attaches policies after the role
        exists, and a service that checks the role's permissions at once fails on the first apply."""
        return [*([self._policy] if self._policy else []), *self._attachments]

    @property
    def policy(self) -> IamRolePolicy:
        """The inline policy: what a resource that uses the role at creation time must depend on."""
        if self._policy is None:
            raise ValueError(f"role {self.name} has no inline policy (inline_policy=False)")
        return self._policy
