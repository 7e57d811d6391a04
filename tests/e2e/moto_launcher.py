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

Executing our state machine (moto's ASL interpreter: ``mock_aws(config={"stepfunctions": {"execute_state_machine":
True}})`` in process, the same ``stepfunctions`` object posted to ``/moto-api/config`` on a server) needs six more:

11. ECS: ``RunTask`` fails (HTTP 500) for a task definition sized at task level only, as Fargate ones are.
12. Step Functions: the ECS integration passes the PascalCase ``Parameters`` to boto3 as they are
    (``States.Runtime: 'Cluster'``) and reads the response in the wrong case.
13. ECS: tasks reach STOPPED without their containers ever running or exiting; here a container exits 0, or 1 when
    its ``VIDEO_ID`` starts with ``fail-``.
14. Step Functions: ``ecs:runTask.sync`` succeeds whatever the task's exit code (AWS: ``States.TaskFailed``).
15. Step Functions: Retry waits last their full interval (our 30 + 60 + 120 s). Here they are slept at a time scale
    (``"e2e_time_scale": 0.001`` beside ``execute_state_machine``, or ``$E2E_SFN_TIME_SCALE``, or
    ``--sfn-time-scale``) while a virtual clock per execution, advanced by each wait's unslept part, stamps the
    history and stop date: the history shows 30/60/120 s between attempts, the test takes milliseconds.
16. Step Functions: switching execution on at run time hides the state machines created before (a second backend
    with its own store); here both share one.

The account stack's state bucket needs one more:

17. S3: a bucket policy's ``Deny`` with a ``Bool`` or ``StringNotEquals`` condition denies every object request (the
    state bucket's TLS-only and same-account statements lock Terraform's S3 backend out).

The environment stack's Redis access control (RBAC: users in a user group that the replication group names) needs one
more:

18. ElastiCache: user groups (``CreateUserGroup``, ``DescribeUserGroups``, ``ModifyUserGroup``, ``DeleteUserGroup``)
    are not implemented (HTTP 500; ``aws_elasticache_user_group`` create retries for minutes).

``tests/e2e/test_moto_gaps.py`` shows every gap on plain moto and its fix here; when a moto upgrade fixes a gap,
that test fails on the plain server and the patch can go. ``EXECUTION_PATCHES`` (11-15) can be applied in process
on their own: ``apply_patches(EXECUTION_PATCHES)``.

Usage::

    python tests/e2e/moto_launcher.py --port 5123          # foreground; prints a ready line
    python tests/e2e/moto_launcher.py --port 5123 --sfn-time-scale 0.001

    from tests.e2e.moto_launcher import free_port, running_moto
    with running_moto(free_port()) as endpoint:             # subprocess, stopped on exit
        boto3.client("sqs", endpoint_url=endpoint, ...)
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import functools
import hashlib
import inspect
import json
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
# Gap 11: ECS RunTask for a task sized at task level
# --------------------------------------------------------------------------------------------------------------------
_CONTAINER_MEMORY_KEYS = ("Memory", "MemoryReservation", "memory", "memoryReservation")


def _task_level_size(value: Any) -> int | None:
    """A task definition's ``cpu``/``memory`` as a number (``"1024"``), or None (unset, or ``"1 vCPU"``/``"2 GB"``)."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def patch_ecs_task_level_resources() -> None:
    """Gap 11: ``RunTask`` adds up the containers' own ``memory``/``memoryReservation`` to place a task and fails
    with a TypeError (HTTP 500) when a container has neither - the usual Fargate task definition, ours included,
    which sizes the task (the task definition's ``cpu``/``memory``), not its containers. Count such a container as 0
    and take the task-level sizes where they are larger."""
    from types import SimpleNamespace

    from moto.ecs.models import EC2ContainerServiceBackend

    original = EC2ContainerServiceBackend._calculate_task_resource_requirements
    if getattr(original, "_e2e_patched", False):
        return

    def _calculate_task_resource_requirements(task_definition: Any) -> dict[str, Any]:
        containers = [
            d
            if any(d.get(key) is not None for key in _CONTAINER_MEMORY_KEYS)
            else {**{k: v for k, v in d.items() if k not in _CONTAINER_MEMORY_KEYS}, "memory": 0}
            for d in task_definition.container_definitions
        ]
        requirements = original(SimpleNamespace(container_definitions=containers))
        for key, value in (("CPU", task_definition.cpu), ("MEMORY", task_definition.memory)):
            size = _task_level_size(value)
            if size is not None:
                requirements[key] = max(requirements[key], size)
        return requirements

    _calculate_task_resource_requirements._e2e_patched = True  # type: ignore[attr-defined]
    EC2ContainerServiceBackend._calculate_task_resource_requirements = staticmethod(  # type: ignore[method-assign, assignment]
        _calculate_task_resource_requirements
    )


# --------------------------------------------------------------------------------------------------------------------
# Gap 12: Step Functions ECS integration parameters
# --------------------------------------------------------------------------------------------------------------------
@functools.cache
def _botocore_operation(service: str, action: str) -> Any:
    """botocore's model of one operation (``ecs``, ``run_task``/``RunTask``/``runTask``)."""
    import botocore.session
    from moto.stepfunctions.parser.utils import camel_to_snake_case

    model = botocore.session.get_session().get_service_model(service)
    by_snake_name = {camel_to_snake_case(name): name for name in model.operation_names}
    return model.operation_model(by_snake_name[camel_to_snake_case(action)])


def _epoch_millis(value: Any) -> Any:
    """Replace, in place, the datetimes boto3 parsed with epoch milliseconds, as Step Functions writes ECS timestamps
    (``"StoppedAt": 1700000000000``); a datetime would also break the execution's JSON output."""
    import datetime as dt

    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in list(items):
        if isinstance(item, dt.datetime):
            value[key] = round(item.timestamp() * 1000)
        else:
            _epoch_millis(item)
    return value


def patch_stepfunctions_ecs_parameters() -> None:
    """Gap 12: the ASL interpreter (a port of LocalStack's) passes a Task's ``Parameters`` to boto3 as written. Step
    Functions takes them in PascalCase (``Cluster``, ``TaskDefinition``, ``NetworkConfiguration.AwsvpcConfiguration``,
    ``Overrides.ContainerOverrides[].Environment``), ECS's API in camelCase; LocalStack converts both ways with the
    service's botocore model, moto's port left ``_normalise_parameters``/``_normalise_response`` empty. So
    ``ecs:runTask`` dies in botocore's serializer on the first unknown key: ``States.Runtime`` with cause
    ``'Cluster'``, whatever the task. Do LocalStack's conversion for the ECS integration: request keys to the
    operation's members (through the input shape, nested structures and lists included), response keys to
    PascalCase (``Tasks[0].TaskArn``, what ``.sync`` and the state's output read) and timestamps to epoch
    milliseconds, as Step Functions outputs them."""
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_ecs import (
        StateTaskServiceEcs,
    )

    if getattr(StateTaskServiceEcs._normalise_parameters, "_e2e_patched", False):
        return

    def _normalise_parameters(
        self: Any, parameters: dict, boto_service_name: str | None = None, service_action_name: str | None = None
    ) -> None:
        operation = _botocore_operation(
            self._get_boto_service_name(boto_service_name), self._get_boto_service_action(service_action_name)
        )
        if operation.input_shape is not None:
            self._to_boto_request(parameters, operation.input_shape)

    def _normalise_response(
        self: Any, response: Any, boto_service_name: str | None = None, service_action_name: str | None = None
    ) -> None:
        operation = _botocore_operation(
            self._get_boto_service_name(boto_service_name), self._get_boto_service_action(service_action_name)
        )
        if operation.output_shape is not None:
            self._from_boto_response(response, operation.output_shape)
        _epoch_millis(response)

    _normalise_parameters._e2e_patched = True  # type: ignore[attr-defined]
    StateTaskServiceEcs._normalise_parameters = _normalise_parameters  # type: ignore[method-assign]
    StateTaskServiceEcs._normalise_response = _normalise_response  # type: ignore[method-assign]


# --------------------------------------------------------------------------------------------------------------------
# Gap 13: ECS tasks stop as if their containers had exited
# --------------------------------------------------------------------------------------------------------------------
# The emulated container's exit: 1 when this variable (task definition environment, then the container override)
# starts with the prefix, else 0.
EMULATED_FAILURE_VARIABLE = "VIDEO_ID"
EMULATED_FAILURE_PREFIX = "fail-"


def _emulated_exit_code(definition: dict[str, Any], overrides: dict[str, Any]) -> int:
    environment = {e.get("name"): e.get("value", "") for e in definition.get("environment") or []}
    for override in overrides.get("containerOverrides") or []:
        if override.get("name") == definition.get("name"):
            environment.update({e.get("name"): e.get("value", "") for e in override.get("environment") or []})
    return 1 if str(environment.get(EMULATED_FAILURE_VARIABLE) or "").startswith(EMULATED_FAILURE_PREFIX) else 0


def patch_ecs_container_exit() -> None:
    """Gap 13: a moto ECS task runs nothing. Its ``lastStatus`` walks RUNNING -> DEACTIVATING -> STOPPING ->
    DEPROVISIONING -> STOPPED, one step per ``DescribeTasks`` (moto's default ``ecs::task`` state transition), but
    nothing else stops with it: the containers stay PENDING with ``exitCode`` 0 whatever they were asked to do,
    ``desiredStatus`` stays RUNNING, and there is no ``stopCode``, ``stoppedReason`` or ``stoppedAt``. Emulate the
    container's run: it is RUNNING (no exit code yet) while the task runs, and when moto's transition brings the task
    to STOPPED (or ``StopTask`` does), the task stops as AWS reports it: containers STOPPED, desired STOPPED,
    ``stoppingAt``/``stoppedAt``/``executionStoppedAt``, and

    * the containers exited: ``stopCode`` EssentialContainerExited, ``stoppedReason`` "Essential container in task
      exited", each container's ``exitCode`` 0 - or 1 when its ``VIDEO_ID`` (``EMULATED_FAILURE_VARIABLE``, from the
      task definition's environment or the RunTask container override) starts with ``fail-``
      (``EMULATED_FAILURE_PREFIX``);
    * ``StopTask``: ``stopCode`` UserInitiated, the caller's reason, no exit code.

    How long a task runs is still moto's state transition (``state_manager``/``/moto-api/state-manager``)."""
    from moto.core.utils import utcnow
    from moto.ecs.models import EC2ContainerServiceBackend, Task
    from moto.moto_api._internal.managed_state_model import ManagedState

    if getattr(Task.__init__, "_e2e_patched", False):
        return

    original_init = Task.__init__
    original_advance = Task.advance
    original_stop_task = EC2ContainerServiceBackend.stop_task
    managed_status = ManagedState.status

    def stop(task: Any) -> None:
        task._e2e_stopped = True
        user_initiated = getattr(task, "_e2e_user_stop", False)
        now = utcnow()
        task.desired_status = "STOPPED"
        task.stop_code = "UserInitiated" if user_initiated else "EssentialContainerExited"
        if not user_initiated:
            task.stopped_reason = "Essential container in task exited"
        task.stopping_at = task.execution_stopped_at = task.stopped_at = now
        for container in task.containers:
            container.last_status = "STOPPED"
            container.exitCode = None if user_initiated else getattr(container, "_e2e_exit_code", 0)

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        definitions = {
            d.get("name"): d
            for d in self._backend.describe_task_definition(self.task_definition_arn).container_definitions
        }
        self.created_at = self.started_at = utcnow()
        for container in self.containers:
            container.last_status = "RUNNING"
            container.exitCode = None  # not exited yet
            container._e2e_exit_code = _emulated_exit_code(definitions.get(container.name, {}), self.overrides)
        _ = self.status  # a transition configured as "immediate" stops the task at once

    def status(self: Any) -> str | None:
        value = managed_status.fget(self)
        if value == "STOPPED" and not getattr(self, "_e2e_stopped", False):
            stop(self)
        return value

    def advance(self: Any) -> None:
        original_advance(self)
        # Take the transition now, before DescribeTasks serializes the containers (ahead of lastStatus).
        _ = self.status

    def stop_task(self: Any, cluster_str: str, task_str: str, reason: str) -> Any:
        task_id = task_str.split("/")[-1]
        for tasks in self.tasks.values():
            for arn, task in tasks.items():
                if arn.endswith(task_id) and not getattr(task, "_e2e_stopped", False):
                    task._e2e_user_stop = True
        task = original_stop_task(self, cluster_str, task_str, reason)
        _ = task.status
        return task

    __init__._e2e_patched = True  # type: ignore[attr-defined]
    Task.__init__ = __init__  # type: ignore[method-assign]
    Task.status = property(status, managed_status.fset)  # type: ignore[assignment]
    Task.advance = advance  # type: ignore[method-assign]
    EC2ContainerServiceBackend.stop_task = stop_task  # type: ignore[method-assign]


# --------------------------------------------------------------------------------------------------------------------
# Gap 14: Step Functions ecs:runTask.sync fails when the task failed
# --------------------------------------------------------------------------------------------------------------------
SYNC_POLL_SECONDS = 0.5  # moto's own .sync poll interval (time-scaled, see gap 15)


def patch_stepfunctions_ecs_sync_failure() -> None:
    """Gap 14: ``ecs:runTask.sync`` succeeds as soon as the task is STOPPED, whatever its containers did. On AWS a
    task whose essential container exited non-zero (or never ran) fails the state with ``States.TaskFailed``, the
    cause being the DescribeTasks JSON of the stopped task (what a Catch or the error notice then reads), and the
    state's Retry applies. Do the same: on STOPPED, look up which containers are essential (the task definition) and
    raise States.TaskFailed (TaskFailed event, ``resourceType`` ecs, ``resource`` runTask.sync) when one has no
    ``ExitCode`` 0; else return the task description as before. Polls every ``SYNC_POLL_SECONDS`` (time-scaled)."""
    from moto.stepfunctions.parser.api import HistoryEventType, TaskFailedEventDetails
    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
        FailureEvent,
        FailureEventException,
    )
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
        StatesErrorNameType,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_ecs import (
        StateTaskServiceEcs,
    )
    from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
    from moto.stepfunctions.parser.asl.utils.boto_client import boto_client_for
    from moto.stepfunctions.parser.asl.utils.encoding import to_json_str

    if getattr(StateTaskServiceEcs._build_sync_resolver, "_e2e_patched", False):
        return

    def _build_sync_resolver(
        self: Any, env: Any, resource_runtime_part: Any, normalised_parameters: dict, state_credentials: Any
    ) -> Any:
        ecs = boto_client_for(service="ecs", region=resource_runtime_part.region, state_credentials=state_credentials)
        submitted = env.stack.pop()["Tasks"][0]
        cluster_arn, task_arn = submitted["ClusterArn"], submitted["TaskArn"]

        def failed(task: dict[str, Any]) -> bool:
            definition = ecs.describe_task_definition(taskDefinition=task["TaskDefinitionArn"])["taskDefinition"]
            essential = {d["name"] for d in definition["containerDefinitions"] if d.get("essential", True)}
            return any(c.get("ExitCode") != 0 for c in task.get("Containers", []) if c.get("Name") in essential)

        def _sync_resolver() -> dict[str, Any] | None:
            while env.is_running():
                described = ecs.describe_tasks(cluster=cluster_arn, tasks=[task_arn])
                if described["tasks"][0]["lastStatus"] == "STOPPED":
                    self._normalise_response(response=described, service_action_name="describe_tasks")
                    task: dict[str, Any] = described["Tasks"][0]
                    if not failed(task):
                        return task
                    error = StatesErrorNameType.StatesTaskFailed.to_name()
                    raise FailureEventException(
                        FailureEvent(
                            env=env,
                            error_name=StatesErrorName(typ=StatesErrorNameType.StatesTaskFailed),
                            event_type=HistoryEventType.TaskFailed,
                            event_details=EventDetails(
                                taskFailedEventDetails=TaskFailedEventDetails(
                                    error=error,
                                    cause=to_json_str(task),
                                    resource=self._get_sfn_resource(),
                                    resourceType=self._get_sfn_resource_type(),
                                )
                            ),
                        )
                    )
                emulated_sleep(env, SYNC_POLL_SECONDS)
            return None

        return _sync_resolver

    _build_sync_resolver._e2e_patched = True  # type: ignore[attr-defined]
    _build_sync_resolver._e2e_original = StateTaskServiceEcs._build_sync_resolver  # type: ignore[attr-defined]
    StateTaskServiceEcs._build_sync_resolver = _build_sync_resolver  # type: ignore[method-assign]


# --------------------------------------------------------------------------------------------------------------------
# Gap 15: Step Functions waits in real time
# --------------------------------------------------------------------------------------------------------------------
TIME_SCALE_CONFIG_KEY = "e2e_time_scale"  # in moto's "stepfunctions" config: mock_aws(config=...), /moto-api/config
TIME_SCALE_ENV = "E2E_SFN_TIME_SCALE"  # else this variable (the launcher's --sfn-time-scale sets it)


def time_scale() -> float:
    """The factor Step Functions waits are slept at: moto's ``stepfunctions`` config key ``e2e_time_scale``, else
    ``$E2E_SFN_TIME_SCALE``, else 1 (real time)."""
    from moto.core.config import default_user_config

    value = default_user_config.get("stepfunctions", {}).get(TIME_SCALE_CONFIG_KEY)  # type: ignore[call-overload]
    if value is None:
        value = os.environ.get(TIME_SCALE_ENV) or 1
    scale = float(value)
    if not scale >= 0:
        raise ValueError(f"Step Functions time scale must be a number >= 0, not {value!r}")
    return scale


def emulated_sleep(env: Any, seconds: float) -> None:
    """Wait ``seconds`` of the execution's virtual clock: sleep ``seconds * time_scale()`` and move the clock of the
    execution ``env`` belongs to ahead by the rest, so its history and stop date show the full wait."""
    real = seconds * time_scale()
    if real > 0:
        time.sleep(real)
    clock = env.event_manager
    clock._e2e_offset_seconds = getattr(clock, "_e2e_offset_seconds", 0.0) + max(seconds - real, 0.0)


def patch_stepfunctions_time_scale() -> None:
    """Gap 15: a Retry waits its full ``IntervalSeconds`` x ``BackoffRate``: our ProcessVideo retries sleep 30 + 60
    + 120 s, so one failing execution takes 3.5 minutes. Sleep the waits scaled by ``time_scale()`` (e.g. 0.001:
    30 s -> 30 ms) and keep a virtual clock per execution: every scaled wait moves it ahead by the unslept part, and
    the history event timestamps and the execution's ``stopDate`` are the real time plus that offset. The history
    still shows the full plan (TaskFailed at t, the next attempt's TaskScheduled at t + 30 s, ...) while the test
    takes milliseconds. Set the scale with ``mock_aws(config={"stepfunctions": {"execute_state_machine": True,
    "e2e_time_scale": 0.001}})`` in process, ``POST /moto-api/config`` with the same ``stepfunctions`` object on a
    server, or ``$E2E_SFN_TIME_SCALE``/``--sfn-time-scale``. Scaled: Retry intervals and the ECS ``.sync`` poll (gap
    14). Not scaled: Wait states and timeouts (TimeoutSeconds, HeartbeatSeconds), which stay in real time. One clock
    per execution: waits in parallel branches would add up."""
    import datetime as dt

    from moto.stepfunctions.parser.asl.component.common.retry.max_attempts_decl import MaxAttemptsOutcome
    from moto.stepfunctions.parser.asl.component.common.retry.retrier_decl import RetrierDecl
    from moto.stepfunctions.parser.asl.component.common.retry.retrier_outcome import RetrierOutcome
    from moto.stepfunctions.parser.asl.eval.event.event_manager import EventManager
    from moto.stepfunctions.parser.backend.execution import BaseExecutionWorkerCommunication

    if getattr(RetrierDecl._eval_body, "_e2e_patched", False):
        return

    original_now = EventManager._get_current_timestamp
    original_reflect = BaseExecutionWorkerCommunication._reflect_execution_status

    def _eval_body(self: Any, env: Any) -> None:
        # RetrierDecl._eval_body of moto 5.2.5, the wait excepted.
        self.error_equals.eval(env)
        if not env.stack.pop():
            env.stack.append(RetrierOutcome.Skipped)
            return
        self.max_attempts.eval(env=env)
        if env.stack.pop() == MaxAttemptsOutcome.EXHAUSTED:
            env.stack.append(RetrierOutcome.Failed)
            return
        self.interval_seconds.eval(env=env)
        self.backoff_rate.eval(env=env)
        self.max_delay_seconds.eval(env=env)
        self.jitter_strategy.eval(env=env)
        emulated_sleep(env, env.stack.pop())
        env.stack.append(RetrierOutcome.Executed)

    def _get_current_timestamp(self: Any) -> dt.datetime:
        return original_now() + dt.timedelta(seconds=getattr(self, "_e2e_offset_seconds", 0.0))

    def _reflect_execution_status(self: Any) -> None:
        original_reflect(self)
        offset = getattr(self.execution.exec_worker.env.event_manager, "_e2e_offset_seconds", 0.0)
        self.execution.stop_date += dt.timedelta(seconds=offset)

    _eval_body._e2e_patched = True  # type: ignore[attr-defined]
    RetrierDecl._eval_body = _eval_body  # type: ignore[method-assign]
    EventManager._get_current_timestamp = _get_current_timestamp  # type: ignore[method-assign, assignment]
    BaseExecutionWorkerCommunication._reflect_execution_status = _reflect_execution_status  # type: ignore[method-assign]


# --------------------------------------------------------------------------------------------------------------------
# Gap 16: state machines created before execution was switched on
# --------------------------------------------------------------------------------------------------------------------
def patch_stepfunctions_one_store() -> None:
    """Gap 16: with ``execute_state_machine`` on, moto's responses go to a second backend
    (``stepfunctions_parser_backends``) with its own, empty list of state machines: switching execution on at run time
    (``/moto-api/config``, after Terraform deployed the stack) hides every machine created before, and StartExecution
    answers StateMachineDoesNotExist. The patch makes the execution backend share the plain backend's state machines
    (and their executions), activities and tags, so the switch changes how executions run, not what exists."""
    from moto.stepfunctions.models import stepfunctions_backends
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend

    if getattr(StepFunctionsParserBackend, "_e2e_one_store", False):
        return
    original_init = StepFunctionsParserBackend.__init__

    def __init__(self: Any, region_name: str, account_id: str) -> None:
        original_init(self, region_name, account_id)
        plain = stepfunctions_backends[account_id][region_name]
        self.state_machines = plain.state_machines
        self.activities = plain.activities
        self.tagger = plain.tagger

    StepFunctionsParserBackend.__init__ = __init__  # type: ignore[method-assign]
    StepFunctionsParserBackend._e2e_one_store = True  # type: ignore[attr-defined]


# --------------------------------------------------------------------------------------------------------------------
# Gap 17: S3 bucket-policy conditions
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
    """Gap 17: S3 checks every object request (``GetObject``, ``HeadObject``, ``PutObject``, ``DeleteObject``) against
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


# --------------------------------------------------------------------------------------------------------------------
# Gap 18: ElastiCache user groups
# --------------------------------------------------------------------------------------------------------------------
def patch_elasticache_user_groups() -> None:
    """Gap 18: moto has ElastiCache users but no user groups: ``CreateUserGroup``, ``DescribeUserGroups``,
    ``ModifyUserGroup`` and ``DeleteUserGroup`` answer HTTP 500 "not implemented", which the provider retries
    (``aws_elasticache_user_group`` create was still retrying after 10 minutes, so the replication group with
    ``user_group_ids`` never started). Keep user groups per backend as AWS answers them: ``active`` at once, with the
    replication groups whose ``UserGroupIds`` name them; create refuses an existing id (UserGroupAlreadyExists), an
    unknown user (UserNotFound), two users of one name (DuplicateUserName) and, for Redis, a group without a user
    named ``default`` (DefaultUserRequired), and modify (add/remove users) likewise; delete answers the group
    ``deleting`` and removes it, or InvalidUserGroupState while a replication group uses it; an unknown group
    answers UserGroupNotFound. Each user's ``UserGroupIds`` follows its groups, and the group's ARN
    (``...:usergroup:<id>``) takes tags like the other ElastiCache ARNs (moto's ARN check refused it)."""
    import re

    from moto.core.responses import ActionResult
    from moto.elasticache.exceptions import ElastiCacheException, InvalidParameterValueException, UserNotFound
    from moto.elasticache.models import ElastiCacheBackend
    from moto.elasticache.responses import ElastiCacheResponse
    from moto.elasticache.utils import VALID_ENGINE_TYPES
    from moto.utilities.utils import get_partition

    if hasattr(ElastiCacheResponse, "create_user_group"):
        return

    class UserGroupError(ElastiCacheException):
        def __init__(self, code: str, message: str) -> None:
            self.code = code
            super().__init__(message)

    original_init = ElastiCacheBackend.__init__

    def __init__(self: Any, region_name: str, account_id: str) -> None:
        original_init(self, region_name, account_id)
        self.user_groups = {}
        self.arn_regex = re.compile(self.arn_regex.pattern.replace("|user)", "|user|usergroup)"))

    def described(self: Any, group: dict[str, Any]) -> dict[str, Any]:
        users_of = [
            r.replication_group_id
            for r in self.replication_groups.values()
            if group["UserGroupId"] in (r.user_group_ids or [])
        ]
        return {**group, "ReplicationGroups": users_of}

    def find(self: Any, user_group_id: str) -> dict[str, Any]:
        if user_group_id not in self.user_groups:
            raise UserGroupError("UserGroupNotFound", f"User group {user_group_id} not found.")
        group: dict[str, Any] = self.user_groups[user_group_id]
        return group

    def set_users(self: Any, group: dict[str, Any], user_ids: list[str]) -> None:
        unknown = [u for u in user_ids if u not in self.users]
        if unknown:
            raise UserNotFound(unknown[0])
        names = [self.users[u].name for u in user_ids]
        if len(set(names)) < len(names):
            raise UserGroupError("DuplicateUserName", "A user group cannot hold two users of the same name.")
        if group["Engine"] == "redis" and "default" not in names:
            raise UserGroupError(
                "DefaultUserRequired", "User group needs to contain a user with the user name default."
            )
        for user in self.users.values():
            others = [g for g in user.user_group_ids if g != group["UserGroupId"]]
            user.user_group_ids = others + [group["UserGroupId"]] * (user.id in user_ids)
        group["UserIds"] = list(user_ids)

    def create_user_group(self: Any, user_group_id: str, engine: str, user_ids: list[str], tags: Any) -> Any:
        if (engine or "").lower() not in VALID_ENGINE_TYPES:
            raise InvalidParameterValueException(f"Unknown parameter for Engine: {engine}")
        if user_group_id in self.user_groups:
            raise UserGroupError("UserGroupAlreadyExists", f"User group {user_group_id} already exists.")
        region, account = self.region_name, self.account_id
        arn = f"arn:{get_partition(region)}:elasticache:{region}:{account}:usergroup:{user_group_id}"
        group = {
            "UserGroupId": user_group_id,
            "Status": "active",
            "Engine": engine.lower(),
            "MinimumEngineVersion": "6.0",
            "ServerlessCaches": [],
            "ARN": arn,
        }
        set_users(self, group, user_ids)
        self.user_groups[user_group_id] = group
        self.tagging_service.tag_resource(arn, tags or [])
        return described(self, group)

    def describe_user_groups(self: Any, user_group_id: str | None) -> Any:
        groups = [find(self, user_group_id)] if user_group_id else list(self.user_groups.values())
        return {"UserGroups": [described(self, g) for g in groups]}

    def modify_user_group(self: Any, user_group_id: str, add: list[str], remove: list[str]) -> Any:
        group = find(self, user_group_id)
        set_users(
            self,
            group,
            [u for u in group["UserIds"] if u not in remove] + [u for u in add if u not in group["UserIds"]],
        )
        return described(self, group)

    def delete_user_group(self: Any, user_group_id: str) -> Any:
        group = described(self, find(self, user_group_id))
        if group["ReplicationGroups"]:
            raise UserGroupError(
                "InvalidUserGroupState", f"User group {user_group_id} is in use by {group['ReplicationGroups'][0]}."
            )
        for user in self.users.values():
            user.user_group_ids = [g for g in user.user_group_ids if g != user_group_id]
        del self.user_groups[user_group_id]
        self.tagging_service.delete_all_tags_for_resource(group["ARN"])
        return {**group, "Status": "deleting"}

    def respond(call: Any, *params: str) -> Any:
        def response(self: Any) -> Any:
            lists = ("UserIds", "UserIdsToAdd", "UserIdsToRemove", "Tags")
            args = [self._get_param(p, [] if p in lists else None) for p in params]
            return ActionResult(call(self.elasticache_backend, *args))

        return response

    ElastiCacheBackend.__init__ = __init__  # type: ignore[method-assign]
    ElastiCacheResponse.create_user_group = respond(  # type: ignore[attr-defined]
        create_user_group, "UserGroupId", "Engine", "UserIds", "Tags"
    )
    ElastiCacheResponse.describe_user_groups = respond(describe_user_groups, "UserGroupId")  # type: ignore[attr-defined]
    ElastiCacheResponse.modify_user_group = respond(  # type: ignore[attr-defined]
        modify_user_group, "UserGroupId", "UserIdsToAdd", "UserIdsToRemove"
    )
    ElastiCacheResponse.delete_user_group = respond(delete_user_group, "UserGroupId")  # type: ignore[attr-defined]


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
    patch_ecs_task_level_resources,
    patch_stepfunctions_ecs_parameters,
    patch_ecs_container_exit,
    patch_stepfunctions_ecs_sync_failure,
    patch_stepfunctions_time_scale,
    patch_stepfunctions_one_store,
    patch_s3_bucket_policy_conditions,
    patch_elasticache_user_groups,
)


# What executing our state machine needs (in process: `mock_aws` with ``execute_state_machine``), without gap 1's
# managed policies, whose loading makes every IAM backend of the process slow to build.
EXECUTION_PATCHES = (
    patch_ecs_task_level_resources,
    patch_stepfunctions_ecs_parameters,
    patch_ecs_container_exit,
    patch_stepfunctions_ecs_sync_failure,
    patch_stepfunctions_time_scale,
)


def apply_patches(patches: tuple[Any, ...] = PATCHES) -> None:
    """Apply ``patches`` (idempotent; all of them by default). Call before moto serves its first request."""
    for patch in patches:
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
    parser.add_argument(
        "--sfn-time-scale",
        type=float,
        help=f"sleep Step Functions retry waits at this factor (sets ${TIME_SCALE_ENV}; see gap 15)",
    )
    args = parser.parse_args(argv)
    if args.sfn_time_scale is not None:
        os.environ[TIME_SCALE_ENV] = str(args.sfn_time_scale)
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
def executing_state_machines(endpoint: str, time_scale: float = 0.001) -> Iterator[None]:
    """Let the server at ``endpoint`` execute state machines (moto's ASL interpreter, with gaps 11-15 patched on a
    patched server) for the block, Step Functions waits slept at ``time_scale`` of their length (gap 15)."""

    def configure(stepfunctions: dict[str, Any]) -> None:
        request = urllib.request.Request(
            f"{endpoint}/moto-api/config",
            data=json.dumps({"stepfunctions": stepfunctions}).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            if response.status >= 300:
                raise RuntimeError(f"moto config API answered {response.status}")

    configure({"execute_state_machine": True, TIME_SCALE_CONFIG_KEY: time_scale})
    try:
        yield
    finally:
        configure({"execute_state_machine": False})


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
