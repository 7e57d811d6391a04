"""RDS PostgreSQL 15: Multi-AZ by default, encrypted, TLS-only, IAM auth, and a master password that
RDS keeps in Secrets Manager, so it never appears in Terraform configuration or state."""
from __future__ import annotations

from dataclasses import dataclass

from cdktf_cdktf_provider_aws.db_instance import DbInstance
from cdktf_cdktf_provider_aws.db_parameter_group import DbParameterGroup, DbParameterGroupParameter
from cdktf_cdktf_provider_aws.db_subnet_group import DbSubnetGroup
from constructs import Construct

from config.naming import Names
from config.settings import DatabaseSettings
from modules.common import AwsContext, log_group, protect, service_role

DATABASE_NAME = "videometadata"
MASTER_USERNAME = "postgres"
PORT = 5432


@dataclass(frozen=True)
class DatabaseOutputs:
    address: str
    port: int
    database_name: str
    username: str
    resource_id: str          # DbiResourceId, for rds-db:connect ARNs
    master_secret_arn: str    # RDS-managed secret: JSON with `username` and `password`


class Database(Construct):
    def __init__(self, scope: Construct, id_: str, *, names: Names, settings: DatabaseSettings, context: AwsContext,
                 subnet_ids: list[str], security_group_id: str, kms_key_arn: str | None,
                 log_retention_days: int, protected: bool) -> None:
        super().__init__(scope, id_)
        subnets = DbSubnetGroup(self, "subnets", name=names("rds-isolated"), subnet_ids=subnet_ids,
                                description="Isolated subnets for PostgreSQL")
        major = settings.engine_version.split(".")[0]
        parameters = DbParameterGroup(
            self, "parameters", name=names(f"rds-postgres{major}"), family=f"postgres{major}",
            description="TLS-only connections",
            parameter=[DbParameterGroupParameter(name="rds.force_ssl", value="1"),
                       DbParameterGroupParameter(name="log_connections", value="1")],
        )
        # RDS creates these on first export; creating them here sets retention and removes them on destroy.
        log_groups = [
            log_group(self, f"log-{kind}", name=f"/aws/rds/instance/{names.rds}/{kind}", retention_days=log_retention_days)
            for kind in settings.log_exports
        ]
        monitoring_role = None
        if settings.monitoring_interval_seconds:
            monitoring_role, _ = service_role(
                self, "monitoring-role", name=names.role("rds-monitoring"), service="monitoring.rds.amazonaws.com",
                managed_policy_arns=[context.managed_policy("service-role/AmazonRDSEnhancedMonitoringRole")],
            )
        instance = DbInstance(
            self, "instance",
            identifier=names.rds,
            engine="postgres", engine_version=settings.engine_version, auto_minor_version_upgrade=True,
            instance_class=settings.instance_class,
            allocated_storage=settings.allocated_storage_gb, storage_type="gp3",
            storage_encrypted=True, kms_key_id=None,  # aws/rds key; the seed left storage unencrypted
            multi_az=settings.multi_az,
            db_name=DATABASE_NAME, username=MASTER_USERNAME, port=PORT,
            manage_master_user_password=True, master_user_secret_kms_key_id=kms_key_arn,
            iam_database_authentication_enabled=True,
            db_subnet_group_name=subnets.name, vpc_security_group_ids=[security_group_id],
            publicly_accessible=False, parameter_group_name=parameters.name,
            backup_retention_period=settings.backup_retention_days, copy_tags_to_snapshot=True,
            deletion_protection=settings.deletion_protection,
            skip_final_snapshot=not settings.final_snapshot,
            final_snapshot_identifier=f"{names.rds}-final" if settings.final_snapshot else None,
            performance_insights_enabled=settings.performance_insights,
            performance_insights_retention_period=7 if settings.performance_insights else None,
            monitoring_interval=settings.monitoring_interval_seconds,
            monitoring_role_arn=monitoring_role.arn if monitoring_role else None,
            enabled_cloudwatch_logs_exports=list(settings.log_exports),
            depends_on=log_groups,
        )
        protect(instance, protected)
        self.outputs = DatabaseOutputs(
            address=instance.address, port=PORT, database_name=DATABASE_NAME, username=MASTER_USERNAME,
            resource_id=instance.resource_id, master_secret_arn=instance.master_user_secret.get(0).secret_arn,
        )
