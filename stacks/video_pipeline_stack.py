"""One environment of the video pipeline, wired in the order the architecture diagram reads:
network -> data tier (secrets, database, cache, storage) -> processing tier (notifications, compute,
workflow) -> API.

Account-wide singletons (API Gateway's CloudWatch logging role) and the state bucket belong to the account stack
(stacks/account_stack.py), which must be deployed first (`make bootstrap`)."""

from __future__ import annotations

from pathlib import Path

from cdktf import TerraformStack
from cdktf_cdktf_provider_aws.data_aws_caller_identity import DataAwsCallerIdentity
from cdktf_cdktf_provider_aws.data_aws_partition import DataAwsPartition
from constructs import Construct

from config.naming import PROJECT
from config.settings import EnvironmentSettings
from modules.api.infrastructure import Api
from modules.cache import Cache
from modules.compute import Compute
from modules.context import StackContext
from modules.database import Database
from modules.firewall import WebAcl
from modules.keys import DataKey
from modules.network import Network
from modules.notifications import Notifications
from modules.secrets import Secrets
from modules.storage import Storage
from modules.workflow import Workflow
from stacks.base import outputs, pinned_provider, state_backend

# Where environment stacks kept the account's API Gateway setting (construct path api/account) before the account stack.
REMOVED_ACCOUNT_SETTING = "aws_api_gateway_account.api_account_3AA7F073"


class VideoPipelineStack(TerraformStack):
    def __init__(
        self,
        scope: Construct,
        settings: EnvironmentSettings,
        *,
        backend: str = "s3",
        local_state_dir: Path | None = None,
    ) -> None:
        names = settings.names
        super().__init__(scope, names.stack)
        self.settings = settings
        pinned_provider(
            self,
            region=settings.region,
            account_id=settings.account_id,
            assume_role_arn=settings.deploy_role_arn,
            tags={
                "Project": PROJECT,
                "Environment": settings.suffix,
                "Profile": settings.name,
                "ManagedBy": "cdktf",
                # The ad-hoc stack's time to live: the sweeper (synth/sweeper.py) destroys it once past.
                **({"ExpiresAt": settings.expires_at} if settings.expires_at else {}),
            },
        )
        self._backend(backend, local_state_dir)
        ctx = StackContext(
            names=names,
            account_id=DataAwsCallerIdentity(self, "account").account_id,
            partition=DataAwsPartition(self, "partition").partition,
            region=settings.region,
            log_retention_days=settings.log_retention_days,
            protected=settings.protect_stateful,
        )
        if settings.security.customer_managed_key:
            ctx = ctx.with_key(DataKey(self, "encryption", ctx=ctx))

        network = Network(self, "network", ctx=ctx, settings=settings.network)

        # Data tier: isolated subnets; each store listens on its own port.
        secrets = Secrets(self, "secrets", ctx=ctx, settings=settings.secrets)
        database = Database(
            self,
            "database",
            ctx=ctx,
            settings=settings.database,
            network=network,
            secrets_kms_key_arn=secrets.kms_key_arn,
        )
        cache = Cache(self, "cache", ctx=ctx, settings=settings.cache, network=network)
        storage = Storage(self, "storage", ctx=ctx, settings=settings.storage, network=network)

        # Processing tier: the task reaches the data tier; the workflow runs it and notifies.
        notifications = Notifications(self, "notifications", ctx=ctx, settings=settings.notifications)
        compute = Compute(
            self,
            "compute",
            ctx=ctx,
            settings=settings.compute,
            network=network,
            database=database,
            cache=cache,
            storage=storage,
        )
        for store in (database, cache, storage):
            store.allow_from(compute)
        database.grant_connect(compute.task_role)
        cache.grant_connect(compute.task_role)
        storage.grant_mount(compute.task_role)
        # The workflow waits on the task (.sync): the task reports nothing back, so its role has no states:* action.
        workflow = Workflow(self, "workflow", ctx=ctx, compute=compute, notifications=notifications)

        # API: starts and follows the workflow. Its stage logs through the account stack's logging role.
        api = Api(self, "api", ctx=ctx, settings=settings.api, workflow=workflow, secrets=secrets)
        if settings.security.waf:  # the web ACL owns its association: the API hands over its stage
            WebAcl(self, "firewall", ctx=ctx, settings=settings.security).protect(api.stage_arn)
        self._forget_account_singletons()

        outputs(
            self,
            {
                "vpc_id": (network.vpc_id, "VPC id"),
                "private_subnet_ids": (network.private_subnet_ids, "Private (NAT egress) subnet ids"),
                "isolated_subnet_ids": (network.isolated_subnet_ids, "Isolated subnet ids (data tier)"),
                "rds_endpoint": (database.address, "RDS PostgreSQL endpoint address"),
                "db_secret_arn": (database.master_secret_arn, "RDS-managed master credentials secret ARN"),
                "redis_primary_endpoint": (cache.primary_endpoint, "ElastiCache Redis primary endpoint (TLS)"),
                "redis_port": (cache.port, "ElastiCache Redis port"),
                "efs_file_system_id": (storage.file_system_id, "EFS file system id"),
                "efs_access_point_id": (storage.access_point_id, "EFS access point for the processing tasks"),
                "ecs_cluster_name": (compute.cluster_name, "ECS cluster name"),
                "task_definition_arn": (compute.task_definition_arn, "Video-processor task definition ARN"),
                "state_machine_arn": (workflow.state_machine_arn, "Step Functions state machine ARN"),
                "state_machine_name": (workflow.state_machine_name, "Step Functions state machine name"),
                "completion_topic_arn": (notifications.completion_topic_arn, "SNS topic for completed videos"),
                "error_topic_arn": (notifications.error_topic_arn, "SNS topic for failed videos"),
                "api_url": (api.url, "API stage URL (send the key in the x-api-key header)"),
                "api_key_id": (api.api_key_id, "API key id"),
                "api_secret_arn": (secrets.api_secret_arn, "Secrets Manager secret holding the API key value"),
                "api_function_name": (api.function_name, "Lambda function behind the API"),
            },
        )

    def _backend(self, kind: str, local_state_dir: Path | None) -> None:
        settings = self.settings
        state_backend(
            self,
            kind,
            local_state_dir,
            key=settings.names.state_key,
            bucket=settings.state_bucket,
            region=settings.state_region,
            kms_key_id=settings.state_key_alias_arn,
        )

    def _forget_account_singletons(self) -> None:
        """Until this release, the environment with `api.manage_account_logging_role` (prod) set the account's API
        Gateway logging role at `api/account`; the account stack owns it now. A `removed` block (Terraform >= 1.7)
        drops it from that environment's state without touching the account setting; where it never was, the block
        plans nothing. The old role and its policy attachment (`api/account-logging-role*`) are destroyed by the
        environment's next apply: apply the account stack (`make bootstrap`) first, so that the account points at
        its new role by then."""
        self.add_override("removed", [{"from": REMOVED_ACCOUNT_SETTING, "lifecycle": {"destroy": False}}])
