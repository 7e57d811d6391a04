import json
from pathlib import Path

import pytest

from modules.compute import literal
from tests.conftest import ENVIRONMENTS, SUFFIXES
from tests.helpers import (
    address,
    arn,
    find,
    find_all,
    kms_key,
    reference_to,
    referenced,
    role_statements,
    trust_conditions,
)


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
    volumes = {volume["name"]: volume for volume in task["volume"]}
    assert sorted(volumes) == ["efs-storage", "scratch"]
    # No configuration: on Fargate, a bind mount on the task's ephemeral storage (Fargate has no tmpfs).
    assert volumes["scratch"] == {"name": "scratch"}
    efs = volumes["efs-storage"]["efs_volume_configuration"]
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
    redis = reference_to(stack, find(stack, "aws_elasticache_replication_group"), "primary_endpoint_address")
    assert {e["name"]: e["value"] for e in definition["environment"]} == {
        "ENVIRONMENT": suffix,
        "REGION": environments[suffix].region,
        "REDIS_ENDPOINT": redis,
        "REDIS_PORT": "6379",
        # Both stores refuse plain-text clients (transit encryption; rds.force_ssl).
        "REDIS_TLS": "true",
        "REDIS_URL": f"rediss://{redis}:6379",
        # What the client signs an IAM authentication token with: the user, for the replication group.
        "REDIS_USER": reference_to(
            stack, find(stack, "aws_elasticache_user", user_name=f"redis-app-{suffix}"), "user_name"
        ),
        "REDIS_AUTH": "iam",
        "REDIS_REPLICATION_GROUP_ID": reference_to(
            stack, find(stack, "aws_elasticache_replication_group"), "replication_group_id"
        ),
        "DB_HOST": reference_to(stack, db, "address"),
        "DB_PORT": "5432",
        "DB_NAME": db["db_name"],
        "PGSSLMODE": "require",
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
        {"sourceVolume": "efs-storage", "containerPath": "/mnt/efs", "readOnly": False},
        {"sourceVolume": "scratch", "containerPath": "/tmp", "readOnly": False},  # noqa: S108  (the container's)
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
def test_task_role_connects_to_db_and_redis_and_mounts_efs(stacks, environments, suffix):
    stack = stacks[suffix]
    statements = role_statements(stack, f"ecs-task-{suffix}")
    assert set(statements) == {"ConnectAsDbUser", "ConnectToRedis", "MountEfsThroughAccessPoint"}
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
    # The workflow waits on the task (ecs:runTask.sync): no task token comes back, so no states:SendTask* either.
    actions = [action for statement in statements.values() for action in statement["actions"]]
    assert not [action for action in actions if action.startswith("states:")]
    assert all(statement.get("resources") not in (None, ["*"]) for statement in statements.values())


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
    # Ours before the cluster: a cluster that reports first creates the group, and our create then fails.
    assert find(stack, "aws_ecs_cluster")["depends_on"] == [address(stack, insights)]
    groups = find_all(stack, "aws_cloudwatch_log_group")
    assert {g["name"]: g["retention_in_days"] for g in groups if g["retention_in_days"] != days} == {}


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_revisions_stay_active_after_a_change(stacks, suffix):
    """A change registers a new revision; the old one must stay ACTIVE for an execution that retries with it."""
    assert find(stacks[suffix], "aws_ecs_task_definition")["skip_destroy"] is True


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_the_job_is_the_settings_finite_command(stacks, environments, suffix):
    settings = environments[suffix].compute
    definition = container(stacks[suffix])
    assert definition["image"] == settings.container_image
    # Terraform unescapes $${ and %%{: the container receives the settings' text.
    assert definition["entryPoint"] == [literal(item) for item in settings.entry_point]
    assert definition["command"] == [literal(item) for item in settings.command]


def test_literal_escapes_terraform_template_sequences():
    assert literal('echo "${VIDEO_ID:-}" %{x} $HOME') == 'echo "$${VIDEO_ID:-}" %%{x} $HOME'


def test_default_job_records_the_video_under_the_mount_and_exits(tmp_path):
    """The shipped command, run by /bin/sh with the EFS mount moved to a scratch folder: it ends, 0 for a valid video
    id (the file it leaves names the environment), 2 for an id that could leave the videos folder."""
    import os
    import subprocess

    command = ENVIRONMENTS[0].compute.command[0].replace("/mnt/efs", str(tmp_path))
    entry = ENVIRONMENTS[0].compute.entry_point

    def run(video_id: str) -> subprocess.CompletedProcess[str]:
        env = {"PATH": os.environ["PATH"], "VIDEO_ID": video_id, "ENVIRONMENT": "dev"}
        return subprocess.run([*entry, command], env=env, capture_output=True, text=True, timeout=10, check=False)

    done = run("clip-42")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "videos" / "clip-42" / "processed").read_text().startswith("dev ")
    for bad in ("", "../etc", "a b", "x;rm"):
        refused = run(bad)
        assert refused.returncode == 2 and "invalid VIDEO_ID" in refused.stderr, bad
    assert sorted(p.name for p in (tmp_path / "videos").iterdir()) == ["clip-42"]


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_container_is_locked_down(stacks, suffix):
    """FSBP ECS.5 and beyond: a read-only root file system, the EFS access point's POSIX user instead of root, no Linux
    capability; it writes to its two mounts only."""
    stack = stacks[suffix]
    definition = container(stack)
    assert definition["readonlyRootFilesystem"] is True
    posix = find(stack, "aws_efs_access_point")["posix_user"]
    assert definition["user"] == f"{posix['uid']}:{posix['gid']}" == "1000:1000"  # files on EFS stay its own
    assert definition["linuxParameters"] == {"capabilities": {"drop": ["ALL"]}}  # and none added
    assert definition["privileged"] is False
    # Every writable path is a mount of a volume the task declares: the EFS mount and the scratch /tmp.
    volumes = {volume["name"] for volume in find(stack, "aws_ecs_task_definition")["volume"]}
    writable = {m["containerPath"]: m["sourceVolume"] for m in definition["mountPoints"] if not m["readOnly"]}
    assert writable == {"/mnt/efs": "efs-storage", "/tmp": "scratch"}  # noqa: S108  (the container's /tmp)
    assert set(writable.values()) == volumes


# Runs argv in a private mount namespace where everything but the first argument (the EFS stand-in) is read-only, as
# the uid:gid of the second argument, with no capability left: what the locked-down container allows.
SANDBOX = r"""
set -eu
writable=$1 user=$2
shift 2
mount --make-rprivate /
mount --bind "$writable" "$writable"
findmnt -rno TARGET | while read -r target; do
    [ "$target" = "$writable" ] || mount -o remount,bind,ro "$target" 2>/dev/null || true
done
exec setpriv --reuid="${user%:*}" --regid="${user#*:}" --clear-groups --inh-caps=-all --bounding-set=-all \
    --no-new-privs -- "$@"
"""


def test_default_job_runs_as_the_locked_down_container(stacks, tmp_path):
    """The shipped command under the container's constraints: its user, no capability, nothing writable but the EFS
    mount (on Fargate even the scratch /tmp is root's unless the image declares it). It still records the video and
    refuses a bad id."""
    import os
    import shutil
    import subprocess
    import tempfile

    from modules.storage import POSIX_UID

    if os.geteuid() != 0 or not (shutil.which("unshare") and shutil.which("setpriv")):
        pytest.skip("needs root and util-linux's unshare and setpriv")
    if subprocess.run(["unshare", "--mount", "true"], capture_output=True, check=False).returncode:
        pytest.skip("mount namespaces are not permitted here")
    definition = container(stacks[ENVIRONMENTS[0].suffix])
    # The access point's root directory: owned by the POSIX user, mode 750. Under /tmp: the user must reach it.
    efs = Path(tempfile.mkdtemp(prefix="efs-", dir="/tmp"))
    try:
        os.chown(efs, POSIX_UID, POSIX_UID)
        efs.chmod(0o750)
        command = ENVIRONMENTS[0].compute.command[0].replace("/mnt/efs", str(efs))

        def run(*argv: str, video_id: str = "clip-7") -> subprocess.CompletedProcess[str]:
            env = {"PATH": "/usr/bin:/bin", "VIDEO_ID": video_id, "ENVIRONMENT": "dev"}
            sandbox = ["unshare", "--mount", "--", "/bin/sh", "-c", SANDBOX, "sandbox", str(efs), definition["user"]]
            return subprocess.run(
                [*sandbox, *argv], env=env, cwd="/", capture_output=True, text=True, timeout=30, check=False
            )

        # The sandbox holds: the user is the container's, and neither / nor /tmp takes a file.
        probe = run("/bin/sh", "-c", 'id -u; id -g; touch /probe || touch /tmp/probe || echo "read-only"')
        assert probe.stdout.split() == [str(POSIX_UID), str(POSIX_UID), "read-only"], probe.stderr
        done = run(*ENVIRONMENTS[0].compute.entry_point, command)
        assert done.returncode == 0, done.stderr
        processed = efs / "videos" / "clip-7" / "processed"
        assert processed.read_text().startswith("dev ")
        assert (processed.stat().st_uid, processed.stat().st_gid) == (POSIX_UID, POSIX_UID)
        refused = run(*ENVIRONMENTS[0].compute.entry_point, command, video_id="../etc")
        assert refused.returncode == 2 and "invalid VIDEO_ID" in refused.stderr
    finally:
        shutil.rmtree(efs)


@pytest.mark.parametrize("suffix, region", [(env.suffix, env.region) for env in ENVIRONMENTS])
def test_both_task_roles_trust_ecs_for_this_accounts_tasks_only(stacks, suffix, region):
    """ECS docs: the source may be any ECS resource of the account and region (one cluster is not supported)."""
    stack = stacks[suffix]
    expected = {
        "aws:SourceAccount": (
            "StringEquals",
            [reference_to(stack, find(stack, "data.aws_caller_identity"), "account_id")],
        ),
        "aws:SourceArn": ("ArnLike", [arn(stack, "ecs", region, "*")]),
    }
    for role in (f"ecs-task-execution-{suffix}", f"ecs-task-{suffix}"):
        assert trust_conditions(stack, role) == expected, role
