import re

import pytest
from cdktf import Testing

from tests.conftest import ENVIRONMENTS, SUFFIXES
from tests.helpers import (
    address,
    arn,
    find,
    find_all,
    kms_key,
    policy_statements,
    reference_to,
    subnets,
    trust_conditions,
)


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_postgres_15_major_only_with_automatic_minor_upgrades_encrypted_private(stacks, suffix):
    stack = stacks[suffix]
    db = find(stack, "aws_db_instance")
    # A pinned minor (15.14) plans a failing downgrade once AWS upgrades the instance.
    assert (db["engine"], db["engine_version"], db["auto_minor_version_upgrade"]) == ("postgres", "15", True)
    assert (db["instance_class"], db["allocated_storage"], db["storage_type"]) == ("db.t3.medium", 100, "gp3")
    assert db["storage_encrypted"] is True and db["publicly_accessible"] is False
    assert db["db_name"] == "videometadata" and db["identifier"] == f"rds-postgresql-{suffix}"
    assert db["iam_database_authentication_enabled"] is True
    assert db["vpc_security_group_ids"] == [
        reference_to(stack, find(stack, "aws_security_group", name=f"rds-{suffix}"), "id")
    ]


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_db_subnet_group_uses_the_isolated_subnets(stacks, suffix):
    stack = stacks[suffix]
    group = find(stack, "aws_db_subnet_group")
    assert group["subnet_ids"] == [reference_to(stack, s, "id") for s in subnets(stack, "isolated")]
    assert len(group["subnet_ids"]) == 2
    assert find(stack, "aws_db_instance")["db_subnet_group_name"] == reference_to(stack, group, "name")


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_master_password_is_managed_by_rds_and_never_in_configuration(stacks, synthesized, suffix):
    stack = stacks[suffix]
    db = find(stack, "aws_db_instance")
    assert db["manage_master_user_password"] is True
    assert "password" not in db
    assert "random_password" not in synthesized[suffix]
    assert not re.search(r'"(master_)?password"\s*:', synthesized[suffix])
    assert stack["output"]["db_secret_arn"]["value"] == reference_to(stack, db, "master_user_secret[0].secret_arn")


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_parameter_group_forces_tls(stacks, synthesized, suffix):
    assert Testing.to_have_resource_with_properties(
        synthesized[suffix],
        "aws_db_parameter_group",
        {
            "family": "postgres15",
            "parameter": [{"name": "rds.force_ssl", "value": "1"}, {"name": "log_connections", "value": "1"}],
        },
    )
    stack = stacks[suffix]
    assert find(stack, "aws_db_instance")["parameter_group_name"] == reference_to(
        stack, find(stack, "aws_db_parameter_group", family="postgres15"), "name"
    )


@pytest.mark.parametrize(
    "suffix, multi_az, backups, protection, final, insights, monitoring",
    [
        (
            env.suffix,
            env.database.multi_az,
            env.database.backup_retention_days,
            env.database.deletion_protection,
            env.database.final_snapshot,
            env.database.performance_insights,
            env.database.monitoring_interval_seconds,
        )
        for env in ENVIRONMENTS
    ],
)
def test_environment_differences(
    stacks, environments, suffix, multi_az, backups, protection, final, insights, monitoring
):
    stack = stacks[suffix]
    db = find(stack, "aws_db_instance")
    assert db["multi_az"] is multi_az
    assert db["backup_retention_period"] == backups
    assert db["deletion_protection"] is protection
    assert db["skip_final_snapshot"] is (not final)
    assert ("final_snapshot_identifier" in db) is final
    assert db["performance_insights_enabled"] is insights
    assert db["monitoring_interval"] == monitoring
    roles = find_all(stack, "aws_iam_role", name=f"rds-monitoring-{suffix}")
    assert [reference_to(stack, role, "arn") for role in roles] == ([db["monitoring_role_arn"]] if monitoring else [])
    assert db["lifecycle"].get("prevent_destroy", False) is environments[suffix].protect_stateful
    [postcondition] = db["lifecycle"]["postcondition"]  # in every environment
    assert postcondition["condition"] == "${length(self.master_user_secret) == 1}"


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_log_exports_go_to_precreated_groups_with_retention(stacks, environments, suffix):
    stack = stacks[suffix]
    db = find(stack, "aws_db_instance")
    assert db["enabled_cloudwatch_logs_exports"] == ["postgresql", "upgrade"]
    groups = [
        find(stack, "aws_cloudwatch_log_group", name=f"/aws/rds/instance/rds-postgresql-{suffix}/{kind}")
        for kind in db["enabled_cloudwatch_logs_exports"]
    ]
    assert [g["retention_in_days"] for g in groups] == [environments[suffix].log_retention_days] * 2
    assert db["depends_on"][: len(groups)] == [address(stack, g) for g in groups]  # ours exist before RDS makes them


def test_prod_master_secret_uses_the_customer_managed_key(stacks):
    """Where secrets.kms_encryption is on (prod), the RDS-managed secret uses the stack's secrets key; elsewhere
    the AWS-managed key."""
    assert {env.secrets.kms_encryption for env in ENVIRONMENTS} == {True, False}  # both kinds are checked below
    for env in ENVIRONMENTS:
        stack = stacks[env.suffix]
        db = find(stack, "aws_db_instance")
        if env.secrets.kms_encryption:
            assert db["master_user_secret_kms_key_id"] == reference_to(
                stack, kms_key(stack, f"alias/secrets-{env.suffix}"), "arn"
            )
        else:
            assert "master_user_secret_kms_key_id" not in db, env.suffix


def test_monitoring_role_trusts_rds_monitoring_only(stacks):
    monitored = next(env for env in ENVIRONMENTS if env.database.monitoring_interval_seconds)
    stack = stacks[monitored.suffix]
    role = find(stack, "aws_iam_role", name=f"rds-monitoring-{monitored.suffix}")
    [trust] = policy_statements(stack, role["assume_role_policy"])
    assert trust["actions"] == ["sts:AssumeRole"]
    assert trust["principals"] == [{"type": "Service", "identifiers": ["monitoring.rds.amazonaws.com"]}]
    # For this instance only (RDS docs): its ARN is built from the identifier, since the role must exist first.
    db = find(stack, "aws_db_instance")
    assert trust_conditions(stack, role["name"]) == {
        "aws:SourceAccount": (
            "StringEquals",
            [reference_to(stack, find(stack, "data.aws_caller_identity"), "account_id")],
        ),
        "aws:SourceArn": ("ArnLike", [arn(stack, "rds", monitored.region, f"db:{db['identifier']}")]),
    }
    assert db["identifier"] == f"rds-postgresql-{monitored.suffix}"


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_instance_waits_for_the_monitoring_roles_managed_policy(stacks, suffix):
    """RDS checks the Enhanced Monitoring role's permissions when it creates the instance: on a first apply the
    attachment must exist by then."""
    stack = stacks[suffix]
    db = find(stack, "aws_db_instance")
    attachments = [
        address(stack, attachment)
        for attachment in find_all(stack, "aws_iam_role_policy_attachment")
        if "AmazonRDSEnhancedMonitoringRole" in attachment["policy_arn"]
    ]
    assert len(attachments) == (1 if db["monitoring_interval"] else 0)
    assert set(attachments) <= set(db["depends_on"])
