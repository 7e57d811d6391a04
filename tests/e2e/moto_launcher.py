"""Start moto in server mode with the run-time patches our end-to-end deploy needs.

Terraform 1.11.4 with hashicorp/aws 5.100.0 cannot apply, re-plan and destroy this project's stack against plain
moto 5.2.5: a few APIs are missing or answer in ways the provider cannot read back. Each gap gets one small patch
below, applied to moto's classes *in this process only* (installed files are never edited):

1. IAM: AWS-managed policies exist only with ``MOTO_IAM_LOAD_MANAGED_POLICIES=true``.
2. RDS: every DB instance gets the same ``DbiResourceId``; the provider reads instances back by it.
3. ElastiCache: replication groups ignore ``NumCacheClusters``, never register member cache clusters,
   and ``DeleteReplicationGroup`` never removes the group.
4. ElastiCache: ``DeleteCacheSubnetGroup`` is not implemented (HTTP 500, the provider retries for minutes).
5. Step Functions: ``ValidateStateMachineDefinition`` and ``ListStateMachineVersions`` are not implemented.
6. EC2: security-group rules that reference another group lose their description in
   ``DescribeSecurityGroupRules`` (perpetual diff on ``aws_vpc_security_group_ingress_rule``).
7. EFS: ``PutBackupPolicy`` is not implemented (HTTP 500; ``aws_efs_backup_policy`` create retries for minutes).
8. RDS: ``DescribeDBParameters`` returns parameters without ``Source`` and ignores the ``Source`` filter
   (perpetual diff on ``aws_db_parameter_group.parameter``).
9. RDS: DB instances drop the Performance Insights settings (perpetual diff on ``aws_db_instance``).
10. EFS: ``DeleteFileSystemPolicy`` is not implemented (HTTP 500; destroying ``aws_efs_file_system_policy`` retries
    for minutes).
A1. S3: a bucket policy's ``Deny`` with a ``Bool`` or ``StringNotEquals`` condition denies every object request (the
    state bucket's TLS-only and same-account statements lock Terraform's S3 backend out).

``tests/e2e/test_moto_gaps.py`` shows every gap on plain moto and its fix here; when a moto upgrade fixes a gap,
that test fails on the plain server and the patch can go.

Usage::

    python tests/e2e/moto_launcher.py --port 5123          # foreground; prints a ready line

    from tests.e2e.moto_launcher import free_port, running_moto
    with running_moto(free_port()) as endpoint:             # subprocess, stopped on exit
        boto3.client("sqs", endpoint_url=endpoint, ...)
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import inspect
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

DEFAULT_HOST = "127.0.0.1"
READY_TIMEOUT_SECONDS = 30.0


# --------------------------------------------------------------------------------------------------------------------
# Gap 1: IAM managed policies
# --------------------------------------------------------------------------------------------------------------------
def patch_iam_managed_policies() -> None:
    """Gap 1: moto only knows AWS-managed IAM policies (e.g. ``service-role/AmazonECSTaskExecutionRolePolicy``) when
    ``MOTO_IAM_LOAD_MANAGED_POLICIES=true``; without them ``aws_iam_role_policy_attachment`` fails with NoSuchEntity.
    moto reads the variable when an IAM backend is first built, so it must be set before any request (we set it
    before importing moto at all)."""
    os.environ["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"


# --------------------------------------------------------------------------------------------------------------------
# Gap 2: RDS DbiResourceId
# --------------------------------------------------------------------------------------------------------------------
def _dbi_resource_id(account_id: str, region: str, identifier: str) -> str:
    """``db-`` + 26 upper-case alphanumerics, stable for one account/region/identifier (like AWS's format)."""
    digest = hashlib.sha256(f"{account_id}:{region}:{identifier}".encode()).digest()
    return "db-" + base64.b32encode(digest).decode()[:26]


def patch_rds_unique_dbi_resource_id() -> None:
    """Gap 2: ``DBInstance.__init__`` hard-codes ``dbi_resource_id = "db-M5ENSHXFPU6XHZ4G4ZEI5QIO2U"``. The provider
    uses the DbiResourceId as the resource ID of ``aws_db_instance`` and reads it back with the ``dbi-resource-id``
    filter, so two instances in one account/region make every read ambiguous. Give each instance its own ID,
    derived from account, region and identifier."""
    from moto.rds.models import DBInstance

    original_init = DBInstance.__init__
    if getattr(original_init, "_e2e_patched", False):
        return

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        self.dbi_resource_id = _dbi_resource_id(self.account_id, self.region, self.db_instance_identifier)

    __init__._e2e_patched = True  # type: ignore[attr-defined]
    DBInstance.__init__ = __init__  # type: ignore[method-assign]


# --------------------------------------------------------------------------------------------------------------------
# Gap 3: ElastiCache replication-group member clusters
# --------------------------------------------------------------------------------------------------------------------
_DEFAULT_ENGINE_VERSIONS = {"redis": "7.1.0", "valkey": "8.0.1", "memcached": "1.6.22"}


def _as_bool(value: Any, default: bool) -> bool:
    if value is None:
        return default
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return bool(value)


def _region_zones(account_id: str, region: str) -> list[str]:
    try:
        from moto.ec2.models import ec2_backends

        zones = sorted(zone.name for zone in ec2_backends[account_id][region].describe_availability_zones())
    except Exception:  # noqa: BLE001 - any failure: fall back to a plausible name
        zones = []
    return zones or [f"{region}a"]


def _build_member_cluster(backend: Any, group: Any, cluster_id: str, zone: str, role: str) -> Any:
    """A CacheCluster for one member of ``group``, carrying the settings the provider reads from member 001."""
    from moto.core.utils import utcnow
    from moto.elasticache.models import CacheCluster

    engine = group.engine or "redis"
    engine_version = group.engine_version or _DEFAULT_ENGINE_VERSIONS.get(engine, "7.1.0")
    # Fill every constructor argument (all keyword-only, no defaults) by name, then set what the group defines.
    kwargs: dict[str, Any] = {
        name: None for name in inspect.signature(CacheCluster.__init__).parameters if name != "self"
    }
    kwargs.update(
        account_id=backend.account_id,
        region_name=backend.region_name,
        cache_cluster_id=cluster_id,
        cache_node_type=group.cache_node_type,
        replication_group_id=group.replication_group_id,
        preferred_availability_zone=zone,
        num_cache_nodes=1,
        engine=engine,
        engine_version=engine_version,
        cache_parameter_group_name=group.cache_parameter_group_name,
        cache_subnet_group_name=group.cache_subnet_group_name,
        transit_encryption_enabled=bool(group.transit_encryption_enabled),
        network_type=group.network_type,
        ip_discovery=group.ip_discovery,
        preferred_maintenance_window=group.preferred_maintenance_window,
        port=group.port,
        notification_topic_arn=group.notification_topic_arn,
        auto_minor_version_upgrade=_as_bool(group.auto_minor_version_upgrade, True),
        snapshot_retention_limit=group.snapshot_retention_limit,
        snapshot_window=group.snapshot_window,
        security_group_ids=list(group.security_group_ids or []),
        cache_security_group_names=list(group.cache_security_group_names or []),
        log_delivery_configurations=list(group.log_delivery_configurations or []),
        tags=[],
        cache_node_ids_to_remove=[],
        cache_node_ids_to_reboot=[],
    )
    cluster = CacheCluster(**kwargs)
    # CacheCluster only sets these for engine "redis"/"memcached"; a member always has one node and its group.
    cluster.replication_group_id = group.replication_group_id
    cluster.num_cache_nodes = 1
    # Shapes the provider reads (setFromCacheCluster) that plain moto never fills in.
    cluster.security_groups = [{"SecurityGroupId": sg, "Status": "active"} for sg in cluster.security_group_ids]
    major = engine_version.split(".")[0]
    family = f"default.{engine}{major}" + (".x" if engine == "redis" and major in ("3", "4", "5", "6") else "")
    family += ".cluster.on" if group.cluster_mode == "enabled" else ""
    cluster.cache_parameter_group = {
        "CacheParameterGroupName": group.cache_parameter_group_name or family,
        "ParameterApplyStatus": "in-sync",
        "CacheNodeIdsToReboot": [],
    }
    cluster.at_rest_encryption_enabled = bool(group.at_rest_encryption_enabled)
    cluster.auth_token_enabled = bool(group.auth_token_enabled)
    cluster.transit_encryption_mode = group.transit_encryption_mode or (
        "required" if group.transit_encryption_enabled else None
    )
    cluster.replication_group_log_delivery_enabled = bool(group.log_delivery_configurations)
    cluster.current_role = role
    cluster.cache_nodes = [
        {
            "CacheNodeId": "0001",
            "CacheNodeStatus": "available",
            "CacheNodeCreateTime": utcnow(),
            "Endpoint": {
                "Address": f"{cluster_id}.{group.replication_group_id}.cache.amazonaws.com",
                "Port": cluster.port,
            },
            "ParameterGroupStatus": "in-sync",
            "CustomerAvailabilityZone": zone,
        }
    ]
    return cluster


def patch_elasticache_replication_group_members() -> None:
    """Gap 3: ElastiCache replication groups.

    * ``ReplicationGroup._set_node_members_clusters_disabled`` recomputes the member count from
      ``ReplicasPerNodeGroup`` only, so ``NumCacheClusters=2`` yields one member. Pass ``NumCacheClusters - 1``
      as the replica count when no ``ReplicasPerNodeGroup`` was given.
    * ``create_replication_group`` lists ``MemberClusters`` but never creates those cache clusters; the provider
      describes member ``<id>-001`` on every read and fails with CacheClusterNotFound. Register one available
      cache cluster per member (node type, engine, version, subnet group, security groups, encryption, windows
      copied from the group), in the region's AZs unless the caller chose AZs.
    * ``delete_replication_group`` only flags the group "deleting" and keeps it forever; the provider waits for it
      to disappear. Remove the group and its member clusters (keep the primary when ``RetainPrimaryCluster``).
    * ``modify_replication_group`` changes the group's node type/engine but not its members', which the provider
      reads back: keep them in sync.
    """
    from moto.elasticache.exceptions import CacheClusterAlreadyExists
    from moto.elasticache.models import ElastiCacheBackend, ReplicationGroup

    if getattr(ElastiCacheBackend.create_replication_group, "_e2e_patched", False):
        return

    original_set_members = ReplicationGroup._set_node_members_clusters_disabled

    def _set_node_members_clusters_disabled(self: Any, *args: Any, **kwargs: Any) -> None:
        params = inspect.signature(original_set_members).bind(self, *args, **kwargs).arguments
        num_cache_clusters = params.get("num_cache_clusters") or 1
        if not params.get("replicas_per_node_group") and num_cache_clusters > 1:
            params["replicas_per_node_group"] = num_cache_clusters - 1
        params.pop("self")
        original_set_members(self, **params)

    original_create = ElastiCacheBackend.create_replication_group
    original_delete = ElastiCacheBackend.delete_replication_group
    original_modify = ElastiCacheBackend.modify_replication_group

    def create_replication_group(self: Any, *args: Any, **kwargs: Any) -> Any:
        group = original_create(self, *args, **kwargs)
        members = [m for node_group in group.node_groups for m in node_group["node_group_members"]]
        taken = [m["cache_cluster_id"] for m in members if m["cache_cluster_id"] in self.cache_clusters]
        if taken:
            del self.replication_groups[group.replication_group_id]
            self.tagging_service.delete_all_tags_for_resource(group.arn)
            raise CacheClusterAlreadyExists(taken[0])
        chosen_azs = bool(
            inspect.signature(original_create).bind(self, *args, **kwargs).arguments.get("preferred_cache_cluster_azs")
        )
        zones = _region_zones(self.account_id, self.region_name)
        for index, member in enumerate(members):
            zone = member.get("preferred_availability_zone")
            if not chosen_azs or not zone:
                zone = zones[index % len(zones)]
                member["preferred_availability_zone"] = zone
            role = member.get("current_role") or ("primary" if index == 0 else "replica")
            self.cache_clusters[member["cache_cluster_id"]] = _build_member_cluster(
                self, group, member["cache_cluster_id"], zone, role
            )
        return group

    def delete_replication_group(self: Any, replication_group_id: str, retain_primary_cluster: bool | None) -> Any:
        group = self.replication_groups.get(replication_group_id)
        members = list(group.member_clusters) if group else []
        group = original_delete(self, replication_group_id, retain_primary_cluster)  # raises if unknown
        keep = members[0] if retain_primary_cluster and members else None
        for cluster_id in members:
            cluster = self.cache_clusters.get(cluster_id)
            if cluster is None or getattr(cluster, "replication_group_id", None) != replication_group_id:
                continue
            if cluster_id == keep:
                cluster.replication_group_id = None
            else:
                del self.cache_clusters[cluster_id]
        self.replication_groups.pop(replication_group_id, None)
        self.tagging_service.delete_all_tags_for_resource(group.arn)
        return group  # status "deleting", as AWS answers

    def modify_replication_group(self: Any, *args: Any, **kwargs: Any) -> Any:
        group = original_modify(self, *args, **kwargs)
        for cluster_id in group.member_clusters:
            cluster = self.cache_clusters.get(cluster_id)
            if cluster is not None:
                cluster.cache_node_type = group.cache_node_type
                cluster.engine = group.engine
        return group

    create_replication_group._e2e_patched = True  # type: ignore[attr-defined]
    ReplicationGroup._set_node_members_clusters_disabled = _set_node_members_clusters_disabled  # type: ignore[method-assign]
    ElastiCacheBackend.create_replication_group = create_replication_group  # type: ignore[method-assign]
    ElastiCacheBackend.delete_replication_group = delete_replication_group  # type: ignore[method-assign]
    ElastiCacheBackend.modify_replication_group = modify_replication_group  # type: ignore[method-assign]


# --------------------------------------------------------------------------------------------------------------------
# Gap 4: ElastiCache DeleteCacheSubnetGroup
# --------------------------------------------------------------------------------------------------------------------
def patch_elasticache_delete_cache_subnet_group() -> None:
    """Gap 4: ``ElastiCacheResponse`` has no ``delete_cache_subnet_group`` (moto answers HTTP 500 "not implemented"
    and the provider keeps retrying). Add the backend method and the response handler: unknown name ->
    CacheSubnetGroupNotFoundFault; still used by a live cache cluster or replication group ->
    CacheSubnetGroupInUse (the provider retries that, as on AWS); otherwise remove the group and its tags."""
    from moto.core.responses import EmptyResult
    from moto.elasticache.exceptions import CacheSubnetGroupNotFound, ElastiCacheException
    from moto.elasticache.models import ElastiCacheBackend
    from moto.elasticache.responses import ElastiCacheResponse

    if hasattr(ElastiCacheResponse, "delete_cache_subnet_group"):
        return

    class CacheSubnetGroupInUse(ElastiCacheException):
        code = "CacheSubnetGroupInUse"

    def delete_cache_subnet_group_backend(self: Any, cache_subnet_group_name: str) -> None:
        group = self.cache_subnet_groups.get(cache_subnet_group_name)
        if group is None:
            raise CacheSubnetGroupNotFound(cache_subnet_group_name)
        users = [
            c.cache_cluster_id
            for c in self.cache_clusters.values()
            if c.cache_subnet_group_name == cache_subnet_group_name
            and getattr(c, "cache_cluster_status", "available") != "deleting"
        ]
        users += [
            g.replication_group_id
            for g in self.replication_groups.values()
            if g.cache_subnet_group_name == cache_subnet_group_name
        ]
        if users:
            raise CacheSubnetGroupInUse(
                f"Cache subnet group {cache_subnet_group_name} is currently in use by {users[0]}."
            )
        del self.cache_subnet_groups[cache_subnet_group_name]
        self.tagging_service.delete_all_tags_for_resource(group.arn)

    def delete_cache_subnet_group_response(self: Any) -> Any:
        self.elasticache_backend.delete_cache_subnet_group(self._get_param("CacheSubnetGroupName"))
        return EmptyResult()

    ElastiCacheBackend.delete_cache_subnet_group = delete_cache_subnet_group_backend  # type: ignore[attr-defined]
    ElastiCacheResponse.delete_cache_subnet_group = delete_cache_subnet_group_response  # type: ignore[attr-defined]


# --------------------------------------------------------------------------------------------------------------------
# Gap 5: Step Functions ValidateStateMachineDefinition / ListStateMachineVersions
# --------------------------------------------------------------------------------------------------------------------
def patch_stepfunctions_validate_and_versions() -> None:
    """Gap 5: ``StepFunctionResponse`` lacks ``validate_state_machine_definition`` and
    ``list_state_machine_versions`` (HTTP 500; ``aws_sfn_state_machine`` create hangs in retries). Validation
    always passes (``{"result": "OK", "diagnostics": []}``); listing versions returns the machine's published
    versions, newest first (an empty list for machines created without ``publish``)."""
    from moto.core.responses import ActionResult
    from moto.stepfunctions.responses import StepFunctionResponse

    if hasattr(StepFunctionResponse, "validate_state_machine_definition"):
        return

    def validate_state_machine_definition(self: Any) -> Any:
        return ActionResult({"result": "OK", "diagnostics": [], "truncated": False})

    def list_state_machine_versions(self: Any) -> Any:
        machine = self.stepfunction_backend.describe_state_machine(self._get_param("stateMachineArn"))
        versions = sorted(getattr(machine, "versions", {}).values(), key=lambda v: v.version, reverse=True)
        return ActionResult(
            {
                "stateMachineVersions": [
                    {"stateMachineVersionArn": v.arn, "creationDate": v.creation_date} for v in versions
                ]
            }
        )

    StepFunctionResponse.validate_state_machine_definition = validate_state_machine_definition  # type: ignore[attr-defined]
    StepFunctionResponse.list_state_machine_versions = list_state_machine_versions  # type: ignore[attr-defined]


# --------------------------------------------------------------------------------------------------------------------
# Gap 6: descriptions of security-group rules that reference a group
# --------------------------------------------------------------------------------------------------------------------
def patch_ec2_sg_reference_rule_description() -> None:
    """Gap 6: moto keeps a rule's description in ``ip_range["Description"]`` for CIDR rules but in
    ``source_group["Description"]`` (the ``UserIdGroupPairs`` entry) for rules that reference another group.
    ``DescribeSecurityGroups`` shows the latter, but ``SecurityGroupRule.description`` - what
    ``DescribeSecurityGroupRules`` returns, and what ``aws_vpc_security_group_ingress_rule`` reads - only looks at
    ``ip_range``, so the description comes back empty (perpetual diff). Fall back to the group pair's description;
    and make ``ModifySecurityGroupRules`` (how the provider updates a description) store it in the group pair for
    such rules, so both APIs keep agreeing."""
    from moto.ec2.models.security_groups import SecurityGroupBackend, SecurityGroupRule

    if getattr(SecurityGroupRule.description, "fget", None) and getattr(
        SecurityGroupRule.description.fget, "_e2e_patched", False
    ):
        return

    def description(self: Any) -> str | None:
        if "Description" in self.ip_range:
            return self.ip_range["Description"]
        return (self.source_group or {}).get("Description")

    description._e2e_patched = True  # type: ignore[attr-defined]

    original_modify = SecurityGroupBackend.modify_security_group_rules

    def modify_security_group_rules(self: Any, group_id: str, rules: dict[str, dict[str, Any]]) -> None:
        original_modify(self, group_id, rules)
        group = self.get_security_group_by_name_or_id(group_id)
        for rule_id in rules:
            rule = group.get_rule(rule_id)
            if rule is None or not rule.source_group:
                continue
            if "Description" in rule.ip_range and not (rule.ip_range.get("CidrIp") or rule.ip_range.get("CidrIpv6")):
                rule.source_group["Description"] = rule.ip_range.pop("Description")

    SecurityGroupRule.description = property(description)  # type: ignore[method-assign, assignment]
    SecurityGroupBackend.modify_security_group_rules = modify_security_group_rules  # type: ignore[method-assign]


# --------------------------------------------------------------------------------------------------------------------
# Gap 7: EFS PutBackupPolicy
# --------------------------------------------------------------------------------------------------------------------
def patch_efs_put_backup_policy() -> None:
    """Gap 7: ``EFSResponse`` lacks ``put_backup_policy`` (HTTP 500, which the provider keeps retrying: the
    ``aws_efs_backup_policy`` create was still running after 10 minutes). ``DescribeBackupPolicy`` only knows the
    ``Backup`` flag given at creation: ``{"Status": "ENABLED"}`` or PolicyNotFound, never ``DISABLED`` - which the
    provider waits for after putting a DISABLED policy (dev) and on delete. Store the status put and describe it
    (ENABLED/DISABLED at once: there is no ENABLING/DISABLING phase); an unknown file system answers
    FileSystemNotFound (404) in both calls, as on AWS, instead of a KeyError (HTTP 500)."""
    import json

    from moto.efs.exceptions import BadRequest, FileSystemNotFound
    from moto.efs.models import EFSBackend, FileSystem
    from moto.efs.responses import EFSResponse

    if hasattr(EFSResponse, "put_backup_policy"):
        return

    original_backup_policy = FileSystem.backup_policy

    def backup_policy(self: Any) -> dict[str, str] | None:
        status = getattr(self, "_e2e_backup_status", None)
        return {"Status": status} if status else original_backup_policy.fget(self)

    original_describe = EFSBackend.describe_backup_policy

    def describe_backup_policy(self: Any, file_system_id: str) -> dict[str, str]:
        if file_system_id not in self.file_systems_by_id:
            raise FileSystemNotFound(file_system_id)
        return original_describe(self, file_system_id)

    def put_backup_policy_backend(self: Any, file_system_id: str, status: str | None) -> dict[str, str]:
        file_system = self.file_systems_by_id.get(file_system_id)
        if file_system is None:
            raise FileSystemNotFound(file_system_id)
        if status not in ("ENABLED", "DISABLED"):
            raise BadRequest(f"BackupPolicy.Status must be ENABLED or DISABLED, not {status!r}")
        file_system._backup = status == "ENABLED"
        file_system._e2e_backup_status = status
        return file_system.backup_policy

    def put_backup_policy_response(self: Any) -> Any:
        status = (self._get_param("BackupPolicy") or {}).get("Status")
        policy = self.efs_backend.put_backup_policy(self._get_param("FileSystemId"), status)
        return json.dumps({"BackupPolicy": policy}), {"Content-Type": "application/json"}

    FileSystem.backup_policy = property(backup_policy)  # type: ignore[method-assign, assignment]
    EFSBackend.describe_backup_policy = describe_backup_policy  # type: ignore[method-assign]
    EFSBackend.put_backup_policy = put_backup_policy_backend  # type: ignore[attr-defined]
    EFSResponse.put_backup_policy = put_backup_policy_response  # type: ignore[attr-defined]


# --------------------------------------------------------------------------------------------------------------------
# Gap 8: RDS DescribeDBParameters Source
# --------------------------------------------------------------------------------------------------------------------
def patch_rds_parameter_source() -> None:
    """Gap 8: parameters set with Create/ModifyDBParameterGroup come back from ``DescribeDBParameters`` without a
    ``Source``. When the configuration lists parameters, ``aws_db_parameter_group`` keeps only those whose Source is
    ``user`` (or system/engine-default ones named in the configuration) and skips any without a Source, so it reads
    back none and plans to add them again on every plan. Mark every parameter a caller sets as ``Source: user`` (what
    AWS reports for modified parameters) and honour the ``Source`` filter (moto holds no system/engine defaults, so
    those filters answer only what a caller set with that Source - in practice nothing)."""
    from moto.core.responses import ActionResult
    from moto.rds.exceptions import DBParameterGroupNotFoundError
    from moto.rds.models import DBParameterGroup
    from moto.rds.responses import RDSResponse

    if getattr(DBParameterGroup.update_parameters, "_e2e_patched", False):
        return

    original_update = DBParameterGroup.update_parameters

    def update_parameters(self: Any, new_parameters: Any) -> None:
        new_parameters = list(new_parameters)  # iterated twice
        original_update(self, new_parameters)
        for new_parameter in new_parameters:
            self.parameters[new_parameter["ParameterName"]].setdefault("Source", "user")

    update_parameters._e2e_patched = True  # type: ignore[attr-defined]

    def describe_db_parameters(self: Any) -> Any:
        name = self.params.get("DBParameterGroupName")
        groups = self.backend.describe_db_parameter_groups({"db_parameter_group_name": name})
        if not groups:
            raise DBParameterGroupNotFoundError(name)
        source = self.params.get("Source")
        parameters = [p for p in groups[0].parameters.values() if not source or p.get("Source") == source]
        return ActionResult({"Parameters": parameters})

    DBParameterGroup.update_parameters = update_parameters  # type: ignore[method-assign]
    RDSResponse.describe_db_parameters = describe_db_parameters  # type: ignore[method-assign]


# --------------------------------------------------------------------------------------------------------------------
# Gap 9: RDS Performance Insights
# --------------------------------------------------------------------------------------------------------------------
def patch_rds_performance_insights() -> None:
    """Gap 9: ``CreateDBInstance`` accepts ``EnablePerformanceInsights``, ``PerformanceInsightsRetentionPeriod`` and
    ``PerformanceInsightsKMSKeyId`` but ``DBInstance`` swallows them (``**kwargs``), and ``ModifyDBInstance`` stores
    ``enable_performance_insights`` under a name the serializer never reads; ``DescribeDBInstances`` shows no
    ``PerformanceInsightsEnabled``. With Performance Insights on (staging, prod) every plan wants
    ``performance_insights_enabled = false -> true`` and ``performance_insights_retention_period = 0 -> 7``, and
    the IAM policies that read the instance's attributes are re-planned with it. Keep the three settings on the
    instance (retention 7 days when enabled without one, as AWS) and answer ``PerformanceInsightsEnabled`` from
    the same attribute ``ModifyDBInstance`` sets."""
    from moto.rds.models import DBInstance

    if hasattr(DBInstance, "performance_insights_enabled"):
        return

    original_init = DBInstance.__init__

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        self.enable_performance_insights = _as_bool(kwargs.get("enable_performance_insights"), False)
        self.performance_insights_retention_period = kwargs.get("performance_insights_retention_period") or (
            7 if self.enable_performance_insights else None
        )
        self.performance_insights_kms_key_id = kwargs.get("performance_insights_kms_key_id")

    __init__._e2e_patched = True  # type: ignore[attr-defined]  # gap 2's wrapper is inside; keep it idempotent

    def performance_insights_enabled(self: Any) -> bool:
        return _as_bool(getattr(self, "enable_performance_insights", None), False)

    DBInstance.__init__ = __init__  # type: ignore[method-assign]
    DBInstance.performance_insights_enabled = property(performance_insights_enabled)  # type: ignore[attr-defined]


# --------------------------------------------------------------------------------------------------------------------
# Gap 10: EFS DeleteFileSystemPolicy
# --------------------------------------------------------------------------------------------------------------------
def patch_efs_delete_file_system_policy() -> None:
    """Gap 10: ``EFSResponse`` lacks ``delete_file_system_policy`` (HTTP 500, which the provider keeps retrying:
    destroying ``aws_efs_file_system_policy`` was still running after 8 minutes). Remove the policy, so that
    ``DescribeFileSystemPolicy`` answers PolicyNotFound again (the default policy, as on AWS); an unknown file
    system answers FileSystemNotFound (404) in both calls instead of a KeyError (HTTP 500)."""
    import json

    from moto.efs.exceptions import FileSystemNotFound
    from moto.efs.models import EFSBackend
    from moto.efs.responses import EFSResponse

    if hasattr(EFSResponse, "delete_file_system_policy"):
        return

    original_describe = EFSBackend.describe_file_system_policy

    def describe_file_system_policy(self: Any, file_system_id: str) -> str:
        if file_system_id not in self.file_systems_by_id:
            raise FileSystemNotFound(file_system_id)
        return original_describe(self, file_system_id)

    def delete_file_system_policy_backend(self: Any, file_system_id: str) -> None:
        file_system = self.file_systems_by_id.get(file_system_id)
        if file_system is None:
            raise FileSystemNotFound(file_system_id)
        file_system.file_system_policy = None

    def delete_file_system_policy_response(self: Any) -> Any:
        self.efs_backend.delete_file_system_policy(self._get_param("FileSystemId"))
        return json.dumps({}), {"Content-Type": "application/json"}

    EFSBackend.describe_file_system_policy = describe_file_system_policy  # type: ignore[method-assign]
    EFSBackend.delete_file_system_policy = delete_file_system_policy_backend  # type: ignore[attr-defined]
    EFSResponse.delete_file_system_policy = delete_file_system_policy_response  # type: ignore[attr-defined]


# --------------------------------------------------------------------------------------------------------------------
# Gap A1: S3 bucket-policy conditions
# --------------------------------------------------------------------------------------------------------------------
def _condition_holds(operator: str, expected: Any, actual: str | None) -> bool:
    """One IAM condition operator on one context value (absent: None), as IAM evaluates it."""
    values = [str(v) for v in (expected if isinstance(expected, list) else [expected])]
    base, if_exists = operator.removesuffix("IfExists"), operator.endswith("IfExists")
    if actual is None:
        return if_exists or base.startswith(("StringNot", "ArnNot"))  # a negated operator holds for a missing key
    if base == "Bool":
        return actual.lower() in [v.lower() for v in values]
    if base == "StringEquals":
        return actual in values
    if base == "StringNotEquals":
        return actual not in values
    raise NotImplementedError(operator)


def patch_s3_bucket_policy_conditions() -> None:
    """Gap A1: S3 checks every object request (``GetObject``, ``HeadObject``, ``PutObject``, ``DeleteObject``) against
    the bucket policy, but moto's evaluator knows one condition operator (``StringEquals``) and passes the others, and
    has no request context: the state bucket's ``Deny`` statements (``Bool aws:SecureTransport false``,
    ``StringNotEquals aws:PrincipalAccount <account>``) apply to every request, and Terraform's S3 backend gets 403 on
    its own state. Evaluate ``Bool``, ``StringEquals``, ``StringNotEquals`` (and ``...IfExists``) on the request's
    ``aws:PrincipalAccount`` (the caller's account, as moto resolves it) and ``aws:SecureTransport`` - ``true``: the
    emulator speaks plain HTTP on localhost where S3 answers every client of this project (Terraform, boto3) over
    HTTPS. A statement applies when its action, resource, principal (``*`` only; others are not modelled, as in
    moto) and every condition match; a Deny that applies denies, else an Allow that applies permits. Other
    operators or keys fail the request (HTTP 500) rather than guess."""
    import json
    import re
    import threading

    from moto.iam.access_control import PermissionResult
    from moto.s3.models import FakeBucket
    from moto.s3.responses import S3Response

    if getattr(FakeBucket.get_permission, "_e2e_patched", False):
        return
    request_context = threading.local()
    original_key_response = S3Response._key_response

    def _key_response(self: Any, request: Any, full_url: str) -> Any:
        request_context.values = {"aws:PrincipalAccount": self.current_account, "aws:SecureTransport": "true"}
        try:
            return original_key_response(self, request, full_url)
        finally:
            request_context.values = None

    def matches(patterns: Any, value: str) -> bool:
        items = patterns if isinstance(patterns, list) else [patterns]
        return any(re.fullmatch(re.escape(p).replace(r"\*", ".*").replace(r"\?", "."), value) for p in items)

    def applies(statement: dict[str, Any], action: str, resource: str, context: dict[str, str]) -> bool:
        principal = statement.get("Principal")
        if principal not in ("*", {"AWS": "*"}, {"AWS": ["*"]}):
            return False
        if "Action" in statement and not matches(statement["Action"], action):
            return False
        if "NotAction" in statement and matches(statement["NotAction"], action):
            return False
        if not matches(statement.get("Resource", "*"), resource):
            return False
        for operator, pairs in statement.get("Condition", {}).items():
            for key, expected in pairs.items():
                if key not in context:
                    raise NotImplementedError(f"bucket policy condition key {key}: not modelled by this patch")
                if not _condition_holds(operator, expected, context[key]):
                    return False
        return True

    def get_permission(self: Any, action: str, resource: str) -> Any:
        if self.policy is None:
            return PermissionResult.NEUTRAL
        statements = json.loads(self.policy)["Statement"]
        statements = statements if isinstance(statements, list) else [statements]
        context = getattr(request_context, "values", None) or {}
        effects = {s.get("Effect") for s in statements if applies(s, action, resource, context)}
        if "Deny" in effects:
            return PermissionResult.DENIED
        return PermissionResult.PERMITTED if "Allow" in effects else PermissionResult.NEUTRAL

    get_permission._e2e_patched = True  # type: ignore[attr-defined]
    S3Response._key_response = _key_response  # type: ignore[method-assign]
    FakeBucket.get_permission = get_permission  # type: ignore[method-assign]


PATCHES = (
    patch_iam_managed_policies,
    patch_rds_unique_dbi_resource_id,
    patch_elasticache_replication_group_members,
    patch_elasticache_delete_cache_subnet_group,
    patch_stepfunctions_validate_and_versions,
    patch_ec2_sg_reference_rule_description,
    patch_efs_put_backup_policy,
    patch_rds_parameter_source,
    patch_rds_performance_insights,
    patch_efs_delete_file_system_policy,
    patch_s3_bucket_policy_conditions,
)


def apply_patches() -> None:
    """Apply every patch (idempotent). Call before moto serves its first request."""
    for patch in PATCHES:
        patch()


# --------------------------------------------------------------------------------------------------------------------
# Running the server
# --------------------------------------------------------------------------------------------------------------------
def serve(host: str, port: int) -> None:
    """Run the patched moto server in the foreground until SIGINT/SIGTERM."""
    patch_iam_managed_policies()  # before moto is imported, see gap 1
    os.environ.setdefault("MOTO_PORT", str(port))  # as `moto.server` does (Lambda/Batch build endpoints from it)
    apply_patches()
    from moto.moto_server.threaded_moto_server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
    server.start()
    print(f"moto (patched for e2e) ready on http://{host}:{port}", flush=True)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        while not stop.wait(1.0):
            pass
    finally:
        server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default=DEFAULT_HOST, help=f"address to bind (default {DEFAULT_HOST})")
    parser.add_argument("--port", type=int, required=True, help="port to listen on")
    args = parser.parse_args(argv)
    serve(args.host, args.port)
    return 0


def free_port(host: str = DEFAULT_HOST) -> int:
    """A TCP port that is free right now on ``host``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def wait_until_ready(
    endpoint: str, proc: subprocess.Popen | None = None, timeout: float = READY_TIMEOUT_SECONDS
) -> None:
    """Poll ``<endpoint>/moto-api/`` until it answers; fail early if ``proc`` exits."""
    deadline = time.monotonic() + timeout
    while True:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"moto exited with code {proc.returncode} before answering{_log_tail(proc)}")
        try:
            with urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=2) as response:
                if response.status < 500:
                    return
        except (urllib.error.URLError, ConnectionError, OSError):
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"moto at {endpoint} did not answer within {timeout:.0f}s{_log_tail(proc)}")
        time.sleep(0.1)


def _log_tail(proc: subprocess.Popen | None) -> str:
    path = getattr(proc, "log_path", None)
    if not path:
        return ""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return f"; log {path}:\n" + "".join(handle.readlines()[-30:])
    except OSError:
        return ""


def start(
    port: int,
    *,
    patched: bool = True,
    host: str = DEFAULT_HOST,
    log_path: str | None = None,
    timeout: float = READY_TIMEOUT_SECONDS,
) -> subprocess.Popen:
    """Launch moto on ``host:port`` as a subprocess of this interpreter and wait until it answers.

    ``patched=True`` runs this launcher; ``patched=False`` runs plain ``python -m moto.server`` (no managed IAM
    policies), for comparison. Output goes to ``log_path`` (a temp file by default; see ``proc.log_path``).
    Stop it with :func:`stop`.
    """
    env = dict(os.environ, MOTO_PORT=str(port))
    if patched:
        command = [sys.executable, os.path.abspath(__file__), "--host", host, "--port", str(port)]
    else:
        command = [sys.executable, "-m", "moto.server", "-H", host, "-p", str(port)]
        env.pop("MOTO_IAM_LOAD_MANAGED_POLICIES", None)
    temporary_log = log_path is None
    if log_path is None:
        fd, log_path = tempfile.mkstemp(prefix=f"moto-{'patched' if patched else 'plain'}-{port}-", suffix=".log")
        os.close(fd)
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env)
    proc.log_path = log_path  # type: ignore[attr-defined]
    proc.temporary_log = temporary_log  # type: ignore[attr-defined]
    try:
        wait_until_ready(f"http://{host}:{port}", proc, timeout)
    except BaseException:
        stop(proc)
        raise
    return proc


def stop(proc: subprocess.Popen, timeout: float = 10.0) -> None:
    """Terminate a server started by :func:`start` (kill it if it does not exit within ``timeout``) and remove
    its log if :func:`start` created a temporary one."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if getattr(proc, "temporary_log", False):
        with contextlib.suppress(OSError):
            os.remove(proc.log_path)  # type: ignore[attr-defined]


@contextlib.contextmanager
def running_moto(port: int | None = None, *, patched: bool = True, host: str = DEFAULT_HOST) -> Iterator[str]:
    """Context manager: start moto (see :func:`start`), yield its endpoint URL, stop it on exit."""
    port = port or free_port(host)
    proc = start(port, patched=patched, host=host)
    try:
        yield f"http://{host}:{port}"
    finally:
        stop(proc)


if __name__ == "__main__":
    sys.exit(main())
