"""The environment's customer-managed KMS key for data at rest: every log group, EFS, Redis, RDS storage and
Performance Insights, the Step Functions state machine and the Lambda environment (SNS/SQS and secrets keep
their own keys).

The key policy is scoped, not `kms:*` for the account: the account administers the key but uses it only through
the services registered here (`kms:ViaService`), and CloudWatch Logs may use it only for the log groups registered
here (`kms:EncryptionContext:aws:logs:arn`). Consumers never build the key's policy: they ask for the key
(`for_log_group`, `for_service`) and get its ARN."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cdktf_cdktf_provider_aws.kms_alias import KmsAlias
from cdktf_cdktf_provider_aws.kms_key import KmsKey
from cdktf_cdktf_provider_aws.kms_key_policy import KmsKeyPolicy
from constructs import Construct

from modules.iam import Condition, Role, Statement, policy_document, render

if TYPE_CHECKING:
    from modules.context import StackContext

# What the account's administrators may do with the key: everything but use it (Encrypt, Decrypt, GenerateDataKey*,
# ReEncrypt*) and hand out grants, which only the services registered below do.
ADMINISTER = [
    "kms:CreateAlias",
    "kms:DeleteAlias",
    "kms:UpdateAlias",
    "kms:Describe*",
    "kms:Get*",
    "kms:List*",
    "kms:Put*",
    "kms:Update*",
    "kms:Enable*",
    "kms:Disable*",
    "kms:Revoke*",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:ScheduleKeyDeletion",
    "kms:CancelKeyDeletion",
    "kms:RotateKeyOnDemand",
]
# What a service does with the key on behalf of a caller in the account (RDS, ElastiCache and EFS create grants).
USE = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:CreateGrant", "kms:DescribeKey"]
LOGS_USE = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]


class DataKey(Construct):
    """One customer-managed key; its policy grows as modules register what uses it (rendered before synthesis)."""

    def __init__(self, scope: Construct, id_: str, *, ctx: StackContext) -> None:
        super().__init__(scope, id_)
        self._ctx = ctx
        names = ctx.names
        key = KmsKey(
            self,
            "key",
            description=f"Logs, EFS, Redis, RDS, Step Functions and Lambda data of {names.stack}",
            enable_key_rotation=True,
            deletion_window_in_days=30,
        )
        ctx.protect(key)
        KmsAlias(self, "alias", name=f"alias/{names('data')}", target_key_id=key.key_id)
        self._document = policy_document(self, "policy-doc")
        # Its own resource, so the key's ARN is known before its policy names the log groups that use it.
        self.policy = KmsKeyPolicy(self, "policy", key_id=key.key_id, policy=self._document.json)
        self.arn: str = key.arn
        self._services: list[str] = []
        self._log_groups: list[str] = []
        self._roles: list[Statement] = []
        self._log_delivery = False
        self._render()

    def for_service(self, service: str) -> str:
        """The key's ARN for a resource of `service` (`rds`, `elasticache`, ...): callers in the account may use it
        through that service only."""
        endpoint = f"{service}.{self._ctx.region}.amazonaws.com"
        if endpoint not in self._services:
            self._services.append(endpoint)
            self._render()
        return self.arn

    def for_log_group(self, name: str) -> str:
        """The key's ARN for the log group `name`: CloudWatch Logs may use it for that group only. The group must
        depend on `policy` (CloudWatch Logs checks the key policy when the group is created)."""
        self._log_groups.append(self._ctx.arn("logs", f"log-group:{name}"))
        self._render()
        return self.arn

    def grant(self, role: Role, sid: str, actions: list[str], context: Condition) -> None:
        """`role` may use the key for one encryption context: a statement in the role's policy and the same one for
        the role in the key policy. Not through `kms:ViaService`: Step Functions calls KMS with its role's credentials
        in ways that condition does not match (AWS: it can stop executions from starting)."""
        role.add(Statement(sid=sid, actions=actions, resources=[self.arn], conditions=[context]))
        self._roles.append(
            Statement(
                sid=f"{sid}Role{len(self._roles) + 1}",
                actions=actions,
                principals={"AWS": [role.arn]},
                conditions=[context],
            )
        )
        self._render()

    def allow_log_delivery(self) -> None:
        """CloudWatch Logs' delivery service decrypts what Step Functions logs with execution data (AWS's documented
        statement for a state machine under a customer-managed key)."""
        self._log_delivery = True
        self._render()

    def _render(self) -> None:
        ctx = self._ctx
        account = ctx.arn("iam", "root", regional=False)
        statements = [Statement(sid="AccountAdministers", actions=ADMINISTER, principals={"AWS": [account]})]
        if self._services:
            statements.append(
                Statement(
                    sid="UseThroughServices",
                    actions=USE,
                    principals={"AWS": [account]},
                    conditions=[
                        ("StringEquals", "kms:ViaService", self._services),
                        ("StringEquals", "kms:CallerAccount", [ctx.account_id]),
                    ],
                )
            )
        if self._log_groups:
            statements.append(
                Statement(
                    sid="CloudWatchLogsForTheseGroups",
                    actions=LOGS_USE,
                    principals={"Service": [f"logs.{ctx.region}.amazonaws.com"]},
                    conditions=[("ArnEquals", "kms:EncryptionContext:aws:logs:arn", self._log_groups)],
                )
            )
        statements += self._roles
        if self._log_delivery:
            statements.append(
                Statement(
                    sid="LogDeliveryDecrypts",
                    actions=["kms:Decrypt"],
                    principals={"Service": ["delivery.logs.amazonaws.com"]},
                )
            )
        render(self._document, statements)
