import dataclasses
import json

import pytest

from tests.conftest import ENVIRONMENTS, SUFFIXES
from tests.helpers import find, find_all, kms_key, policy_statements, reference_to, referenced

# topic name base -> display name
TOPICS = {
    "video-processing-completion": "Video processing completed",
    "video-processing-error": "Video processing failed",
}


def topics(stack: dict, suffix: str) -> list[dict]:
    return [
        find(stack, "aws_sns_topic", name=f"{base}-{suffix}", display_name=display) for base, display in TOPICS.items()
    ]


def workflow_role_arn(stack: dict, suffix: str) -> str:
    return reference_to(stack, find(stack, "aws_iam_role", name=f"sfn-workflow-{suffix}"), "arn")


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_two_standard_topics_encrypted_with_a_customer_managed_key(stacks, suffix):
    stack = stacks[suffix]
    assert len(find_all(stack, "aws_sns_topic")) == 2
    key = kms_key(stack, f"alias/notifications-{suffix}")
    assert key["enable_key_rotation"] is True
    for topic in topics(stack, suffix):
        assert topic["kms_master_key_id"] == reference_to(stack, key, "arn")
        assert "fifo_topic" not in topic


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_topic_policies_allow_publishing_only_from_the_workflow_role(stacks, suffix):
    stack = stacks[suffix]
    workflow = workflow_role_arn(stack, suffix)
    assert len(find_all(stack, "aws_sns_topic_policy")) == 2
    for topic in topics(stack, suffix):
        arn = reference_to(stack, topic, "arn")
        allow, deny = policy_statements(stack, find(stack, "aws_sns_topic_policy", arn=arn)["policy"])
        assert (allow["effect"], allow["actions"], allow["resources"]) == ("Allow", ["sns:Publish"], [arn])
        assert allow["principals"] == [{"type": "AWS", "identifiers": [workflow]}]
        assert (deny["effect"], deny["actions"], deny["resources"]) == ("Deny", ["sns:Publish"], [arn])
        assert deny["principals"] == [{"type": "AWS", "identifiers": ["*"]}]
        assert deny["condition"] == [{"test": "ArnNotEquals", "variable": "aws:PrincipalArn", "values": [workflow]}]


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_key_policy_lets_the_workflow_and_sns_use_the_key(stacks, suffix):
    stack = stacks[suffix]
    key = kms_key(stack, f"alias/notifications-{suffix}")
    policy = find(stack, "aws_kms_key_policy", key_id=reference_to(stack, key, "key_id"))
    statements = {s["sid"]: s for s in policy_statements(stack, policy["policy"])}
    assert statements["WorkflowPublishes"]["principals"] == [
        {"type": "AWS", "identifiers": [workflow_role_arn(stack, suffix)]}
    ]
    assert statements["SnsUsesKey"]["principals"] == [{"type": "Service", "identifiers": ["sns.amazonaws.com"]}]
    assert set(statements["WorkflowPublishes"]["actions"]) == {"kms:GenerateDataKey*", "kms:Decrypt"}


def test_no_subscriptions_means_no_dead_letter_queue(stacks):
    unsubscribed = [env.suffix for env in ENVIRONMENTS if not env.notifications.email_subscriptions]
    assert unsubscribed
    for suffix in unsubscribed:
        assert (
            find_all(stacks[suffix], "aws_sqs_queue") == []
            and find_all(stacks[suffix], "aws_sns_topic_subscription") == []
        )


def test_email_subscriptions_get_an_encrypted_dead_letter_queue():
    from cdktf import Testing

    from config.settings import NotificationSettings
    from stacks.video_pipeline_stack import VideoPipelineStack

    base = next(env for env in ENVIRONMENTS if not env.adhoc and not env.notifications.email_subscriptions)
    settings = dataclasses.replace(base, notifications=NotificationSettings(email_subscriptions=("ops@example.com",)))
    suffix = settings.suffix
    stack = json.loads(Testing.synth(VideoPipelineStack(Testing.app(), settings)))
    queue = find(stack, "aws_sqs_queue")
    assert queue["name"] == f"video-processing-dlq-{suffix}"
    assert queue["kms_master_key_id"] == reference_to(stack, kms_key(stack, f"alias/notifications-{suffix}"), "arn")
    subscriptions = find_all(stack, "aws_sns_topic_subscription")
    assert sorted(
        (referenced(stack, s["topic_arn"], "arn")["name"], s["protocol"], s["endpoint"]) for s in subscriptions
    ) == [
        (f"video-processing-completion-{suffix}", "email", "ops@example.com"),
        (f"video-processing-error-{suffix}", "email", "ops@example.com"),
    ]
    for subscription in subscriptions:
        assert json.loads(subscription["redrive_policy"]) == {"deadLetterTargetArn": reference_to(stack, queue, "arn")}
    queue_policy = find(stack, "aws_sqs_queue_policy", queue_url=reference_to(stack, queue, "url"))
    [statement] = policy_statements(stack, queue_policy["policy"])
    assert statement["principals"] == [{"type": "Service", "identifiers": ["sns.amazonaws.com"]}]
    assert statement["resources"] == [reference_to(stack, queue, "arn")]
    assert statement["condition"] == [
        {
            "test": "ArnEquals",
            "variable": "aws:SourceArn",
            "values": [reference_to(stack, t, "arn") for t in topics(stack, suffix)],
        }
    ]
