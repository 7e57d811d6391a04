"""RDS PostgreSQL 15: Multi-AZ by default, encrypted, TLS-only, IAM auth, and a master password that
RDS keeps in Secrets Manager, so it never appears in Terraform configuration or state."""

from __future__ import annotations

from cdktf_cdktf_provider_aws.db_instance import DbInstance
from cdktf_cdktf_provider_aws.db_parameter_group import DbParameterGroup, DbParameterGroupParameter
from cdktf_cdktf_provider_aws.db_subnet_group import DbSubnetGroup
from constructs import Construct

from config.settings import DatabaseSettings
from modules.context import StackContext
from modules.iam import Role, Statement, source_conditions
from modules.network import Connections, HasConnections, Network

DATABASE_NAME = "videometadata"
MASTER_USERNAME = "postgres"
PORT = 5432


class Database(Construct):
    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        ctx: StackContext,
        settings: DatabaseSettings,
        network: Network,
        secrets_kms_key_arn: str | None,
    ) -> None:
        super().__init__(scope, id_)
        self._ctx, self._secrets_kms_key_arn = ctx, secrets_kms_key_arn
        names = ctx.names
        # The description is immutable (a change replaces the group): it names the first-release peer.
        self.connections: Connections = network.security_group(
            "rds", name_base="rds", description="RDS: PostgreSQL from ECS tasks", port=PORT, protocol="PostgreSQL"
        )
        subnets = DbSubnetGroup(
            self,
            "subnets",
            name=names("rds-isolated"),
            subnet_ids=network.isolated_subnet_ids,
            description="Isolated subnets for PostgreSQL",
        )
        major = settings.engine_version
        parameters = DbParameterGroup(
            self,
            "parameters",
            name=names(f"rds-postgres{major}"),
            family=f"postgres{major}",
            description="TLS-only connections",
            parameter=[
                DbParameterGroupParameter(name="rds.force_ssl", value="1"),
                DbParameterGroupParameter(name="log_connections", value="1"),
            ],
        )
        # RDS creates these on first export; creating them here sets retention and removes them on destroy.
        log_groups = [
            ctx.log_group(self, f"log-{kind}", name=f"/aws/rds/instance/{names.rds}/{kind}")
            for kind in settings.log_exports
        ]
        monitoring_role = None
        if settings.monitoring_interval_seconds:
            monitoring_role = Role(
                self,
                "monitoring-role",
                name=names.role("rds-monitoring"),
                service="monitoring.rds.amazonaws.com",
                # This instance only, its ARN built from the identifier: the instance needs the role to exist first.
                trust_conditions=source_conditions(ctx.account_id, ctx.arn("rds", f"db:{names.rds}")),
                managed_policies=[ctx.managed_policy("service-role/AmazonRDSEnhancedMonitoringRole")],
                inline_policy=False,
            )
        key = ctx.encryption_key("rds")  # None: the aws/rds key
        instance = DbInstance(
            self,
            "instance",
            identifier=names.rds,
            engine="postgres",
            # The major version only: AWS applies minor upgrades in the maintenance window, and the provider keeps a
            # prefix that matches engine_version_actual, so an upgraded instance plans no downgrade.
            engine_version=settings.engine_version,
            auto_minor_version_upgrade=True,
            instance_class=settings.instance_class,
            allocated_storage=settings.allocated_storage_gb,
            storage_type="gp3",
            storage_encrypted=True,
            kms_key_id=key,  # the seed left storage unencrypted
            multi_az=settings.multi_az,
            db_name=DATABASE_NAME,
            username=MASTER_USERNAME,
            port=PORT,
            manage_master_user_password=True,
            master_user_secret_kms_key_id=secrets_kms_key_arn,
            iam_database_authentication_enabled=True,
            db_subnet_group_name=subnets.name,
            vpc_security_group_ids=[self.connections.security_group_id],
            publicly_accessible=False,
            parameter_group_name=parameters.name,
            backup_retention_period=settings.backup_retention_days,
            copy_tags_to_snapshot=True,
            deletion_protection=settings.deletion_protection,
            skip_final_snapshot=not settings.final_snapshot,
            final_snapshot_identifier=f"{names.rds}-final" if settings.final_snapshot else None,
            performance_insights_enabled=settings.performance_insights,
            performance_insights_retention_period=7 if settings.performance_insights else None,
            performance_insights_kms_key_id=key if settings.performance_insights else None,
            monitoring_interval=settings.monitoring_interval_seconds,
            monitoring_role_arn=monitoring_role.arn if monitoring_role else None,
            enabled_cloudwatch_logs_exports=list(settings.log_exports),
            # Enhanced Monitoring checks the role's managed policy when the instance is created.
            depends_on=[*log_groups, *(monitoring_role.ready if monitoring_role else [])],
        )
        ctx.protect(instance)
        # The container's secrets, its execution role and an output read master_user_secret[0].
        instance.add_override(
            "lifecycle.postcondition",
            [
                {
                    "condition": "${length(self.master_user_secret) == 1}",
                    "error_message": "RDS reports no managed master secret (manage_master_user_password).",
                }
            ],
        )
        self._resource_id: str = instance.resource_id
        self.address: str = instance.address
        self.port = PORT
        self.name = DATABASE_NAME
        self.username = MASTER_USERNAME
        # RDS-managed secret: JSON with `username` and `password`.
        self.master_secret_arn: str = instance.master_user_secret.get(0).secret_arn

    def allow_from(self, peer: HasConnections) -> None:
        self.connections.allow_from(peer.connections)

    def grant_connect(self, role: Role, user: str = MASTER_USERNAME) -> None:
        """IAM database authentication as `user` (rds-db:connect on this instance only)."""
        role.add(
            Statement(
                sid="ConnectAsDbUser",
                actions=["rds-db:connect"],
                resources=[self._ctx.arn("rds-db", f"dbuser:{self._resource_id}/{user}")],
            )
        )

    def grant_read_credentials(self, role: Role) -> None:
        """Read the master secret, and decrypt it through Secrets Manager when it has its own key."""
        role.add(
            Statement(sid="ReadDbSecret", actions=["secretsmanager:GetSecretValue"], resources=[self.master_secret_arn])
        )
        if self._secrets_kms_key_arn:
            via = f"secretsmanager.{self._ctx.region}.amazonaws.com"
            role.add(
                Statement(
                    sid="DecryptDbSecret",
                    actions=["kms:Decrypt"],
                    resources=[self._secrets_kms_key_arn],
                    conditions=[("StringEquals", "kms:ViaService", [via])],
                )
            )

    def credentials_field(self, key: str) -> str:
        """An ECS `secrets[].valueFrom` for one JSON key of the master secret (`username`, `password`)."""
        return f"{self.master_secret_arn}:{key}::"
