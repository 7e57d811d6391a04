import pytest

from tests.conftest import data_sources, only, resources

ALL = ["dev", "staging", "prod", "pr123"]


@pytest.mark.parametrize("suffix", ALL)
def test_efs_encrypted_ia_after_7_days_general_purpose_bursting(stacks, suffix):
    fs = only(stacks[suffix], "aws_efs_file_system")
    assert fs["encrypted"] is True
    assert fs["lifecycle_policy"] == [{"transition_to_ia": "AFTER_7_DAYS"}]
    assert (fs["performance_mode"], fs["throughput_mode"]) == ("generalPurpose", "bursting")


@pytest.mark.parametrize("suffix", ALL)
def test_a_mount_target_per_private_subnet_with_the_efs_group(stacks, suffix):
    targets = list(resources(stacks[suffix], "aws_efs_mount_target").values())
    assert sorted(t["subnet_id"].split(".")[1].rsplit("_", 1)[0] for t in targets) == ["network_subnet-private-1", "network_subnet-private-2"]
    assert all(len(t["security_groups"]) == 1 and "network_sg-efs_" in t["security_groups"][0] for t in targets)


@pytest.mark.parametrize("suffix", ALL)
def test_access_point_fixed_user_and_root(stacks, suffix):
    point = only(stacks[suffix], "aws_efs_access_point")
    assert point["posix_user"] == {"uid": 1000, "gid": 1000}
    assert point["root_directory"]["path"] == "/videos"
    assert point["root_directory"]["creation_info"] == {"owner_uid": 1000, "owner_gid": 1000, "permissions": "750"}


@pytest.mark.parametrize("suffix", ALL)
def test_file_system_policy_denies_insecure_transport(stacks, suffix):
    stack = stacks[suffix]
    policy = only(stack, "aws_efs_file_system_policy")
    [statement] = data_sources(stack, "aws_iam_policy_document")[policy["policy"].split(".")[2]]["statement"]
    assert statement["effect"] == "Deny" and statement["actions"] == ["*"]
    assert statement["condition"] == [{"test": "Bool", "variable": "aws:SecureTransport", "values": ["false"]}]


@pytest.mark.parametrize("suffix, status", [("dev", "DISABLED"), ("pr123", "DISABLED"), ("staging", "ENABLED"), ("prod", "ENABLED")])
def test_backups_per_environment(stacks, suffix, status):
    assert only(stacks[suffix], "aws_efs_backup_policy")["backup_policy"] == {"status": status}
