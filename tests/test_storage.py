import pytest

from tests.conftest import ENVIRONMENTS, SUFFIXES
from tests.helpers import find, find_all, policy_statements, reference_to, subnets


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_efs_encrypted_ia_after_7_days_general_purpose_bursting(stacks, suffix):
    fs = find(stacks[suffix], "aws_efs_file_system")
    assert fs["encrypted"] is True
    assert fs["lifecycle_policy"] == [{"transition_to_ia": "AFTER_7_DAYS"}]
    assert (fs["performance_mode"], fs["throughput_mode"]) == ("generalPurpose", "bursting")


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_a_mount_target_per_private_subnet_with_the_efs_group(stacks, suffix):
    stack = stacks[suffix]
    fs = reference_to(stack, find(stack, "aws_efs_file_system"), "id")
    efs_group = reference_to(stack, find(stack, "aws_security_group", name=f"efs-{suffix}"), "id")
    targets = find_all(stack, "aws_efs_mount_target")
    assert [t["subnet_id"] for t in targets] == [reference_to(stack, s, "id") for s in subnets(stack, "private")]
    assert len(targets) == 2
    assert [(t["file_system_id"], t["security_groups"]) for t in targets] == [(fs, [efs_group])] * 2


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_access_point_fixed_user_and_root(stacks, suffix):
    stack = stacks[suffix]
    point = find(stack, "aws_efs_access_point")
    assert point["file_system_id"] == reference_to(stack, find(stack, "aws_efs_file_system"), "id")
    assert point["posix_user"] == {"uid": 1000, "gid": 1000}
    assert point["root_directory"]["path"] == "/videos"
    assert point["root_directory"]["creation_info"] == {"owner_uid": 1000, "owner_gid": 1000, "permissions": "750"}


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_file_system_policy_denies_insecure_transport(stacks, suffix):
    stack = stacks[suffix]
    fs = find(stack, "aws_efs_file_system")
    policy = find(stack, "aws_efs_file_system_policy", file_system_id=reference_to(stack, fs, "id"))
    [statement] = policy_statements(stack, policy["policy"])
    assert statement["effect"] == "Deny" and statement["actions"] == ["*"]
    assert statement["resources"] == [reference_to(stack, fs, "arn")]
    assert statement["condition"] == [{"test": "Bool", "variable": "aws:SecureTransport", "values": ["false"]}]


@pytest.mark.parametrize(
    "suffix, status", [(env.suffix, "ENABLED" if env.storage.backups else "DISABLED") for env in ENVIRONMENTS]
)
def test_backups_per_environment(stacks, suffix, status):
    assert find(stacks[suffix], "aws_efs_backup_policy")["backup_policy"] == {"status": status}
