import pytest

from tests.conftest import only, resources

ALL = ["dev", "staging", "prod", "pr123"]


@pytest.mark.parametrize("suffix", ALL)
def test_redis_two_nodes_failover_encrypted(stacks, suffix):
    group = only(stacks[suffix], "aws_elasticache_replication_group")
    assert group["replication_group_id"] == f"redis-{suffix}" and len(group["replication_group_id"]) <= 40
    assert group["engine"] == "redis" and group["engine_version"].startswith("7.")
    assert (group["node_type"], group["num_cache_clusters"]) == ("cache.t3.micro", 2)
    assert group["automatic_failover_enabled"] is True and group["multi_az_enabled"] is True
    assert group["at_rest_encryption_enabled"] == "true" and group["transit_encryption_enabled"] is True
    assert len(group["security_group_ids"]) == 1 and "network_sg-redis_" in group["security_group_ids"][0]


@pytest.mark.parametrize("suffix", ALL)
def test_redis_subnet_group_on_isolated_subnets(stacks, suffix):
    subnets = only(stacks[suffix], "aws_elasticache_subnet_group")
    assert subnets["name"] == f"redis-isolated-{suffix}"
    assert len(subnets["subnet_ids"]) == 2 and all("subnet-isolated" in ref for ref in subnets["subnet_ids"])


@pytest.mark.parametrize("suffix, retention", [("dev", 1), ("staging", 1), ("prod", 7), ("pr123", 1)])
def test_snapshots_maintenance_and_slow_log(stacks, environments, suffix, retention):
    stack = stacks[suffix]
    group = only(stack, "aws_elasticache_replication_group")
    assert group["snapshot_retention_limit"] == retention
    assert group["maintenance_window"] == "sun:17:00-sun:18:00" and group["snapshot_window"] == "15:00-16:00"
    [delivery] = group["log_delivery_configuration"]
    assert (delivery["log_type"], delivery["destination_type"], delivery["log_format"]) == ("slow-log", "cloudwatch-logs", "json")
    logs = {g["name"]: g for g in resources(stack, "aws_cloudwatch_log_group").values()}
    assert logs[f"/aws/elasticache/redis-{suffix}/slow-log"]["retention_in_days"] == environments[suffix].log_retention_days
    assert (group.get("lifecycle") == {"prevent_destroy": True}) is (suffix == "prod")
