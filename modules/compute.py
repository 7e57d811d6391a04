"""ECS Fargate: the cluster, the video-processor task definition and its two roles.

The container reads its database credentials from the RDS-managed secret at start (ECS secrets), so
no secret value is ever in the task definition; the EFS volume is mounted through the access point
with TLS and IAM authorization. Redis takes no password: the task role signs an IAM token for
REDIS_USER (modules/cache.py says how).

The container is locked down (FSBP ECS.5 and beyond): a read-only root file system, the EFS access point's
POSIX user (uid:gid 1000:1000) instead of root, and no Linux capability at all. It may write to the EFS mount and to
/tmp, a bind mount on the task's ephemeral storage (Fargate has no tmpfs). Fargate creates such a mount owned by root,
mode 0755, unless the image declares `VOLUME ["/tmp"]` over a /tmp it owns or opens (1777): an image that needs /tmp
declares it; the shipped job writes under the EFS mount only."""

from __future__ import annotations

import json
from typing import Any

from cdktf_cdktf_provider_aws.ecs_cluster import EcsCluster, EcsClusterSetting
from cdktf_cdktf_provider_aws.ecs_cluster_capacity_providers import (
    EcsClusterCapacityProviders,
    EcsClusterCapacityProvidersDefaultCapacityProviderStrategy,
)
from cdktf_cdktf_provider_aws.ecs_task_definition import (
    EcsTaskDefinition,
    EcsTaskDefinitionRuntimePlatform,
    EcsTaskDefinitionVolume,
)
from constructs import Construct

from config.settings import ComputeSettings
from modules.cache import Cache
from modules.context import StackContext
from modules.database import Database
from modules.iam import Role, Statement, source_conditions
from modules.network import Connections, Network
from modules.storage import POSIX_UID, Storage

CONTAINER_NAME = "video-processor"
EFS_VOLUME = "efs-storage"
EFS_MOUNT_PATH = "/mnt/efs"
SCRATCH_VOLUME = "scratch"  # a volume without configuration: on Fargate, a bind mount on the task's ephemeral storage
SCRATCH_PATH = "/tmp"  # noqa: S108  (a path inside the container, on its own volume)
CONTAINER_USER = f"{POSIX_UID}:{POSIX_UID}"  # the EFS access point's POSIX user: files on the mount stay its own


class Compute(Construct):
    """The processing task. `task_role` is what its code may do at run time: the stack grants it."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        ctx: StackContext,
        settings: ComputeSettings,
        network: Network,
        database: Database,
        cache: Cache,
        storage: Storage,
    ) -> None:
        super().__init__(scope, id_)
        self._ctx = ctx
        names = ctx.names
        self.connections: Connections = network.security_group(
            "ecs", name_base="ecs-tasks", description="ECS tasks", label="ECS tasks"
        )
        # Tasks pull images and reach AWS APIs through the NAT.
        self.connections.allow_all_outbound("All outbound (images, AWS APIs)")
        self.subnet_ids: list[str] = network.private_subnet_ids  # where tasks run

        # Container Insights writes here; created by us, it gets a retention and goes away with the stack. Before the
        # cluster: a cluster that starts first creates the group itself, and our create then fails (already exists).
        insights_logs = ctx.log_group(
            self, "insights-logs", name=f"/aws/ecs/containerinsights/{names('video-processing')}/performance"
        )
        cluster = EcsCluster(
            self,
            "cluster",
            name=names("video-processing"),
            setting=[EcsClusterSetting(name="containerInsights", value="enabled")],
            depends_on=[insights_logs],
        )
        EcsClusterCapacityProviders(
            self,
            "capacity",
            cluster_name=cluster.name,
            capacity_providers=["FARGATE", "FARGATE_SPOT"],
            default_capacity_provider_strategy=[
                EcsClusterCapacityProvidersDefaultCapacityProviderStrategy(
                    capacity_provider=settings.capacity_provider, weight=1, base=0
                )
            ],
        )
        logs = ctx.log_group(self, "logs", name=f"/ecs/{names('video-processing')}")

        # ECS may assume either role for this account's tasks in this region only. The ECS docs give this condition
        # for the task role (one cluster's ARN is not supported as the source: `arn:...:ecs:<region>:<account>:*`);
        # the execution role has the same principal and is assumed when the same task starts.
        from_ecs = source_conditions(ctx.account_id, ctx.arn("ecs", "*"))
        # Execution role: pull the image, write logs, and read exactly the secret the container uses.
        self.execution_role = Role(
            self,
            "execution-role",
            name=names.role("ecs-task-execution"),
            service="ecs-tasks.amazonaws.com",
            trust_conditions=from_ecs,
            managed_policies=[ctx.managed_policy("service-role/AmazonECSTaskExecutionRolePolicy")],
        )
        database.grant_read_credentials(self.execution_role)
        self.task_role = Role(
            self, "task-role", name=names.role("ecs-task"), service="ecs-tasks.amazonaws.com", trust_conditions=from_ecs
        )
        task = EcsTaskDefinition(
            self,
            "task",
            family=names("video-processor"),
            requires_compatibilities=["FARGATE"],
            network_mode="awsvpc",
            cpu="1024",
            memory="2048",
            runtime_platform=EcsTaskDefinitionRuntimePlatform(
                operating_system_family="LINUX", cpu_architecture="X86_64"
            ),
            execution_role_arn=self.execution_role.arn,
            task_role_arn=self.task_role.arn,
            container_definitions=json.dumps(container_definitions(settings, ctx, database, cache, logs.name)),
            volume=[storage.task_volume(EFS_VOLUME), EcsTaskDefinitionVolume(name=SCRATCH_VOLUME)],
            # A change registers a new revision and keeps the old one ACTIVE: a retry in flight (the workflow names the
            # revision it started with) would otherwise run an INACTIVE revision and fail.
            skip_destroy=True,
        )
        self.cluster_arn: str = cluster.arn
        self.cluster_name: str = cluster.name
        self.task_definition_arn: str = task.arn
        self._family_arn: str = task.arn_without_revision
        self.container_name = CONTAINER_NAME

    def grant_run(self, role: Role) -> None:
        """Run this task definition on this cluster, follow and stop its tasks, and hand it its two roles."""
        role.add(
            Statement(
                sid="RunTask",
                actions=["ecs:RunTask"],
                # Every revision of the family: an execution started before a deploy retries with its own revision.
                resources=[f"{self._family_arn}:*"],
                conditions=[("ArnEquals", "ecs:cluster", [self.cluster_arn])],
            ),
            Statement(
                sid="FollowTask",
                actions=["ecs:StopTask", "ecs:DescribeTasks"],
                resources=[self._ctx.arn("ecs", f"task/{self.cluster_name}/*")],
            ),
            Statement(
                sid="PassTaskRoles",
                actions=["iam:PassRole"],
                resources=[self.task_role.arn, self.execution_role.arn],
                conditions=[("StringEquals", "iam:PassedToService", ["ecs-tasks.amazonaws.com"])],
            ),
        )


def literal(text: str) -> str:
    """`text` as Terraform reads it back: a shell's `${VAR:-}` would otherwise be parsed as an interpolation."""
    return text.replace("${", "$${").replace("%{", "%%{")


def container_definitions(
    settings: ComputeSettings, ctx: StackContext, database: Database, cache: Cache, log_group_name: str
) -> list[dict[str, Any]]:
    region = ctx.region
    return [
        {
            "name": CONTAINER_NAME,
            "image": settings.container_image,
            # The job must end: the workflow waits for the task to stop (ecs:runTask.sync).
            **({"entryPoint": [literal(item) for item in settings.entry_point]} if settings.entry_point else {}),
            **({"command": [literal(item) for item in settings.command]} if settings.command else {}),
            "essential": True,
            "privileged": False,
            # Locked down: nothing but the two mounts below is writable, no root, no capability.
            "readonlyRootFilesystem": True,
            "user": CONTAINER_USER,
            "linuxParameters": {"capabilities": {"drop": ["ALL"]}},
            "logConfiguration": {
                "logDriver": "awslogs",
                "options": {
                    "awslogs-group": log_group_name,
                    "awslogs-region": region,
                    "awslogs-stream-prefix": CONTAINER_NAME,
                },
            },
            # Plain values only: the database host is an address, not a secret. The workflow adds VIDEO_ID per run.
            # Both stores refuse plain-text clients: Redis has transit encryption (REDIS_URL's rediss:// scheme), the
            # database rds.force_ssl (PGSSLMODE, read by libpq and most PostgreSQL drivers). Redis admits REDIS_USER
            # with an IAM token the task role signs for REDIS_REPLICATION_GROUP_ID (REDIS_AUTH=iam; modules/cache.py).
            "environment": [
                {"name": "ENVIRONMENT", "value": ctx.environment},
                {"name": "REGION", "value": region},
                {"name": "REDIS_ENDPOINT", "value": cache.primary_endpoint},
                {"name": "REDIS_PORT", "value": str(cache.port)},
                {"name": "REDIS_TLS", "value": "true"},
                {"name": "REDIS_URL", "value": f"rediss://{cache.primary_endpoint}:{cache.port}"},
                {"name": "REDIS_USER", "value": cache.user_name},
                {"name": "REDIS_AUTH", "value": "iam"},
                {"name": "REDIS_REPLICATION_GROUP_ID", "value": cache.replication_group_id},
                {"name": "DB_HOST", "value": database.address},
                {"name": "DB_PORT", "value": str(database.port)},
                {"name": "DB_NAME", "value": database.name},
                {"name": "PGSSLMODE", "value": "require"},
            ],
            # Resolved by ECS from the RDS-managed secret's JSON keys when the task starts.
            "secrets": [
                {"name": "DB_USERNAME", "valueFrom": database.credentials_field("username")},
                {"name": "DB_PASSWORD", "valueFrom": database.credentials_field("password")},
            ],
            "mountPoints": [
                {"sourceVolume": EFS_VOLUME, "containerPath": EFS_MOUNT_PATH, "readOnly": False},
                {"sourceVolume": SCRATCH_VOLUME, "containerPath": SCRATCH_PATH, "readOnly": False},
            ],
        }
    ]
