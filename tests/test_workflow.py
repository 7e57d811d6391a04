import json
import subprocess
from pathlib import Path

import pytest

from tests.conftest import SUFFIXES
from tests.helpers import address, arn, find, kms_key, policy_statements, reference_to, role_statements, subnets

ROOT = Path(__file__).resolve().parents[1]


def definition(stack: dict) -> dict:
    return json.loads(find(stack, "aws_sfn_state_machine")["definition"])


def arn_of(stack: dict, type_: str, **properties) -> str:
    return reference_to(stack, find(stack, type_, **properties), "arn")


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_runs_the_ecs_task_synchronously_in_private_subnets_without_public_ip(stacks, suffix):
    stack = stacks[suffix]
    states = definition(stack)["States"]
    task = states["ProcessVideo"]
    # The stack's partition (aws-cn, aws-us-gov have their own), never a hard-coded "aws".
    partition = reference_to(stack, find(stack, "data.aws_partition"), "partition")
    assert task["Resource"] == f"arn:{partition}:states:::ecs:runTask.sync"
    assert (
        states["NotifyCompletion"]["Resource"]
        == states["NotifyError"]["Resource"]
        == (f"arn:{partition}:states:::sns:publish")
    )
    assert task["Parameters"]["Cluster"] == arn_of(stack, "aws_ecs_cluster", name=f"video-processing-{suffix}")
    assert task["Parameters"]["TaskDefinition"] == arn_of(
        stack, "aws_ecs_task_definition", family=f"video-processor-{suffix}"
    )
    network = task["Parameters"]["NetworkConfiguration"]["AwsvpcConfiguration"]
    assert network["AssignPublicIp"] == "DISABLED"
    assert network["Subnets"] == [reference_to(stack, s, "id") for s in subnets(stack, "private")]
    assert len(network["Subnets"]) == 2
    assert network["SecurityGroups"] == [
        reference_to(stack, find(stack, "aws_security_group", name=f"ecs-tasks-{suffix}"), "id")
    ]
    [override] = task["Parameters"]["Overrides"]["ContainerOverrides"]
    assert override == {"Name": "video-processor", "Environment": [{"Name": "VIDEO_ID", "Value.$": "$.videoId"}]}


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_retry_catch_and_timeout(stacks, suffix):
    document = definition(stacks[suffix])
    assert document["TimeoutSeconds"] == 1800
    task = document["States"]["ProcessVideo"]
    assert task["Retry"] == [
        {"ErrorEquals": ["States.TaskFailed"], "IntervalSeconds": 30, "MaxAttempts": 3, "BackoffRate": 2}
    ]
    assert task["Catch"] == [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "NotifyError"}]
    assert document["States"]["NotifyError"]["Next"] == "Failed" and document["States"]["Failed"]["Type"] == "Fail"
    assert task["Next"] == "NotifyCompletion" and document["States"]["NotifyCompletion"]["Next"] == "Succeeded"
    assert document["States"]["Succeeded"]["Type"] == "Succeed"


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_notifications_read_only_paths_that_exist(stacks, suffix):
    stack = stacks[suffix]
    states = definition(stack)["States"]
    completion = states["NotifyCompletion"]["Parameters"]
    error = states["NotifyError"]["Parameters"]
    assert completion["TopicArn"] == arn_of(stack, "aws_sns_topic", name=f"video-processing-completion-{suffix}")
    assert error["TopicArn"] == arn_of(stack, "aws_sns_topic", name=f"video-processing-error-{suffix}")
    # The seed read `$.result`, which nothing writes. Success: the input's videoId (ProcessVideo needed it).
    paths = [v for v in completion["Message"].values() if v.startswith("$")]
    assert "$.result" not in json.dumps(states)
    assert set(paths) == {"$.videoId", "$$.Execution.Id"}
    # Error path: only the context object and the Catch's $.error, which exist even without videoId.
    error_paths = {v for v in error["Message"].values() if v.startswith("$")}
    assert error_paths == {"$$.Execution.Input", "$$.Execution.Id", "$.error.Error", "$.error.Cause"}


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_state_machine_logging_tracing_and_dependency_on_its_policy(stacks, environments, suffix):
    stack = stacks[suffix]
    machine = find(stack, "aws_sfn_state_machine")
    assert machine["name"] == f"video-processing-workflow-{suffix}"
    assert machine["tracing_configuration"] == {"enabled": True}
    role = find(stack, "aws_iam_role", name=f"sfn-workflow-{suffix}")
    assert machine["role_arn"] == reference_to(stack, role, "arn")
    logging = machine["logging_configuration"]
    assert logging["level"] == "ALL" and logging["include_execution_data"] is True
    group = find(stack, "aws_cloudwatch_log_group", name=f"/aws/vendedlogs/states/video-processing-{suffix}")
    assert logging["log_destination"] == reference_to(stack, group, "arn") + ":*"
    assert group["retention_in_days"] == environments[suffix].log_retention_days
    # Created after the role's policy: the log-destination check at create time needs it.
    policy = find(stack, "aws_iam_role_policy", role=reference_to(stack, role, "id"))
    assert machine["depends_on"] == [address(stack, policy)]


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_state_machine_role_has_what_cdk_would_grant(stacks, environments, suffix):
    stack = stacks[suffix]
    region = environments[suffix].region
    statements = role_statements(stack, f"sfn-workflow-{suffix}")
    cluster = find(stack, "aws_ecs_cluster", name=f"video-processing-{suffix}")
    run = statements["RunTask"]
    assert run["actions"] == ["ecs:RunTask"]
    # Every revision of the family: an execution started before a deploy retries with the revision it started with.
    task = find(stack, "aws_ecs_task_definition", family=f"video-processor-{suffix}")
    assert run["resources"] == [reference_to(stack, task, "arn_without_revision") + ":*"]
    assert run["condition"] == [
        {"test": "ArnEquals", "variable": "ecs:cluster", "values": [reference_to(stack, cluster, "arn")]}
    ]
    follow = statements["FollowTask"]
    assert follow["actions"] == ["ecs:StopTask", "ecs:DescribeTasks"]
    assert follow["resources"] == [arn(stack, "ecs", region, f"task/{reference_to(stack, cluster, 'name')}/*")]
    assert statements["PassTaskRoles"]["condition"] == [
        {"test": "StringEquals", "variable": "iam:PassedToService", "values": ["ecs-tasks.amazonaws.com"]}
    ]
    assert statements["PassTaskRoles"]["resources"] == [
        arn_of(stack, "aws_iam_role", name=f"ecs-task-{suffix}"),
        arn_of(stack, "aws_iam_role", name=f"ecs-task-execution-{suffix}"),
    ]
    assert statements["SyncRule"]["resources"] == [
        arn(stack, "events", region, "rule/StepFunctionsGetEventsForECSTaskRule")
    ]
    assert statements["Notify"]["actions"] == ["sns:Publish"]
    assert statements["Notify"]["resources"] == [
        arn_of(stack, "aws_sns_topic", name=f"video-processing-completion-{suffix}"),
        arn_of(stack, "aws_sns_topic", name=f"video-processing-error-{suffix}"),
    ]
    topics_key = kms_key(stack, f"alias/notifications-{suffix}")
    assert statements["EncryptNotifications"]["resources"] == [reference_to(stack, topics_key, "arn")]
    # Only the logs-delivery and X-Ray statements use "*": those APIs have no resource-level permissions.
    assert {sid for sid, s in statements.items() if s.get("resources", ["*"]) == ["*"]} == {"LogDelivery", "Tracing"}


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_state_machine_role_trusts_step_functions_for_this_machine_only(stacks, environments, suffix):
    stack = stacks[suffix]
    role = find(stack, "aws_iam_role", name=f"sfn-workflow-{suffix}")
    [trust] = policy_statements(stack, role["assume_role_policy"])
    assert trust["principals"] == [{"type": "Service", "identifiers": ["states.amazonaws.com"]}]
    conditions = {c["variable"]: (c["test"], c["values"]) for c in trust["condition"]}
    assert conditions == {
        "aws:SourceAccount": (
            "StringEquals",
            [reference_to(stack, find(stack, "data.aws_caller_identity"), "account_id")],
        ),
        "aws:SourceArn": (
            "ArnLike",
            [arn(stack, "states", environments[suffix].region, f"stateMachine:video-processing-workflow-{suffix}")],
        ),
    }


def asl_validate(document: str, tmp_path: Path) -> subprocess.CompletedProcess:
    path = tmp_path / "definition.json"
    path.write_text(document)
    return subprocess.run(
        [str(ROOT / "node_modules" / ".bin" / "asl-validator"), "--json-path", str(path)],
        capture_output=True,
        text=True,
    )


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_definition_is_valid_asl(stacks, tmp_path, suffix):
    stack = stacks[suffix]
    # The validator checks Resource ARNs, which hold the partition's reference: validate them as Terraform renders
    # them (aws-cn and aws-us-gov ARNs pass the same check).
    partition = reference_to(stack, find(stack, "data.aws_partition"), "partition")
    document = find(stack, "aws_sfn_state_machine")["definition"].replace(partition, "aws")
    result = asl_validate(document, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_asl_validator_rejects_a_broken_definition(stacks, tmp_path):
    broken = definition(stacks[SUFFIXES[0]])
    broken["States"]["ProcessVideo"]["Next"] = "NoSuchState"
    assert asl_validate(json.dumps(broken), tmp_path).returncode != 0
