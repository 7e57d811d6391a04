"""ECS Fargate: the cluster, the video-processor task definition and its two roles.

The container reads its database credentials from the RDS-managed secret at start (ECS secrets), so
no secret value is ever in the task definition; the EFS volume is mounted through the access point
with TLS and IAM authorization."""
from __future__ import annotations

import json
from dataclasses import dataclass

from cdktf_cdktf_provider_aws.ecs_cluster import EcsCluster, EcsClusterSetting
from cdktf_cdktf_provider_aws.ecs_cluster_capacity_providers import (
    EcsClusterCapacityProviders,
    EcsClusterCapacityProvidersDefaultCapacityProviderStrategy,
)
from cdktf_cdktf_provider_aws.ecs_task_definition import (
    EcsTaskDefinition,
    EcsTaskDefinitionRuntimePlatform,
    EcsTaskDefinitionVolume,
    EcsTaskDefinitionVolumeEfsVolumeConfiguration,
    EcsTaskDefinitionVolumeEfsVolumeConfigurationAuthorizationConfig,
)
from constructs import Construct

from config.naming import Names
from config.settings import ComputeSettings
from modules.common import AwsContext, Statement, log_group, service_role

CONTAINER_NAME = "video-processor"
EFS_VOLUME = "efs-storage"
EFS_MOUNT_PATH = "/mnt/efs"


@dataclass(frozen=True)
class ComputeInputs:
    """What the processing task needs from the data tier."""

    db_address: str
    db_resource_id: str
    db_username: str
    db_secret_arn: str
    redis_endpoint: str
    redis_port: int
    file_system_id: str
    file_system_arn: str
    access_point_id: str
    access_point_arn: str
    secrets_kms_key_arn: str | None


@dataclass(frozen=True)
class ComputeOutputs:
    cluster_arn: str
    cluster_name: str
    task_definition_arn: str
    task_role_arn: str
    execution_role_arn: str
    container_name: str


class Compute(Construct):
    def __init__(self, scope: Construct, id_: str, *, names: Names, settings: ComputeSettings, context: AwsContext,
                 inputs: ComputeInputs, log_retention_days: int) -> None:
        super().__init__(scope, id_)
        cluster = EcsCluster(self, "cluster", name=names("video-processing"),
                             setting=[EcsClusterSetting(name="containerInsights", value="enabled")])
        EcsClusterCapacityProviders(
            self, "capacity", cluster_name=cluster.name, capacity_providers=["FARGATE", "FARGATE_SPOT"],
            default_capacity_provider_strategy=[EcsClusterCapacityProvidersDefaultCapacityProviderStrategy(
                capacity_provider=settings.capacity_provider, weight=1, base=0)],
        )
        logs = log_group(self, "logs", name=f"/ecs/{names('video-processing')}", retention_days=log_retention_days)
        # Container Insights writes here; created by us, it gets a retention and goes away with the stack.
        log_group(self, "insights-logs", name=f"/aws/ecs/containerinsights/{names('video-processing')}/performance",
                  retention_days=log_retention_days)

        # Execution role: pull the image, write logs, and read exactly the secret the container uses.
        secret_read = [Statement(sid="ReadDbSecret", actions=["secretsmanager:GetSecretValue"], resources=[inputs.db_secret_arn])]
        if inputs.secrets_kms_key_arn:
            secret_read.append(Statement(sid="DecryptDbSecret", actions=["kms:Decrypt"], resources=[inputs.secrets_kms_key_arn],
                                         conditions=[("StringEquals", "kms:ViaService", [f"secretsmanager.{context.region}.amazonaws.com"])]))
        execution_role, _ = service_role(
            self, "execution-role", name=names.role("ecs-task-execution"), service="ecs-tasks.amazonaws.com",
            statements=secret_read,
            managed_policy_arns=[context.managed_policy("service-role/AmazonECSTaskExecutionRolePolicy")],
        )
        # Task role: what the processing code may do at run time.
        task_role, _ = service_role(
            self, "task-role", name=names.role("ecs-task"), service="ecs-tasks.amazonaws.com",
            statements=[
                Statement(sid="ConnectAsDbUser", actions=["rds-db:connect"], resources=[
                    context.arn("rds-db", f"dbuser:{inputs.db_resource_id}/{inputs.db_username}")]),
                Statement(sid="MountEfsThroughAccessPoint", actions=["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"],
                          resources=[inputs.file_system_arn],
                          conditions=[("StringEquals", "elasticfilesystem:AccessPointArn", [inputs.access_point_arn])]),
                # The seed's task-token callbacks; these actions have no resource-level permissions (the token scopes them).
                Statement(sid="ReportToWorkflow", actions=["states:SendTaskSuccess", "states:SendTaskFailure", "states:SendTaskHeartbeat"]),
            ],
        )
        task = EcsTaskDefinition(
            self, "task", family=names("video-processor"),
            requires_compatibilities=["FARGATE"], network_mode="awsvpc", cpu="1024", memory="2048",
            runtime_platform=EcsTaskDefinitionRuntimePlatform(operating_system_family="LINUX", cpu_architecture="X86_64"),
            execution_role_arn=execution_role.arn, task_role_arn=task_role.arn,
            container_definitions=json.dumps(container_definitions(settings, inputs, logs.name, context.region)),
            volume=[EcsTaskDefinitionVolume(name=EFS_VOLUME, efs_volume_configuration=EcsTaskDefinitionVolumeEfsVolumeConfiguration(
                file_system_id=inputs.file_system_id, transit_encryption="ENABLED",
                authorization_config=EcsTaskDefinitionVolumeEfsVolumeConfigurationAuthorizationConfig(
                    access_point_id=inputs.access_point_id, iam="ENABLED"),
            ))],
        )
        self.outputs = ComputeOutputs(
            cluster_arn=cluster.arn, cluster_name=cluster.name, task_definition_arn=task.arn,
            task_role_arn=task_role.arn, execution_role_arn=execution_role.arn, container_name=CONTAINER_NAME,
        )


def container_definitions(settings: ComputeSettings, inputs: ComputeInputs, log_group_name: str, region: str) -> list[dict]:
    return [{
        "name": CONTAINER_NAME,
        "image": settings.container_image,
        "essential": True,
        "privileged": False,
        "logConfiguration": {"logDriver": "awslogs", "options": {
            "awslogs-group": log_group_name, "awslogs-region": region, "awslogs-stream-prefix": CONTAINER_NAME}},
        # Plain values only: the database host is an address, not a secret.
        "environment": [
            {"name": "REGION", "value": region},
            {"name": "REDIS_ENDPOINT", "value": inputs.redis_endpoint},
            {"name": "REDIS_PORT", "value": str(inputs.redis_port)},
            {"name": "DB_HOST", "value": inputs.db_address},
        ],
        # Resolved by ECS from the RDS-managed secret's JSON keys when the task starts.
        "secrets": [
            {"name": "DB_USERNAME", "valueFrom": f"{inputs.db_secret_arn}:username::"},
            {"name": "DB_PASSWORD", "valueFrom": f"{inputs.db_secret_arn}:password::"},
        ],
        "mountPoints": [{"sourceVolume": EFS_VOLUME, "containerPath": EFS_MOUNT_PATH, "readOnly": False}],
    }]
