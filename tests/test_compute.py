import json

import pytest

from tests.conftest import ENVIRONMENTS, SUFFIXES
from tests.helpers import arn, find, find_all, kms_key, reference_to, referenced, role_statements


def container(stack: dict) -> dict:
    [definition] = json.loads(find(stack, "aws_ecs_task_definition")["container_definitions"])
    return definition


@pytest.mark.parametrize("suffix, default", [(env.suffix, env.compute.capacity_provider) for env in ENVIRONMENTS])
def test_cluster_with_container_insights_and_fargate_capacity(stacks, suffix, default):
    stack = stacks[suffix]
    cluster = find(stack, "aws_ecs_cluster")
    assert cluster["name"] == f"video-processing-{suffix}"
    assert cluster["setting"] == [{"name": "containerInsights", "value": "enabled"}]
    capacity = find(stack, "aws_ecs_cluster_capacity_providers")
    assert capacity["cluster_name"] == reference_to(stack, cluster, "name")
    assert capacity["capacity_providers"] == ["FARGATE", "FARGATE_SPOT"]
    assert capacity["default_capacity_provider_strategy"] == [{"capacity_provider": default, "weight": 1, "base": 0}]


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_fargate_task_definition_shape(stacks, suffix):
    stack = stacks[suffix]
    task = find(stack, "aws_ecs_task_definition")
    assert (task["cpu"], task["memory"], task["network_mode"]) == ("1024", "2048", "awsvpc")
    assert task["requires_compatibilities"] == ["FARGATE"]
    assert task["runtime_platform"] == {"operating_system_family": "LINUX", "cpu_architecture": "X86_64"}
    execution_role = find(stack, "aws_iam_role", name=f"ecs-task-execution-{suffix}")
    assert task["execution_role_arn"] == reference_to(stack, execution_role, "arn")
    assert task["task_role_arn"] == reference_to(stack, find(stack, "aws_iam_role", name=f"ecs-task-{suffix}"), "arn")
    [volume] = task["volume"]
    efs = volume["efs_volume_configuration"]
    assert efs["file_system_id"] == reference_to(stack, find(stack, "aws_efs_file_system"), "id")
    assert efs["transit_encryption"] == "ENABLED"
    assert efs["authorization_config"] == {
        "iam": "ENABLED",
        "access_point_id": reference_to(stack, find(stack, "aws_efs_access_point"), "id"),
    }


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_container_definition_keeps_secrets_out_of_plain_environment(stacks, environments, suffix):
    stack = stacks[suffix]
    definition = container(stack)
    db = find(stack, "aws_db_instance")
    # The database credentials reach the container only through `secrets`, which ECS resolves when the task starts:
    # nowhere else in the definition (environment, log options, command, labels ...) names a secret.
    elsewhere = json.dumps({key: value for key, value in definition.items() if key != "secrets"})
    assert "master_user_secret" not in elsewhere and "aws_secretsmanager_secret." not in elsewhere
    secret = reference_to(stack, db, "master_user_secret[0].secret_arn")
    assert {s["name"]: s["valueFrom"] for s in definition["secrets"]} == {
        "DB_USERNAME": f"{secret}:username::",
        "DB_PASSWORD": f"{secret}:password::",
    }
    assert {e["name"]: e["value"] for e in definition["environment"]} == {
        "REGION": environments[suffix].region,
        "REDIS_ENDPOINT": reference_to(
            stack, find(stack, "aws_elasticache_replication_group"), "primary_endpoint_address"
        ),
        "REDIS_PORT": "6379",
        "DB_HOST": reference_to(stack, db, "address"),
    }


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_container_is_not_privileged_logs_to_awslogs_and_mounts_efs(stacks, environments, suffix):
    stack = stacks[suffix]
    definition = container(stack)
    assert definition["privileged"] is False and definition["essential"] is True
    assert definition["image"] == environments[suffix].compute.container_image
    log = definition["logConfiguration"]
    assert log["logDriver"] == "awslogs" and log["options"]["awslogs-region"] == environments[suffix].region
    assert definition["mountPoints"] == [
        {"sourceVolume": "efs-storage", "containerPath": "/mnt/efs", "readOnly": False}
    ]
    group = referenced(stack, log["options"]["awslogs-group"], "name")
    assert group["name"] == f"/ecs/video-processing-{suffix}"
    assert group["retention_in_days"] == environments[suffix].log_retention_days


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_execution_role_reads_exactly_the_db_secret(stacks, environments, suffix):
    stack = stacks[suffix]
    statements = role_statements(stack, f"ecs-task-execution-{suffix}")
    read = statements["ReadDbSecret"]
    assert read["actions"] == ["secretsmanager:GetSecretValue"]
    assert read["resources"] == [
        reference_to(stack, find(stack, "aws_db_instance"), "master_user_secret[0].secret_arn")
    ]
    encrypted = environments[suffix].secrets.kms_encryption
    assert ("DecryptDbSecret" in statements) is encrypted
    if encrypted:
        assert statements["DecryptDbSecret"]["resources"] == [
            reference_to(stack, kms_key(stack, f"alias/secrets-{suffix}"), "arn")
        ]
    role = find(stack, "aws_iam_role", name=f"ecs-task-execution-{suffix}")
    attached = [
        a["policy_arn"]
        for a in find_all(stack, "aws_iam_role_policy_attachment", role=reference_to(stack, role, "name"))
    ]
    assert attached == [arn(stack, "iam", "", "policy/service-role/AmazonECSTaskExecutionRolePolicy", account="aws")]


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_task_role_connects_to_db_mounts_efs_and_reports(stacks, environments, suffix):
    stack = stacks[suffix]
    statements = role_statements(stack, f"ecs-task-{suffix}")
    assert set(statements) == {"ConnectAsDbUser", "MountEfsThroughAccessPoint", "ReportToWorkflow"}
    db_user = f"dbuser:{reference_to(stack, find(stack, 'aws_db_instance'), 'resource_id')}/postgres"
    assert statements["ConnectAsDbUser"]["resources"] == [arn(stack, "rds-db", environments[suffix].region, db_user)]
    efs = statements["MountEfsThroughAccessPoint"]
    assert efs["actions"] == ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"]
    assert efs["resources"] == [reference_to(stack, find(stack, "aws_efs_file_system"), "arn")]
    assert efs["condition"] == [
        {
            "test": "StringEquals",
            "variable": "elasticfilesystem:AccessPointArn",
            "values": [reference_to(stack, find(stack, "aws_efs_access_point"), "arn")],
        }
    ]
    assert statements["ReportToWorkflow"]["actions"] == [
        "states:SendTaskSuccess",
        "states:SendTaskFailure",
        "states:SendTaskHeartbeat",
    ]


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_service_written_log_groups_are_precreated_with_retention(stacks, environments, suffix):
    """Log groups AWS would create on its own outlive `destroy`; ours carry the environment's retention."""
    stack = stacks[suffix]
    days = environments[suffix].log_retention_days
    insights = find(
        stack, "aws_cloudwatch_log_group", name=f"/aws/ecs/containerinsights/video-processing-{suffix}/performance"
    )
    rest_api = reference_to(stack, find(stack, "aws_api_gateway_rest_api"), "id")
    execution = find(
        stack,
        "aws_cloudwatch_log_group",
        name=f"API-Gateway-Execution-Logs_{rest_api}/{environments[suffix].api.stage_name}",
    )
    assert insights["retention_in_days"] == execution["retention_in_days"] == days
    groups = find_all(stack, "aws_cloudwatch_log_group")
    assert {g["name"]: g["retention_in_days"] for g in groups if g["retention_in_days"] != days} == {}
