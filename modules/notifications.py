"""SNS topics for completion and error notices, encrypted with a customer-managed key, publishable
only by the workflow's role; optional e-mail subscribers with an encrypted dead-letter queue."""
from __future__ import annotations

import json
from dataclasses import dataclass

from cdktf_cdktf_provider_aws.kms_alias import KmsAlias
from cdktf_cdktf_provider_aws.kms_key import KmsKey
from cdktf_cdktf_provider_aws.kms_key_policy import KmsKeyPolicy
from cdktf_cdktf_provider_aws.sns_topic import SnsTopic
from cdktf_cdktf_provider_aws.sns_topic_policy import SnsTopicPolicy
from cdktf_cdktf_provider_aws.sns_topic_subscription import SnsTopicSubscription
from cdktf_cdktf_provider_aws.sqs_queue import SqsQueue
from cdktf_cdktf_provider_aws.sqs_queue_policy import SqsQueuePolicy
from constructs import Construct

from config.naming import Names
from config.settings import NotificationSettings
from modules.common import AwsContext, Statement, account_administers_key, policy_document

# topic key -> (name base, display name)
TOPICS = {
    "completion": ("video-processing-completion", "Video processing completed"),
    "error": ("video-processing-error", "Video processing failed"),
}


@dataclass(frozen=True)
class NotificationOutputs:
    completion_topic_arn: str
    error_topic_arn: str
    kms_key_arn: str
    dead_letter_queue_arn: str | None


class Notifications(Construct):
    def __init__(self, scope: Construct, id_: str, *, names: Names, settings: NotificationSettings, context: AwsContext,
                 publisher_role_arn: str) -> None:
        super().__init__(scope, id_)
        key = KmsKey(self, "kms", description=f"SNS topics and DLQ of {names.stack}", enable_key_rotation=True,
                     deletion_window_in_days=30)
        KmsAlias(self, "kms-alias", name=f"alias/{names('notifications')}", target_key_id=key.key_id)
        key_policy = policy_document(self, "kms-policy", [
            account_administers_key(context),
            Statement(sid="WorkflowPublishes", actions=["kms:GenerateDataKey*", "kms:Decrypt"], resources=["*"],
                      principals={"AWS": [publisher_role_arn]}),
            # SNS itself encrypts what it moves to the dead-letter queue.
            Statement(sid="SnsUsesKey", actions=["kms:GenerateDataKey*", "kms:Decrypt"], resources=["*"],
                      principals={"Service": ["sns.amazonaws.com"]},
                      conditions=[("StringEquals", "aws:SourceAccount", [context.account_id])]),
        ])
        KmsKeyPolicy(self, "kms-key-policy", key_id=key.key_id, policy=key_policy.json)

        topics = {}
        for topic_key, (base, display_name) in TOPICS.items():
            topic = SnsTopic(self, topic_key, name=names(base), display_name=display_name, kms_master_key_id=key.arn)
            only_workflow = policy_document(self, f"{topic_key}-policy-doc", [
                Statement(sid="WorkflowPublishes", actions=["sns:Publish"], resources=[topic.arn],
                          principals={"AWS": [publisher_role_arn]}),
                Statement(sid="NobodyElsePublishes", effect="Deny", actions=["sns:Publish"], resources=[topic.arn],
                          principals={"AWS": ["*"]},
                          conditions=[("ArnNotEquals", "aws:PrincipalArn", [publisher_role_arn])]),
            ])
            SnsTopicPolicy(self, f"{topic_key}-policy", arn=topic.arn, policy=only_workflow.json)
            topics[topic_key] = topic

        dlq = None
        if settings.email_subscriptions:
            dlq = SqsQueue(self, "dlq", name=names.dlq, kms_master_key_id=key.arn, message_retention_seconds=1209600)
            from_topics = policy_document(self, "dlq-policy-doc", [Statement(
                sid="SnsDeadLetters", actions=["sqs:SendMessage"], resources=[dlq.arn],
                principals={"Service": ["sns.amazonaws.com"]},
                conditions=[("ArnEquals", "aws:SourceArn", [t.arn for t in topics.values()])],
            )])
            SqsQueuePolicy(self, "dlq-policy", queue_url=dlq.url, policy=from_topics.json)
            for topic_key, topic in topics.items():
                for index, email in enumerate(settings.email_subscriptions):
                    SnsTopicSubscription(
                        self, f"{topic_key}-email-{index + 1}", topic_arn=topic.arn, protocol="email", endpoint=email,
                        redrive_policy=json.dumps({"deadLetterTargetArn": dlq.arn}),
                    )
        self.outputs = NotificationOutputs(
            completion_topic_arn=topics["completion"].arn, error_topic_arn=topics["error"].arn,
            kms_key_arn=key.arn, dead_letter_queue_arn=dlq.arn if dlq else None,
        )
