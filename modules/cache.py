"""ElastiCache Redis 7: two nodes with automatic failover across AZs, encrypted at rest and in transit, and RBAC with
IAM authentication: no password exists anywhere (configuration, state, secrets).

The replication group admits the users of one user group: the app user, who authenticates with IAM, and the
`default` user every group must hold, switched off. A client (`grant_connect` gives its role `elasticache:Connect`)
connects over TLS and sends `AUTH <user> <token>`, the token being a SigV4-presigned `connect` request for that user
to the replication group: `GET http://<replication group id>/?Action=connect&User=<user>`, signed for the service
`elasticache` in the group's region, valid 15 minutes (`X-Amz-Expires=900`), without its `http://` (an AWS SDK's
request signer builds it; AWS's "Authenticating with IAM" page has the code). ElastiCache closes an IAM-authenticated
connection after 12 hours: reconnect with a new token. The container gets REDIS_USER, REDIS_AUTH=iam and
REDIS_REPLICATION_GROUP_ID (modules/compute.py)."""

from __future__ import annotations

from cdktf import TerraformResourceLifecycle
from cdktf_cdktf_provider_aws.elasticache_replication_group import (
    ElasticacheReplicationGroup,
    ElasticacheReplicationGroupLogDeliveryConfiguration,
)
from cdktf_cdktf_provider_aws.elasticache_subnet_group import ElasticacheSubnetGroup
from cdktf_cdktf_provider_aws.elasticache_user import ElasticacheUser, ElasticacheUserAuthenticationMode
from cdktf_cdktf_provider_aws.elasticache_user_group import ElasticacheUserGroup
from constructs import Construct

from config.settings import CacheSettings
from modules.context import StackContext
from modules.iam import Role, Statement
from modules.network import Connections, HasConnections, Network

PORT = 6379
ENGINE = "redis"


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
        # IAM authentication needs the user id and the user name to be the same.
        app_user = ElasticacheUser(
            self,
            "app-user",
            user_id=names.redis_app_user,
            user_name=names.redis_app_user,
            engine=ENGINE,
            access_string="on ~* +@all",
            authentication_mode=ElasticacheUserAuthenticationMode(type="iam"),
        )
        # Every user group holds a user named `default`, which clients without AUTH become: this one is off and may
        # run nothing. ElastiCache reports the mode back as `no-password` (its output enum), the provider keeps it as
        # read, and the configured `no-password-required` would otherwise plan an update on every run.
        disabled_default = ElasticacheUser(
            self,
            "default-user",
            user_id=names.redis_disabled_default_user,
            user_name="default",
            engine=ENGINE,
            access_string="off -@all",
            authentication_mode=ElasticacheUserAuthenticationMode(type="no-password-required"),
            lifecycle=TerraformResourceLifecycle(ignore_changes=["authentication_mode[0].type"]),
        )
        users = ElasticacheUserGroup(
            self,
            "user-group",
            user_group_id=names.redis,
            engine=ENGINE,
            user_ids=[disabled_default.user_id, app_user.user_id],
        )
        # Under /aws/vendedlogs/ (see modules/workflow.py): log delivery adds no resource-policy entry per stack.
        slow_log = ctx.log_group(self, "slow-log", name=f"/aws/vendedlogs/elasticache/{names.redis}/slow-log")
        group = ElasticacheReplicationGroup(
            self,
            "redis",
            replication_group_id=names.redis,
            description="Redis cache for video metadata",
            engine=ENGINE,
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
            transit_encryption_enabled=True,  # clients must use TLS (IAM authentication requires it too)
            user_group_ids=[users.id],  # RBAC: only the group's users get in
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
        self.replication_group_id: str = group.replication_group_id  # what an IAM token is signed for
        self.user_name: str = app_user.user_name  # the user the app authenticates as
        self._connect_to: list[str] = [group.arn, app_user.arn]

    def allow_from(self, peer: HasConnections) -> None:
        self.connections.allow_from(peer.connections)

    def grant_connect(self, role: Role) -> None:
        """Connect as the app user with IAM authentication (elasticache:Connect on this replication group and this
        user only)."""
        role.add(Statement(sid="ConnectToRedis", actions=["elasticache:Connect"], resources=self._connect_to))
