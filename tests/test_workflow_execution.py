"""The dev stack's state machine, executed: its synthesized definition runs on moto's Step Functions interpreter.

In-process moto with the launcher's execution patches (gaps 11-15 of ``tests/e2e/moto_launcher.py``): the ECS
``runTask.sync`` integration runs a task that stops as if its container had exited (exit code 1 for a ``fail-``
video), Retry waits are slept at ``TIME_SCALE`` while the history's clock shows the full 30/60/120 s. The
definition's Terraform references are replaced by resources made here like the stack's own: a Fargate cluster with
the stack's capacity providers, the task definition's container, subnets, security group, and the two topics, each
with an SQS queue subscribed (completion: raw delivery; error: the SNS envelope) to read the notices from.

``python -m tests.test_workflow_execution`` runs these tests and prints each execution's history summary.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from moto import mock_aws

from modules.workflow import INVALID_INPUT_CAUSE, INVALID_INPUT_ERROR
from tests.conftest import UNPROTECTED
from tests.e2e import moto_launcher
from tests.helpers import find, reference_to, subnets

SUFFIX = UNPROTECTED.suffix  # dev
TIME_SCALE = 0.001  # a 30 s retry wait sleeps 30 ms
EXECUTION_TIMEOUT = 20.0  # real seconds; the failing execution (4 attempts, 210 s of waits) takes ~1 s
RETRY_PLAN = [30.0, 60.0, 120.0]  # IntervalSeconds 30, BackoffRate 2, MaxAttempts 3


@dataclass
class Platform:
    """The resources the definition names, made in moto, and clients for them."""

    region: str
    sfn: Any
    sqs: Any
    ecs: Any
    machine_arn: str
    cluster_arn: str
    subnet_ids: list[str]
    security_group_id: str
    completion_queue: str  # raw delivery: the body is the message
    error_queue: str  # SNS envelope: the message is the body's "Message"
    executions: list[str] = field(default_factory=list)


def moto_resources(stack: dict, region: str) -> tuple[dict[str, str], dict[str, Any]]:
    """Create what the stack's definition references; return {Terraform reference: moto value} and the values."""
    ec2 = boto3.client("ec2", region_name=region)
    ecs = boto3.client("ecs", region_name=region)
    sns = boto3.client("sns", region_name=region)
    sqs = boto3.client("sqs", region_name=region)

    vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})  # as the stack's VPC
    private = subnets(stack, "private")
    subnet_ids = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.20.{index}.0/24")["Subnet"]["SubnetId"]
        for index in range(len(private))
    ]
    group = find(stack, "aws_security_group", name=f"ecs-tasks-{SUFFIX}")
    group_id = ec2.create_security_group(GroupName=group["name"], Description="ECS tasks", VpcId=vpc)["GroupId"]

    cluster = find(stack, "aws_ecs_cluster")
    capacity = find(stack, "aws_ecs_cluster_capacity_providers")
    cluster_arn = ecs.create_cluster(
        clusterName=cluster["name"],
        capacityProviders=capacity["capacity_providers"],
        defaultCapacityProviderStrategy=[
            {"capacityProvider": s["capacity_provider"], "weight": s["weight"], "base": s["base"]}
            for s in capacity["default_capacity_provider_strategy"]
        ],
    )["cluster"]["clusterArn"]
    task = find(stack, "aws_ecs_task_definition")
    [container] = json.loads(task["container_definitions"])
    task_definition_arn = ecs.register_task_definition(
        family=task["family"],
        networkMode=task["network_mode"],
        requiresCompatibilities=task["requires_compatibilities"],
        cpu=task["cpu"],
        memory=task["memory"],
        # The stack's container: its name, essential, sized by the task only; a plain image and environment.
        containerDefinitions=[{"name": container["name"], "image": "video-processor:test", "essential": True}],
    )["taskDefinition"]["taskDefinitionArn"]

    topics, queues = {}, {}
    for kind, raw in (("completion", True), ("error", False)):
        topic = find(stack, "aws_sns_topic", name=f"video-processing-{kind}-{SUFFIX}")
        topics[kind] = (topic, sns.create_topic(Name=topic["name"])["TopicArn"])
        queues[kind] = sqs.create_queue(QueueName=f"{kind}-notices")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queues[kind], AttributeNames=["QueueArn"])["Attributes"]
        sns.subscribe(
            TopicArn=topics[kind][1],
            Protocol="sqs",
            Endpoint=queue_arn["QueueArn"],
            Attributes={"RawMessageDelivery": "true" if raw else "false"},
        )

    references = {
        reference_to(stack, find(stack, "data.aws_partition"), "partition"): "aws",
        reference_to(stack, cluster, "arn"): cluster_arn,
        reference_to(stack, task, "arn"): task_definition_arn,
        reference_to(stack, group, "id"): group_id,
        **{reference_to(stack, s, "id"): moto_id for s, moto_id in zip(private, subnet_ids, strict=True)},
        **{reference_to(stack, topic, "arn"): arn for topic, arn in topics.values()},
    }
    values = {
        "cluster_arn": cluster_arn,
        "subnet_ids": subnet_ids,
        "security_group_id": group_id,
        "completion_queue": queues["completion"],
        "error_queue": queues["error"],
    }
    return references, values


def resolve(text: str, references: dict[str, str]) -> str:
    for reference, value in references.items():
        text = text.replace(reference, value)
    assert "${" not in text, f"unresolved Terraform references left in the definition: {text}"
    return text


@pytest.fixture(scope="module")
def platform(stacks, environments) -> Iterator[Platform]:
    stack = stacks[SUFFIX]
    region = environments[SUFFIX].region
    moto_launcher.apply_patches(moto_launcher.EXECUTION_PATCHES)
    config = {"stepfunctions": {"execute_state_machine": True, moto_launcher.TIME_SCALE_CONFIG_KEY: TIME_SCALE}}
    with pytest.MonkeyPatch.context() as env, mock_aws(config=config):  # type: ignore[arg-type]
        env.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")  # no instances here; loading the AMIs costs ~2 s
        references, values = moto_resources(stack, region)
        machine = find(stack, "aws_sfn_state_machine")
        sfn = boto3.client("stepfunctions", region_name=region)
        machine_arn = sfn.create_state_machine(
            name=machine["name"],
            definition=resolve(machine["definition"], references),
            roleArn=f"arn:aws:iam::123456789012:role/sfn-workflow-{SUFFIX}",
        )["stateMachineArn"]
        platform = Platform(
            region=region,
            sfn=sfn,
            sqs=boto3.client("sqs", region_name=region),
            ecs=boto3.client("ecs", region_name=region),
            machine_arn=machine_arn,
            **values,
        )
        yield platform
        # No interpreter thread may outlive the mock (it would call AWS for real).
        for arn in platform.executions:
            if sfn.describe_execution(executionArn=arn)["status"] == "RUNNING":
                sfn.stop_execution(executionArn=arn)


# --------------------------------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------------------------------
def start(platform: Platform, name: str, document: Any) -> str:
    arn = platform.sfn.start_execution(stateMachineArn=platform.machine_arn, name=name, input=json.dumps(document))[
        "executionArn"
    ]
    platform.executions.append(arn)
    return arn


def finished(platform: Platform, arn: str) -> dict[str, Any]:
    deadline = time.monotonic() + EXECUTION_TIMEOUT
    while (described := platform.sfn.describe_execution(executionArn=arn))["status"] == "RUNNING":
        assert time.monotonic() < deadline, f"{arn} still RUNNING after {EXECUTION_TIMEOUT} s"
        time.sleep(0.01)
    return described


def notices(platform: Platform, kind: str) -> list[dict[str, Any]]:
    """Every notice waiting in the queue of one topic (`completion`, `error`), consumed, as the published JSON."""
    url = platform.completion_queue if kind == "completion" else platform.error_queue
    found = []
    while batch := platform.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        for message in batch:
            body = json.loads(message["Body"])
            if kind == "error":  # no raw delivery: the SNS envelope
                assert body["Type"] == "Notification" and body["Subject"] == "Video processing failed"
                body = json.loads(body["Message"])
            found.append(body)
            platform.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return found


def notice_of(platform: Platform, kind: str, execution_arn: str) -> dict[str, Any] | None:
    mine = [n for n in notices(platform, kind) if n.get("execution") == execution_arn]
    assert len(mine) <= 1, mine
    return mine[0] if mine else None


@dataclass
class Summary:
    """What an execution did, read from its history."""

    status: str
    states: list[str]  # entered, in order
    attempts: int  # ecs:runTask.sync tasks scheduled
    retry_waits: list[float]  # seconds from a failed attempt to the next one's TaskScheduled (history clock)
    history_seconds: float  # ExecutionStarted to the last event (history clock)
    wall_seconds: float  # real time the test waited for it
    history: list[dict[str, Any]] = field(repr=False)

    def line(self, title: str) -> str:
        waits = ", ".join(f"{w:.3f}" for w in self.retry_waits) or "-"
        return (
            f"{title}: {self.status}; states {' > '.join(self.states)}; attempts {self.attempts}; "
            f"retry waits [{waits}] s; history {self.history_seconds:.3f} s; wall {self.wall_seconds:.3f} s"
        )


def summarize(platform: Platform, arn: str, wall_seconds: float) -> Summary:
    history = platform.sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
    states = [e["stateEnteredEventDetails"]["name"] for e in history if "stateEnteredEventDetails" in e]
    ecs_scheduled = [
        e for e in history if e["type"] == "TaskScheduled" and e["taskScheduledEventDetails"]["resourceType"] == "ecs"
    ]
    ecs_failed = [
        e for e in history if e["type"] == "TaskFailed" and e["taskFailedEventDetails"]["resource"] == "runTask.sync"
    ]
    waits = [
        (after["timestamp"] - failed["timestamp"]).total_seconds()
        for failed, after in zip(ecs_failed, ecs_scheduled[1:], strict=False)
    ]
    summary = Summary(
        status=platform.sfn.describe_execution(executionArn=arn)["status"],
        states=states,
        attempts=len(ecs_scheduled),
        retry_waits=waits,
        history_seconds=(history[-1]["timestamp"] - history[0]["timestamp"]).total_seconds(),
        wall_seconds=wall_seconds,
        history=history,
    )
    print("\n" + summary.line(arn.rsplit(":", 1)[-1]))
    return summary


def run(platform: Platform, name: str, document: Any) -> tuple[str, dict[str, Any], Summary]:
    began = time.monotonic()
    arn = start(platform, name, document)
    described = finished(platform, arn)
    return arn, described, summarize(platform, arn, time.monotonic() - began)


# --------------------------------------------------------------------------------------------------------------------
# Tests
# --------------------------------------------------------------------------------------------------------------------
def test_success_runs_the_task_and_publishes_the_completion_notice(platform):
    arn, described, summary = run(platform, "success-1", {"videoId": "video-ok-1"})

    assert described["status"] == "SUCCEEDED"
    assert summary.states == ["CheckInput", "ProcessVideo", "NotifyCompletion", "Succeeded"]
    assert summary.attempts == 1
    assert notice_of(platform, "completion", arn) == {"status": "SUCCEEDED", "videoId": "video-ok-1", "execution": arn}
    assert notice_of(platform, "error", arn) is None
    # The task ran as the definition asks: our container got VIDEO_ID, in a private subnet with the ECS group,
    # and it stopped after its container exited 0 (the output keeps that description).
    task = json.loads(described["output"])["taskResult"]
    assert task["ClusterArn"] == platform.cluster_arn
    assert task["StartedBy"] == "AWS Step Functions"
    [override] = task["Overrides"]["ContainerOverrides"]
    assert override["Environment"] == [{"Name": "VIDEO_ID", "Value": "video-ok-1"}]
    assert (task["LastStatus"], task["StopCode"]) == ("STOPPED", "EssentialContainerExited")
    assert [(c["Name"], c["ExitCode"]) for c in task["Containers"]] == [("video-processor", 0)]
    details = {d["Name"]: d["Value"] for d in task["Attachments"][0]["Details"]}
    assert details["subnetId"] in platform.subnet_ids
    eni = boto3.client("ec2", region_name=platform.region).describe_network_interfaces(
        NetworkInterfaceIds=[details["networkInterfaceId"]]
    )["NetworkInterfaces"][0]
    assert [g["GroupId"] for g in eni["Groups"]] == [platform.security_group_id]


def test_failing_task_is_retried_three_times_then_reported(platform):
    arn, described, summary = run(platform, "failure-1", {"videoId": "fail-video-1"})

    assert (described["status"], described["error"]) == ("FAILED", "VideoProcessingFailed")
    assert summary.states == ["CheckInput", "ProcessVideo", "NotifyError", "Failed"]
    assert summary.attempts == 4
    failures = [e["taskFailedEventDetails"] for e in summary.history if e["type"] == "TaskFailed"]
    assert [f["error"] for f in failures] == ["States.TaskFailed"] * 4
    # 30, 60, 120 s between attempts on the history's clock (plus the few real milliseconds of each attempt)...
    assert len(summary.retry_waits) == 3
    for wait, planned in zip(summary.retry_waits, RETRY_PLAN, strict=True):
        assert planned <= wait < planned + 1.0, summary.retry_waits
    assert (described["stopDate"] - described["startDate"]).total_seconds() >= sum(RETRY_PLAN)
    # ... while the test took seconds.
    assert summary.wall_seconds < 10.0

    notice = notice_of(platform, "error", arn)
    assert notice is not None
    assert (notice["status"], notice["error"], notice["input"]) == (
        "FAILED",
        "States.TaskFailed",
        {"videoId": "fail-video-1"},
    )
    # The cause is the stopped task, as DescribeTasks shows it: the essential container exited 1.
    cause = json.loads(notice["cause"])
    assert (cause["LastStatus"], cause["StopCode"]) == ("STOPPED", "EssentialContainerExited")
    assert [(c["Name"], c["ExitCode"]) for c in cause["Containers"]] == [("video-processor", 1)]
    assert notice_of(platform, "completion", arn) is None
    tasks = platform.ecs.list_tasks(cluster=platform.cluster_arn, desiredStatus="STOPPED")["taskArns"]
    assert sum(arn in tasks for arn in {json.loads(f["cause"])["TaskArn"] for f in failures}) == 4


@pytest.mark.parametrize(
    "name, document",
    [
        ("no-video-id", {"video": "v1"}),
        ("number-video-id", {"videoId": 42}),
        ("null-video-id", {"videoId": None}),
        ("not-an-object", ["fail-video-2"]),
    ],
)
def test_input_without_a_string_video_id_is_reported_not_a_runtime_error(platform, name, document):
    arn, described, summary = run(platform, name, document)

    assert (described["status"], described["error"]) == ("FAILED", "VideoProcessingFailed")
    assert summary.states == ["CheckInput", "InvalidInput", "NotifyError", "Failed"]
    assert summary.attempts == 0
    assert not [e for e in summary.history if "States.Runtime" in json.dumps(e, default=str)]
    notice = notice_of(platform, "error", arn)
    assert notice == {
        "status": "FAILED",
        "input": document,
        "execution": arn,
        "error": INVALID_INPUT_ERROR,
        "cause": INVALID_INPUT_CAUSE,
    }


def test_api_starts_the_workflow_and_reports_it_succeeded(platform, monkeypatch):
    from modules.api.runtime import handler

    monkeypatch.setenv("STATE_MACHINE_ARN", platform.machine_arn)
    monkeypatch.setenv("AWS_DEFAULT_REGION", platform.region)
    monkeypatch.setattr(handler, "_client", None)  # built inside the mock, dropped afterwards
    video = "api-video-1"
    began = time.monotonic()

    posted = handler.handler(
        {"resource": "/videos", "path": "/videos", "httpMethod": "POST", "body": json.dumps({"videoId": video})}
    )
    assert posted["statusCode"] == 202, posted
    event = {
        "resource": "/videos/{videoId}",
        "path": f"/videos/{video}",
        "httpMethod": "GET",
        "pathParameters": {"videoId": video},
    }
    statuses = []
    deadline = time.monotonic() + EXECUTION_TIMEOUT
    while True:
        got = handler.handler(event)
        assert got["statusCode"] == 200, got
        statuses.append(json.loads(got["body"])["status"])
        if statuses[-1] != "RUNNING" or time.monotonic() > deadline:
            break
        time.sleep(0.01)
    assert statuses[-1] == "SUCCEEDED", statuses

    [notice] = [n for n in notices(platform, "completion") if n["videoId"] == video]
    assert notice["status"] == "SUCCEEDED"
    arn = notice["execution"]
    platform.executions.append(arn)
    assert json.loads(platform.sfn.describe_execution(executionArn=arn)["input"])["videoId"] == video
    summary = summarize(platform, arn, time.monotonic() - began)
    assert summary.states == ["CheckInput", "ProcessVideo", "NotifyCompletion", "Succeeded"]
    assert summary.attempts == 1


if __name__ == "__main__":  # python -m tests.test_workflow_execution: the tests, printing each history summary
    raise SystemExit(
        pytest.main([__file__, "-s", "-q", "-p", "no:cacheprovider", "-W", "ignore::pytest.PytestAssertRewriteWarning"])
    )
