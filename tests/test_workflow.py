import json
import subprocess
from pathlib import Path

import pytest

from tests.conftest import data_sources, only, resources, role_statements

ALL = ["dev", "staging", "prod", "pr123"]
ROOT = Path(__file__).resolve().parents[1]


def definition(stack: dict) -> dict:
    return json.loads(only(stack, "aws_sfn_state_machine")["definition"])


@pytest.mark.parametrize("suffix", ALL)
def test_runs_the_ecs_task_synchronously_in_private_subnets_without_public_ip(stacks, suffix):
    task = definition(stacks[suffix])["States"]["ProcessVideo"]
    assert task["Resource"] == "arn:aws:states:::ecs:runTask.sync"
    network = task["Parameters"]["NetworkConfiguration"]["AwsvpcConfiguration"]
    assert network["AssignPublicIp"] == "DISABLED"
    assert [s.split(".")[1].rsplit("_", 1)[0] for s in network["Subnets"]] == ["network_subnet-private-1", "network_subnet-private-2"]
    assert network["SecurityGroups"][0].startswith("${aws_security_group.network_sg-ecs_")
    [override] = task["Parameters"]["Overrides"]["ContainerOverrides"]
    assert override == {"Name": "video-processor", "Environment": [{"Name": "VIDEO_ID", "Value.$": "$.videoId"}]}


@pytest.mark.parametrize("suffix", ALL)
def test_retry_catch_and_timeout(stacks, suffix):
    document = definition(stacks[suffix])
    assert document["TimeoutSeconds"] == 1800
    task = document["States"]["ProcessVideo"]
    assert task["Retry"] == [{"ErrorEquals": ["States.TaskFailed"], "IntervalSeconds": 30, "MaxAttempts": 3, "BackoffRate": 2}]
    assert task["Catch"] == [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "NotifyError"}]
    assert document["States"]["NotifyError"]["Next"] == "Failed" and document["States"]["Failed"]["Type"] == "Fail"
    assert task["Next"] == "NotifyCompletion" and document["States"]["NotifyCompletion"]["Next"] == "Succeeded"
    assert document["States"]["Succeeded"]["Type"] == "Succeed"


@pytest.mark.parametrize("suffix", ALL)
def test_notifications_read_only_paths_that_exist(stacks, suffix):
    states = definition(stacks[suffix])["States"]
    completion = states["NotifyCompletion"]["Parameters"]
    error = states["NotifyError"]["Parameters"]
    assert completion["TopicArn"].startswith("${aws_sns_topic.notifications_completion_")
    assert error["TopicArn"].startswith("${aws_sns_topic.notifications_error_")
    # The seed read `$.result`, which nothing writes. Success: the input's videoId (ProcessVideo needed it).
    paths = [v for v in completion["Message"].values() if v.startswith("$")]
    assert "$.result" not in json.dumps(states)
    assert set(paths) == {"$.videoId", "$$.Execution.Id"}
    # Error path: only the context object and the Catch's $.error, which exist even without videoId.
    error_paths = {v for v in error["Message"].values() if v.startswith("$")}
    assert error_paths == {"$$.Execution.Input", "$$.Execution.Id", "$.error.Error", "$.error.Cause"}


@pytest.mark.parametrize("suffix", ALL)
def test_state_machine_logging_tracing_and_dependency_on_its_policy(stacks, environments, suffix):
    stack = stacks[suffix]
    machine = only(stack, "aws_sfn_state_machine")
    assert machine["name"] == f"video-processing-workflow-{suffix}"
    assert machine["tracing_configuration"] == {"enabled": True}
    logging = machine["logging_configuration"]
    assert logging["level"] == "ALL" and logging["include_execution_data"] is True
    assert logging["log_destination"].startswith("${aws_cloudwatch_log_group.workflow_logs_") and logging["log_destination"].endswith(".arn}:*")
    group = resources(stack, "aws_cloudwatch_log_group")[logging["log_destination"].split(".")[1]]
    assert group["name"] == f"/aws/stepfunctions/video-processing-{suffix}"
    assert group["retention_in_days"] == environments[suffix].log_retention_days
    assert any(d.startswith("aws_iam_role_policy.workflow_policy_") for d in machine["depends_on"])


@pytest.mark.parametrize("suffix", ALL)
def test_state_machine_role_has_what_cdk_would_grant(stacks, suffix):
    statements = role_statements(stacks[suffix], f"sfn-workflow-{suffix}")
    assert statements["RunTask"]["actions"] == ["ecs:RunTask"]
    assert statements["RunTask"]["resources"][0].startswith("${aws_ecs_task_definition.") and len(statements["RunTask"]["resources"]) == 1
    assert statements["FollowTask"]["resources"][0].endswith(":task/${aws_ecs_cluster.compute_cluster_%s.name}/*" % statements["FollowTask"]["resources"][0].split("compute_cluster_")[1].split(".")[0])
    assert statements["PassTaskRoles"]["condition"] == [{"test": "StringEquals", "variable": "iam:PassedToService", "values": ["ecs-tasks.amazonaws.com"]}]
    assert len(statements["PassTaskRoles"]["resources"]) == 2
    assert statements["SyncRule"]["resources"][0].endswith(":rule/StepFunctionsGetEventsForECSTaskRule")
    assert len(statements["Notify"]["resources"]) == 2 and statements["Notify"]["actions"] == ["sns:Publish"]
    assert statements["EncryptNotifications"]["resources"][0].startswith("${aws_kms_key.notifications_kms_")
    # Only the logs-delivery and X-Ray statements use "*": those APIs have no resource-level permissions.
    assert {sid for sid, s in statements.items() if s.get("resources", ["*"]) == ["*"]} == {"LogDelivery", "Tracing"}


@pytest.mark.parametrize("suffix", ALL)
def test_state_machine_role_trusts_step_functions_for_this_machine_only(stacks, suffix):
    stack = stacks[suffix]
    role = next(r for r in resources(stack, "aws_iam_role").values() if r["name"] == f"sfn-workflow-{suffix}")
    [trust] = data_sources(stack, "aws_iam_policy_document")[role["assume_role_policy"].split(".")[2]]["statement"]
    assert trust["principals"] == [{"type": "Service", "identifiers": ["states.amazonaws.com"]}]
    conditions = {c["variable"]: c["values"][0] for c in trust["condition"]}
    assert conditions["aws:SourceArn"].endswith(f":stateMachine:video-processing-workflow-{suffix}")


def asl_validate(document: str, tmp_path: Path) -> subprocess.CompletedProcess:
    path = tmp_path / "definition.json"
    path.write_text(document)
    return subprocess.run([str(ROOT / "node_modules" / ".bin" / "asl-validator"), "--json-path", str(path)],
                          capture_output=True, text=True)


@pytest.mark.parametrize("suffix", ALL)
def test_definition_is_valid_asl(stacks, tmp_path, suffix):
    result = asl_validate(only(stacks[suffix], "aws_sfn_state_machine")["definition"], tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_asl_validator_rejects_a_broken_definition(stacks, tmp_path):
    broken = definition(stacks["dev"])
    broken["States"]["ProcessVideo"]["Next"] = "NoSuchState"
    assert asl_validate(json.dumps(broken), tmp_path).returncode != 0
