import json

import pytest

from tests.conftest import only, resources, role_statements

ALL = ["dev", "staging", "prod", "pr123"]


def container(stack: dict) -> dict:
    [definition] = json.loads(only(stack, "aws_ecs_task_definition")["container_definitions"])
    return definition


@pytest.mark.parametrize("suffix, default", [("dev", "FARGATE_SPOT"), ("staging", "FARGATE"), ("prod", "FARGATE"), ("pr123", "FARGATE_SPOT")])
def test_cluster_with_container_insights_and_fargate_capacity(stacks, suffix, default):
    stack = stacks[suffix]
    cluster = only(stack, "aws_ecs_cluster")
    assert cluster["name"] == f"video-processing-{suffix}"
    assert cluster["setting"] == [{"name": "containerInsights", "value": "enabled"}]
    capacity = only(stack, "aws_ecs_cluster_capacity_providers")
    assert capacity["capacity_providers"] == ["FARGATE", "FARGATE_SPOT"]
    assert capacity["default_capacity_provider_strategy"] == [{"capacity_provider": default, "weight": 1, "base": 0}]


@pytest.mark.parametrize("suffix", ALL)
def test_fargate_task_definition_shape(stacks, suffix):
    task = only(stacks[suffix], "aws_ecs_task_definition")
    assert (task["cpu"], task["memory"], task["network_mode"]) == ("1024", "2048", "awsvpc")
    assert task["requires_compatibilities"] == ["FARGATE"]
    assert task["runtime_platform"] == {"operating_system_family": "LINUX", "cpu_architecture": "X86_64"}
    [volume] = task["volume"]
    efs = volume["efs_volume_configuration"]
    assert efs["transit_encryption"] == "ENABLED"
    assert efs["authorization_config"]["iam"] == "ENABLED" and efs["authorization_config"]["access_point_id"].startswith("${aws_efs_access_point.")


@pytest.mark.parametrize("suffix", ALL)
def test_container_definition_keeps_secrets_out_of_plain_environment(stacks, suffix):
    definition = container(stacks[suffix])
    environment = {e["name"]: e["value"] for e in definition["environment"]}
    assert set(environment) == {"REGION", "REDIS_ENDPOINT", "REDIS_PORT", "DB_HOST"}
    assert environment["REGION"] == "ap-northeast-1" and environment["REDIS_PORT"] == "6379"
    assert environment["DB_HOST"].endswith(".address}") and environment["REDIS_ENDPOINT"].endswith(".primary_endpoint_address}")
    assert not any(word in name for name in environment for word in ("PASSWORD", "SECRET", "TOKEN", "USERNAME"))
    secrets = {s["name"]: s["valueFrom"] for s in definition["secrets"]}
    assert set(secrets) == {"DB_USERNAME", "DB_PASSWORD"}
    assert secrets["DB_USERNAME"].endswith(".master_user_secret[0].secret_arn}:username::")
    assert secrets["DB_PASSWORD"].endswith(".master_user_secret[0].secret_arn}:password::")


@pytest.mark.parametrize("suffix", ALL)
def test_container_is_not_privileged_logs_to_awslogs_and_mounts_efs(stacks, environments, suffix):
    definition = container(stacks[suffix])
    assert definition["privileged"] is False and definition["essential"] is True
    assert definition["image"] == environments[suffix].compute.container_image
    log = definition["logConfiguration"]
    assert log["logDriver"] == "awslogs" and log["options"]["awslogs-region"] == "ap-northeast-1"
    assert definition["mountPoints"] == [{"sourceVolume": "efs-storage", "containerPath": "/mnt/efs", "readOnly": False}]
    groups = {k: g for k, g in resources(stacks[suffix], "aws_cloudwatch_log_group").items()}
    group = groups[log["options"]["awslogs-group"].split(".")[1]]
    assert group["name"] == f"/ecs/video-processing-{suffix}"
    assert group["retention_in_days"] == environments[suffix].log_retention_days


@pytest.mark.parametrize("suffix", ALL)
def test_execution_role_reads_exactly_the_db_secret(stacks, suffix):
    stack = stacks[suffix]
    statements = role_statements(stack, f"ecs-task-execution-{suffix}")
    read = statements["ReadDbSecret"]
    assert read["actions"] == ["secretsmanager:GetSecretValue"]
    assert len(read["resources"]) == 1 and read["resources"][0].endswith(".master_user_secret[0].secret_arn}")
    assert ("DecryptDbSecret" in statements) is (suffix == "prod")
    attached = [a["policy_arn"] for a in resources(stack, "aws_iam_role_policy_attachment").values() if "execution-role" in a["role"]]
    assert attached == ["arn:${data.aws_partition.partition.partition}:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"]


@pytest.mark.parametrize("suffix", ALL)
def test_task_role_connects_to_db_mounts_efs_and_reports(stacks, suffix):
    statements = role_statements(stacks[suffix], f"ecs-task-{suffix}")
    assert set(statements) == {"ConnectAsDbUser", "MountEfsThroughAccessPoint", "ReportToWorkflow"}
    [db_user] = statements["ConnectAsDbUser"]["resources"]
    assert ":dbuser:${aws_db_instance." in db_user and db_user.endswith(".resource_id}/postgres")
    efs = statements["MountEfsThroughAccessPoint"]
    assert efs["actions"] == ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"]
    assert efs["condition"][0]["variable"] == "elasticfilesystem:AccessPointArn"
    assert statements["ReportToWorkflow"]["actions"] == ["states:SendTaskSuccess", "states:SendTaskFailure", "states:SendTaskHeartbeat"]


@pytest.mark.parametrize("suffix", ALL)
def test_service_written_log_groups_are_precreated_with_retention(stacks, environments, suffix):
    """Log groups AWS would create on its own outlive `destroy`; ours carry the environment's retention."""
    groups = {g["name"]: g["retention_in_days"] for g in resources(stacks[suffix], "aws_cloudwatch_log_group").values()}
    days = environments[suffix].log_retention_days
    assert groups[f"/aws/ecs/containerinsights/video-processing-{suffix}/performance"] == days
    assert [d for name, d in groups.items() if name.startswith("API-Gateway-Execution-Logs_")] == [days]
    assert all(d == days for d in groups.values())
