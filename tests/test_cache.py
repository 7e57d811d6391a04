import pytest

from tests.conftest import ENVIRONMENTS, SUFFIXES
from tests.helpers import find, find_all, policy_statements, reference_to, role_statements, subnets


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_redis_two_nodes_failover_encrypted(stacks, suffix):
    stack = stacks[suffix]
    group = find(stack, "aws_elasticache_replication_group")
    assert group["replication_group_id"] == f"redis-{suffix}"  # its 40-character limit: test_settings (suffix length)
    assert group["engine"] == "redis" and group["engine_version"].startswith("7.")
    assert (group["node_type"], group["num_cache_clusters"]) == ("cache.t3.micro", 2)
    assert group["automatic_failover_enabled"] is True and group["multi_az_enabled"] is True
    assert group["at_rest_encryption_enabled"] == "true" and group["transit_encryption_enabled"] is True
    assert group["security_group_ids"] == [
        reference_to(stack, find(stack, "aws_security_group", name=f"redis-{suffix}"), "id")
    ]


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_redis_subnet_group_on_isolated_subnets(stacks, suffix):
    stack = stacks[suffix]
    group = find(stack, "aws_elasticache_subnet_group")
    assert group["name"] == f"redis-isolated-{suffix}"
    assert group["subnet_ids"] == [reference_to(stack, s, "id") for s in subnets(stack, "isolated")]
    assert len(group["subnet_ids"]) == 2
    assert find(stack, "aws_elasticache_replication_group")["subnet_group_name"] == reference_to(stack, group, "name")


@pytest.mark.parametrize("suffix, retention", [(env.suffix, env.cache.snapshot_retention_days) for env in ENVIRONMENTS])
def test_snapshots_maintenance_and_slow_log(stacks, environments, suffix, retention):
    stack = stacks[suffix]
    group = find(stack, "aws_elasticache_replication_group")
    assert group["snapshot_retention_limit"] == retention
    assert group["maintenance_window"] == "sun:17:00-sun:18:00" and group["snapshot_window"] == "15:00-16:00"
    [delivery] = group["log_delivery_configuration"]
    assert (delivery["log_type"], delivery["destination_type"], delivery["log_format"]) == (
        "slow-log",
        "cloudwatch-logs",
        "json",
    )
    slow_log = find(stack, "aws_cloudwatch_log_group", name=f"/aws/vendedlogs/elasticache/redis-{suffix}/slow-log")
    assert delivery["destination"] == reference_to(stack, slow_log, "name")
    assert slow_log["retention_in_days"] == environments[suffix].log_retention_days
    assert (group.get("lifecycle") == {"prevent_destroy": True}) is environments[suffix].protect_stateful


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_redis_admits_only_its_user_group_an_iam_user_and_a_disabled_default(stacks, suffix):
    """RBAC with IAM authentication: the app user signs in with an IAM token; `default`, which every user group must
    hold and which clients without AUTH become, is switched off and may run nothing."""
    stack = stacks[suffix]
    app = find(stack, "aws_elasticache_user", user_name=f"redis-app-{suffix}")
    # IAM authentication needs the user id to be the user name.
    assert (app["user_id"], app["engine"], app["access_string"]) == (f"redis-app-{suffix}", "redis", "on ~* +@all")
    assert app["authentication_mode"] == {"type": "iam"}
    default = find(stack, "aws_elasticache_user", user_name="default")
    assert (default["user_id"], default["engine"]) == (f"redis-off-{suffix}", "redis")
    assert default["access_string"] == "off -@all"  # off: nobody signs in as it; -@all: it could run nothing anyway
    assert default["authentication_mode"] == {"type": "no-password-required"}
    # ElastiCache reads the mode back as `no-password`: only that spelling is ignored, the access string is not.
    assert default["lifecycle"] == {"ignore_changes": ["authentication_mode[0].type"]}
    assert len(find_all(stack, "aws_elasticache_user")) == 2
    users = find(stack, "aws_elasticache_user_group")
    assert (users["user_group_id"], users["engine"]) == (f"redis-{suffix}", "redis")
    assert users["user_ids"] == [reference_to(stack, default, "user_id"), reference_to(stack, app, "user_id")]
    group = find(stack, "aws_elasticache_replication_group")
    assert group["user_group_ids"] == [reference_to(stack, users, "id")]


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_no_redis_password_anywhere(stacks, suffix):
    """IAM authentication needs no secret: no AUTH token on the group, no password on a user, in configuration or
    (therefore) in state."""
    stack = stacks[suffix]
    assert "auth_token" not in find(stack, "aws_elasticache_replication_group")
    for user in find_all(stack, "aws_elasticache_user"):
        assert "passwords" not in user and "passwords" not in user["authentication_mode"], user["user_name"]
        assert user.get("no_password_required") is not True  # the mode says it, not the legacy flag
    assert "random_password" not in stack.get("resource", {})


@pytest.mark.parametrize("suffix, region", [(env.suffix, env.region) for env in ENVIRONMENTS])
def test_task_role_connects_to_this_replication_group_as_the_app_user_only(stacks, suffix, region):
    stack = stacks[suffix]
    connect = role_statements(stack, f"ecs-task-{suffix}")["ConnectToRedis"]
    assert connect["actions"] == ["elasticache:Connect"]
    # The provider's own ARNs, not assembled ones: exactly the group and the IAM user.
    assert connect["resources"] == [
        reference_to(stack, find(stack, "aws_elasticache_replication_group"), "arn"),
        reference_to(stack, find(stack, "aws_elasticache_user", user_name=f"redis-app-{suffix}"), "arn"),
    ]
    assert "condition" not in connect
    granted = [
        statement.get("sid")
        for policy in find_all(stack, "aws_iam_role_policy")
        for statement in policy_statements(stack, policy["policy"])
        if any(action.startswith("elasticache:") for action in statement["actions"])
    ]
    assert granted == ["ConnectToRedis"]  # no other role of the stack reaches Redis
