"""ElastiCache Redis 7: two nodes with automatic failover across AZs, encrypted at rest and in transit."""

from __future__ import annotations

from cdktf_cdktf_provider_aws.elasticache_replication_group import (
    ElasticacheReplicationGroup,
    ElasticacheReplicationGroupLogDeliveryConfiguration,
)
from cdktf_cdktf_provider_aws.elasticache_subnet_group import ElasticacheSubnetGroup
from constructs import Construct

from config.settings import CacheSettings
from modules.context import StackContext
from modules.network import Connections, HasConnections, Network

PORT = 6379


class Cache(Construct):
    def __init__(
        self, scope: Construct, id_: str, *, ctx: StackContext, settings: CacheSettings, network: Network
    ) -> None:
        super().__init__(scope, id_)
        names = ctx.names
        # The description is immutable (a change replaces the group): it names the first-release peer.
        self.connections: Connections = network.security_group(
            "redis", name_base="redis", description="REDIS: Redis from ECS tasks", port=PORT, protocol="Redis"
        )
        subnets = ElasticacheSubnetGroup(
            self,
            "subnets",
            name=names("redis-isolated"),
            subnet_ids=network.isolated_subnet_ids,
            description="Isolated subnets for Redis",
        )
        # Under /aws/vendedlogs/ (see modules/workflow.py): log delivery adds no resource-policy entry per stack.
        slow_log = ctx.log_group(self, "slow-log", name=f"/aws/vendedlogs/elasticache/{names.redis}/slow-log")
        group = ElasticacheReplicationGroup(
            self,
            "redis",
            replication_group_id=names.redis,
            description="Redis cache for video metadata",
            engine="redis",
            engine_version=settings.engine_version,
            node_type=settings.node_type,
            port=PORT,
            num_cache_clusters=settings.num_nodes,
            automatic_failover_enabled=True,
            multi_az_enabled=True,
            subnet_group_name=subnets.name,
            security_group_ids=[self.connections.security_group_id],
            at_rest_encryption_enabled="true",
            kms_key_id=ctx.encryption_key("elasticache"),
            transit_encryption_enabled=True,  # clients must use TLS
            snapshot_retention_limit=settings.snapshot_retention_days,
            snapshot_window=settings.snapshot_window,
            maintenance_window=settings.maintenance_window,
            auto_minor_version_upgrade="true",
            log_delivery_configuration=[
                ElasticacheReplicationGroupLogDeliveryConfiguration(
                    destination=slow_log.name,
                    destination_type="cloudwatch-logs",
                    log_format="json",
                    log_type="slow-log",
                )
            ],
        )
        ctx.protect(group)
        self.primary_endpoint: str = group.primary_endpoint_address  # TLS
        self.port = PORT

    def allow_from(self, peer: HasConnections) -> None:
        self.connections.allow_from(peer.connections)
