import re

import pytest
from cdktf import Testing

from tests.conftest import data_sources, only, resources

ALL = ["dev", "staging", "prod", "pr123"]


@pytest.mark.parametrize("suffix", ALL)
def test_postgres_15_on_a_supported_minor_version_encrypted_private(stacks, suffix):
    db = only(stacks[suffix], "aws_db_instance")
    assert db["engine"] == "postgres" and re.fullmatch(r"15\.\d+", db["engine_version"]) and db["engine_version"] != "15.3"
    assert (db["instance_class"], db["allocated_storage"], db["storage_type"]) == ("db.t3.medium", 100, "gp3")
    assert db["storage_encrypted"] is True and db["publicly_accessible"] is False
    assert db["db_name"] == "videometadata" and db["identifier"] == f"rds-postgresql-{suffix}"
    assert db["iam_database_authentication_enabled"] is True
    assert db["vpc_security_group_ids"] == ["${aws_security_group.%s.id}" % next(
        k for k in resources(stacks[suffix], "aws_security_group") if k.startswith("network_sg-rds_"))]


@pytest.mark.parametrize("suffix", ALL)
def test_db_subnet_group_uses_the_isolated_subnets(stacks, suffix):
    group = only(stacks[suffix], "aws_db_subnet_group")
    assert all("subnet-isolated" in ref for ref in group["subnet_ids"]) and len(group["subnet_ids"]) == 2


@pytest.mark.parametrize("suffix", ALL)
def test_master_password_is_managed_by_rds_and_never_in_configuration(stacks, synthesized, suffix):
    db = only(stacks[suffix], "aws_db_instance")
    assert db["manage_master_user_password"] is True
    assert "password" not in db
    assert "random_password" not in synthesized[suffix]
    assert not re.search(r'"(master_)?password"\s*:', synthesized[suffix])
    assert stacks[suffix]["output"]["db_secret_arn"]["value"].endswith(".master_user_secret[0].secret_arn}")


@pytest.mark.parametrize("suffix", ALL)
def test_parameter_group_forces_tls(synthesized, suffix):
    assert Testing.to_have_resource_with_properties(synthesized[suffix], "aws_db_parameter_group", {
        "family": "postgres15", "parameter": [{"name": "rds.force_ssl", "value": "1"}, {"name": "log_connections", "value": "1"}],
    })


@pytest.mark.parametrize("suffix, multi_az, backups, protection, final, insights, monitoring", [
    ("dev", False, 7, False, False, False, 0),
    ("pr123", False, 7, False, False, False, 0),
    ("staging", True, 7, False, False, True, 60),
    ("prod", True, 30, True, True, True, 60),
])
def test_environment_differences(stacks, suffix, multi_az, backups, protection, final, insights, monitoring):
    stack = stacks[suffix]
    db = only(stack, "aws_db_instance")
    assert db["multi_az"] is multi_az
    assert db["backup_retention_period"] == backups
    assert db["deletion_protection"] is protection
    assert db["skip_final_snapshot"] is (not final)
    assert ("final_snapshot_identifier" in db) is final
    assert db["performance_insights_enabled"] is insights
    assert db["monitoring_interval"] == monitoring
    roles = [r for r in resources(stack, "aws_iam_role").values() if r["name"] == f"rds-monitoring-{suffix}"]
    assert len(roles) == (1 if monitoring else 0)
    assert (db.get("lifecycle") == {"prevent_destroy": True}) is (suffix == "prod")


@pytest.mark.parametrize("suffix", ALL)
def test_log_exports_go_to_precreated_groups_with_retention(stacks, environments, suffix):
    stack = stacks[suffix]
    db = only(stack, "aws_db_instance")
    assert db["enabled_cloudwatch_logs_exports"] == ["postgresql", "upgrade"]
    names = {g["name"]: g["retention_in_days"] for g in resources(stack, "aws_cloudwatch_log_group").values()}
    for kind in db["enabled_cloudwatch_logs_exports"]:
        assert names[f"/aws/rds/instance/rds-postgresql-{suffix}/{kind}"] == environments[suffix].log_retention_days


def test_prod_master_secret_uses_the_customer_managed_key(stacks):
    assert only(stacks["prod"], "aws_db_instance")["master_user_secret_kms_key_id"].startswith("${aws_kms_key.")
    assert "master_user_secret_kms_key_id" not in only(stacks["dev"], "aws_db_instance")


def test_monitoring_role_trusts_rds_monitoring_only(stacks):
    stack = stacks["prod"]
    role = next(r for r in resources(stack, "aws_iam_role").values() if r["name"] == "rds-monitoring-prod")
    trust = data_sources(stack, "aws_iam_policy_document")[role["assume_role_policy"].split(".")[2]]
    assert trust["statement"][0]["principals"] == [{"type": "Service", "identifiers": ["monitoring.rds.amazonaws.com"]}]
