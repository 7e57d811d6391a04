"""ElastiCache Redis 7: two nodes with automatic failover across AZs, encrypted at rest and in transit."""
from __future__ import annotations

from dataclasses import dataclass

from cdktf_cdktf_provider_aws.elasticache_replication_group import (
    ElasticacheReplicationGroup,
    ElasticacheReplicationGroupLogDeliveryConfiguration,
)
from cdktf_cdktf_provider_aws.elasticache_subnet_group import ElasticacheSubnetGroup
from constructs import Construct

from config.naming import Names
from config.settings import CacheSettings
from modules.common import log_group, protect

PORT = 6379


@dataclass(frozen=True)
class CacheOutputs:
    primary_endpoint: str
    port: int


class Cache(Construct):
    def __init__(self, scope: Construct, id_: str, *, names: Names, settings: CacheSettings, subnet_ids: list[str],
                 security_group_id: str, log_retention_days: int, protected: bool) -> None:
        super().__init__(scope, id_)
        subnets = ElasticacheSubnetGroup(self, "subnets", name=names("redis-isolated"), subnet_ids=subnet_ids,
                                         description="Isolated subnets for Redis")
        slow_log = log_group(self, "slow-log", name=f"/aws/elasticache/{names.redis}/slow-log",
                             retention_days=log_retention_days)
        group = ElasticacheReplicationGroup(
            self, "redis",
            replication_group_id=names.redis, description="Redis cache for video metadata",
            engine="redis", engine_version=settings.engine_version, node_type=settings.node_type, port=PORT,
            num_cache_clusters=settings.num_nodes, automatic_failover_enabled=True, multi_az_enabled=True,
            subnet_group_name=subnets.name, security_group_ids=[security_group_id],
            at_rest_encryption_enabled="true", transit_encryption_enabled=True,  # clients must use TLS
            snapshot_retention_limit=settings.snapshot_retention_days, snapshot_window=settings.snapshot_window,
            maintenance_window=settings.maintenance_window, auto_minor_version_upgrade="true",
            log_delivery_configuration=[ElasticacheReplicationGroupLogDeliveryConfiguration(
                destination=slow_log.name, destination_type="cloudwatch-logs", log_format="json", log_type="slow-log",
            )],
        )
        protect(group, protected)
        self.outputs = CacheOutputs(primary_endpoint=group.primary_endpoint_address, port=PORT)
