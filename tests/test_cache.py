import pytest

from tests.conftest import ENVIRONMENTS, SUFFIXES
from tests.helpers import find, reference_to, subnets


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
