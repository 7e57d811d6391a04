"""SNS topics for completion and error notices, encrypted with a customer-managed key, publishable only by the
roles granted `grant_publish`; optional e-mail subscribers with an encrypted dead-letter queue."""

from __future__ import annotations

import json

from cdktf_cdktf_provider_aws.kms_alias import KmsAlias
from cdktf_cdktf_provider_aws.kms_key import KmsKey
from cdktf_cdktf_provider_aws.kms_key_policy import KmsKeyPolicy
from cdktf_cdktf_provider_aws.sns_topic import SnsTopic
from cdktf_cdktf_provider_aws.sns_topic_policy import SnsTopicPolicy
from cdktf_cdktf_provider_aws.sns_topic_subscription import SnsTopicSubscription
from cdktf_cdktf_provider_aws.sqs_queue import SqsQueue
from cdktf_cdktf_provider_aws.sqs_queue_policy import SqsQueuePolicy
from constructs import Construct

from config.settings import NotificationSettings
from modules.context import StackContext
from modules.iam import Role, Statement, account_administers_key, policy_document, render, require

# topic key -> (name base, display name)
TOPICS = {
    "completion": ("video-processing-completion", "Video processing completed"),
    "error": ("video-processing-error", "Video processing failed"),
}
ENCRYPT = ["kms:GenerateDataKey*", "kms:Decrypt"]


class Notifications(Construct):
    def __init__(self, scope: Construct, id_: str, *, ctx: StackContext, settings: NotificationSettings) -> None:
        super().__init__(scope, id_)
        names = ctx.names
        self._ctx = ctx
        self._publishers: list[str] = []
        key = KmsKey(
            self,
            "kms",
            description=f"SNS topics and DLQ of {names.stack}",
            enable_key_rotation=True,
            deletion_window_in_days=30,
        )
        KmsAlias(self, "kms-alias", name=f"alias/{names('notifications')}", target_key_id=key.key_id)
        self._key_policy = policy_document(self, "kms-policy")
        KmsKeyPolicy(self, "kms-key-policy", key_id=key.key_id, policy=self._key_policy.json)

        self._topics: dict[str, SnsTopic] = {}
        self._topic_policies = {}
        for topic_key, (base, display_name) in TOPICS.items():
            topic = SnsTopic(self, topic_key, name=names(base), display_name=display_name, kms_master_key_id=key.arn)
            self._topic_policies[topic_key] = document = policy_document(self, f"{topic_key}-policy-doc")
            SnsTopicPolicy(self, f"{topic_key}-policy", arn=topic.arn, policy=document.json)
            self._topics[topic_key] = topic
        self._render_policies()
        require(self, lambda: bool(self._publishers), f"{self.node.path}: no role may publish (grant_publish)")

        self.dead_letter_queue_arn: str | None = None
        if settings.email_subscriptions:
            dlq = SqsQueue(self, "dlq", name=names.dlq, kms_master_key_id=key.arn, message_retention_seconds=1209600)
            from_topics = policy_document(
                self,
                "dlq-policy-doc",
                [
                    Statement(
                        sid="SnsDeadLetters",
                        actions=["sqs:SendMessage"],
                        resources=[dlq.arn],
                        principals={"Service": ["sns.amazonaws.com"]},
                        conditions=[("ArnEquals", "aws:SourceArn", [t.arn for t in self._topics.values()])],
                    )
                ],
            )
            SqsQueuePolicy(self, "dlq-policy", queue_url=dlq.url, policy=from_topics.json)
            for topic_key, topic in self._topics.items():
                for index, email in enumerate(settings.email_subscriptions):
                    SnsTopicSubscription(
                        self,
                        f"{topic_key}-email-{index + 1}",
                        topic_arn=topic.arn,
                        protocol="email",
                        endpoint=email,
                        redrive_policy=json.dumps({"deadLetterTargetArn": dlq.arn}),
                    )
            self.dead_letter_queue_arn = dlq.arn
        self._key_arn: str = key.arn
        self.completion_topic_arn: str = self._topics["completion"].arn
        self.error_topic_arn: str = self._topics["error"].arn

    def grant_publish(self, role: Role) -> None:
        """Publish to both topics: the role's policy, and the topics' and key's resource policies, which deny
        every other publisher."""
        role.add(
            Statement(sid="Notify", actions=["sns:Publish"], resources=[t.arn for t in self._topics.values()]),
            Statement(sid="EncryptNotifications", actions=ENCRYPT, resources=[self._key_arn]),
        )
        self._publishers.append(role.arn)
        self._render_policies()

    def _render_policies(self) -> None:
        publishers = {"AWS": list(self._publishers)}
        # Sids as first deployed, when the workflow was the only publisher.
        render(
            self._key_policy,
            [
                account_administers_key(self._ctx),
                *(
                    [Statement(sid="WorkflowPublishes", actions=ENCRYPT, resources=["*"], principals=publishers)]
                    if self._publishers
                    else []
                ),
                # SNS itself encrypts what it moves to the dead-letter queue.
                Statement(
                    sid="SnsUsesKey",
                    actions=ENCRYPT,
                    resources=["*"],
                    principals={"Service": ["sns.amazonaws.com"]},
                    conditions=[("StringEquals", "aws:SourceAccount", [self._ctx.account_id])],
                ),
            ],
        )
        if not self._publishers:
            return
        for topic_key, topic in self._topics.items():
            render(
                self._topic_policies[topic_key],
                [
                    Statement(
                        sid="WorkflowPublishes", actions=["sns:Publish"], resources=[topic.arn], principals=publishers
                    ),
                    Statement(
                        sid="NobodyElsePublishes",
                        effect="Deny",
                        actions=["sns:Publish"],
                        resources=[topic.arn],
                        principals={"AWS": ["*"]},
                        conditions=[("ArnNotEquals", "aws:PrincipalArn", list(self._publishers))],
                    ),
                ],
            )
