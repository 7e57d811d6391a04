import json

import pytest

from tests.conftest import data_sources, only, resources

ALL = ["dev", "staging", "prod", "pr123"]


def topics(stack):
    return {t["name"].rsplit("-", 1)[0]: t for t in resources(stack, "aws_sns_topic").values()}


@pytest.mark.parametrize("suffix", ALL)
def test_two_standard_topics_encrypted_with_a_customer_managed_key(stacks, suffix):
    stack = stacks[suffix]
    found = {t["name"]: t for t in resources(stack, "aws_sns_topic").values()}
    assert set(found) == {f"video-processing-completion-{suffix}", f"video-processing-error-{suffix}"}
    for topic in found.values():
        assert topic["kms_master_key_id"].startswith("${aws_kms_key.notifications_kms_")
        assert "fifo_topic" not in topic


@pytest.mark.parametrize("suffix", ALL)
def test_topic_policies_allow_publishing_only_from_the_workflow_role(stacks, suffix):
    stack = stacks[suffix]
    for policy in resources(stack, "aws_sns_topic_policy").values():
        statements = data_sources(stack, "aws_iam_policy_document")[policy["policy"].split(".")[2]]["statement"]
        allow, deny = statements
        [principal] = allow["principals"]
        assert principal["type"] == "AWS" and principal["identifiers"][0].startswith("${aws_iam_role.workflow-role_")
        assert allow["actions"] == ["sns:Publish"] and allow["effect"] == "Allow"
        assert deny["effect"] == "Deny" and deny["condition"][0]["test"] == "ArnNotEquals"
        assert deny["condition"][0]["values"] == allow["principals"][0]["identifiers"]


@pytest.mark.parametrize("suffix", ALL)
def test_key_policy_lets_the_workflow_and_sns_use_the_key(stacks, suffix):
    stack = stacks[suffix]
    policy = only(stack, "aws_kms_key_policy")
    statements = {s["sid"]: s for s in data_sources(stack, "aws_iam_policy_document")[policy["policy"].split(".")[2]]["statement"]}
    assert "aws_iam_role.workflow-role_" in statements["WorkflowPublishes"]["principals"][0]["identifiers"][0]
    assert statements["SnsUsesKey"]["principals"] == [{"type": "Service", "identifiers": ["sns.amazonaws.com"]}]
    assert set(statements["WorkflowPublishes"]["actions"]) == {"kms:GenerateDataKey*", "kms:Decrypt"}


def test_no_subscriptions_means_no_dead_letter_queue(stacks):
    assert not resources(stacks["dev"], "aws_sqs_queue") and not resources(stacks["dev"], "aws_sns_topic_subscription")


def test_email_subscriptions_get_an_encrypted_dead_letter_queue(environments):
    import dataclasses

    from cdktf import Testing

    from config.settings import NotificationSettings
    from stacks.video_pipeline_stack import VideoPipelineStack

    settings = dataclasses.replace(environments["staging"], notifications=NotificationSettings(email_subscriptions=("ops@example.com",)))
    stack = json.loads(Testing.synth(VideoPipelineStack(Testing.app(), settings)))
    queue = only(stack, "aws_sqs_queue")
    assert queue["name"] == "video-processing-dlq-staging" and queue["kms_master_key_id"].startswith("${aws_kms_key.")
    subscriptions = list(resources(stack, "aws_sns_topic_subscription").values())
    assert len(subscriptions) == 2 and {s["protocol"] for s in subscriptions} == {"email"}
    assert all(json.loads(s["redrive_policy"])["deadLetterTargetArn"].startswith("${aws_sqs_queue.") for s in subscriptions)
    queue_policy = only(stack, "aws_sqs_queue_policy")
    [statement] = data_sources(stack, "aws_iam_policy_document")[queue_policy["policy"].split(".")[2]]["statement"]
    assert statement["principals"] == [{"type": "Service", "identifiers": ["sns.amazonaws.com"]}]
    assert len(statement["condition"][0]["values"]) == 2
