"""Each moto 5.2.5 gap patched by ``moto_launcher`` is real on plain moto and fixed by the launcher.

Two servers run for the whole module: plain ``python -m moto.server`` and the patched launcher. Every test calls
the same AWS API on both with boto3: the plain server must still show the gap (when a moto upgrade fixes it, the
test fails here and the patch can go), the patched one must behave as Terraform's AWS provider (gaps 1-10, 17, 18) or
our state machine's execution (gaps 11-16) needs. Gap 14 shows in process, with every patch but its own (plain moto
never gets that far: gap 12).
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from botocore.parsers import ResponseParserError

from tests.e2e.moto_launcher import (
    EXECUTION_PATCHES,
    TIME_SCALE_CONFIG_KEY,
    apply_patches,
    executing_state_machines,
    free_port,
    running_moto,
)

pytestmark = pytest.mark.e2e

REGION = "ap-northeast-1"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_EC2_METADATA_DISABLED": "true"}
# No retries: plain moto answers unimplemented actions with HTTP 500, which botocore would otherwise retry.
CLIENT_CONFIG = Config(
    region_name=REGION, retries={"mode": "standard", "max_attempts": 1}, connect_timeout=5, read_timeout=30
)


@pytest.fixture(scope="module", autouse=True)
def aws_credentials() -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in (*CREDENTIALS, "AWS_SESSION_TOKEN", "AWS_PROFILE")}
    os.environ.update(CREDENTIALS)
    os.environ.pop("AWS_SESSION_TOKEN", None)
    os.environ.pop("AWS_PROFILE", None)
    yield
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="module")
def plain(aws_credentials) -> Iterator[str]:
    with running_moto(free_port(), patched=False) as endpoint:
        yield endpoint


@pytest.fixture(scope="module")
def patched(aws_credentials) -> Iterator[str]:
    with running_moto(free_port()) as endpoint:
        yield endpoint


def client(endpoint: str | None, service: str) -> Any:
    """A client of the server at ``endpoint``; of in-process moto (``mock_aws``) for None."""
    return boto3.session.Session(region_name=REGION).client(service, endpoint_url=endpoint, config=CLIENT_CONFIG)


def error_code(excinfo: pytest.ExceptionInfo[ClientError]) -> str:
    return excinfo.value.response["Error"]["Code"]


def assert_not_implemented(call: Any, **kwargs: Any) -> None:
    """Plain moto answers an unimplemented action with HTTP 500 (an HTML page for query/XML protocols)."""
    with pytest.raises((ClientError, ResponseParserError)) as excinfo:
        call(**kwargs)
    if isinstance(excinfo.value, ClientError):
        assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    else:
        assert "500 Internal Server Error" in str(excinfo.value)


def vpc_with_subnets(endpoint: str | None, count: int = 2) -> tuple[str, list[str]]:
    ec2 = client(endpoint, "ec2")
    vpc_id = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(
            VpcId=vpc_id, CidrBlock=f"10.20.{index}.0/24", AvailabilityZone=f"{REGION}{'acd'[index % 3]}"
        )["Subnet"]["SubnetId"]
        for index in range(count)
    ]
    return vpc_id, subnets


# --- Gap 1: AWS-managed IAM policies ----------------------------------------------------------------------------------
ECS_EXECUTION_POLICY = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"


def test_iam_managed_policies(plain: str, patched: str) -> None:
    with pytest.raises(ClientError) as excinfo:
        client(plain, "iam").get_policy(PolicyArn=ECS_EXECUTION_POLICY)
    assert error_code(excinfo) == "NoSuchEntity"

    iam = client(patched, "iam")
    assert iam.get_policy(PolicyArn=ECS_EXECUTION_POLICY)["Policy"]["Arn"] == ECS_EXECUTION_POLICY
    role = "e2e-ecs-execution"
    iam.create_role(
        RoleName=role,
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}
                ],
            }
        ),
    )
    iam.attach_role_policy(RoleName=role, PolicyArn=ECS_EXECUTION_POLICY)
    attached = iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]
    assert [p["PolicyArn"] for p in attached] == [ECS_EXECUTION_POLICY]


# --- Gap 2: unique RDS DbiResourceId ----------------------------------------------------------------------------------
def create_two_db_instances(endpoint: str) -> list[str]:
    rds = client(endpoint, "rds")
    ids = []
    for name in ("e2e-db-one", "e2e-db-two"):
        instance = rds.create_db_instance(
            DBInstanceIdentifier=name,
            Engine="postgres",
            EngineVersion="15.8",
            DBInstanceClass="db.t4g.micro",
            AllocatedStorage=20,
            MasterUsername="app",
            MasterUserPassword="not-a-real-secret-1",
        )["DBInstance"]
        ids.append(instance["DbiResourceId"])
    return ids


def test_rds_dbi_resource_id_unique(plain: str, patched: str) -> None:
    first, second = create_two_db_instances(plain)
    assert first == second  # the gap: every instance shares one id

    ids = create_two_db_instances(patched)
    assert len(set(ids)) == 2
    rds = client(patched, "rds")
    for dbi_resource_id in ids:
        assert re.fullmatch(r"db-[A-Z0-9]{26}", dbi_resource_id)
        # How the provider reads aws_db_instance back (its ID is the DbiResourceId).
        found = rds.describe_db_instances(Filters=[{"Name": "dbi-resource-id", "Values": [dbi_resource_id]}])
        assert [i["DbiResourceId"] for i in found["DBInstances"]] == [dbi_resource_id]


# --- Gap 3: ElastiCache replication-group member clusters -------------------------------------------------------------
def create_replication_group(endpoint: str, group_id: str) -> tuple[dict, str]:
    vpc_id, subnets = vpc_with_subnets(endpoint)
    sg_id = client(endpoint, "ec2").create_security_group(
        GroupName=f"{group_id}-sg", Description="redis", VpcId=vpc_id
    )["GroupId"]
    elasticache = client(endpoint, "elasticache")
    elasticache.create_cache_subnet_group(
        CacheSubnetGroupName=f"{group_id}-subnets", CacheSubnetGroupDescription="redis", SubnetIds=subnets
    )
    group = elasticache.create_replication_group(
        ReplicationGroupId=group_id,
        ReplicationGroupDescription="e2e",
        Engine="redis",
        EngineVersion="7.1",
        CacheNodeType="cache.t4g.micro",
        NumCacheClusters=2,
        AutomaticFailoverEnabled=True,
        MultiAZEnabled=True,
        CacheSubnetGroupName=f"{group_id}-subnets",
        SecurityGroupIds=[sg_id],
        Port=6379,
        AtRestEncryptionEnabled=True,
        TransitEncryptionEnabled=True,
        SnapshotRetentionLimit=1,
        SnapshotWindow="17:00-18:00",
        PreferredMaintenanceWindow="sun:19:00-sun:20:00",
        AutoMinorVersionUpgrade=True,
    )["ReplicationGroup"]
    return group, sg_id


def test_elasticache_replication_group_members(plain: str, patched: str) -> None:
    group_id = "e2e-redis"

    # Plain moto: NumCacheClusters ignored, members never registered, delete keeps the group.
    group, _ = create_replication_group(plain, group_id)
    assert group["MemberClusters"] == [f"{group_id}-001"]
    elasticache = client(plain, "elasticache")
    with pytest.raises(ClientError) as excinfo:
        elasticache.describe_cache_clusters(CacheClusterId=f"{group_id}-001", ShowCacheNodeInfo=True)
    assert error_code(excinfo) == "CacheClusterNotFound"
    elasticache.delete_replication_group(ReplicationGroupId=group_id)
    assert elasticache.describe_replication_groups(ReplicationGroupId=group_id)["ReplicationGroups"]

    # Patched: two members, each an available cache cluster of the group; delete removes all.
    group, sg_id = create_replication_group(patched, group_id)
    members = [f"{group_id}-001", f"{group_id}-002"]
    assert sorted(group["MemberClusters"]) == members
    elasticache = client(patched, "elasticache")
    described = elasticache.describe_replication_groups(ReplicationGroupId=group_id)["ReplicationGroups"][0]
    assert sorted(described["MemberClusters"]) == members
    assert [m["CacheClusterId"] for m in described["NodeGroups"][0]["NodeGroupMembers"]] == members
    for cluster_id in members:
        cluster = elasticache.describe_cache_clusters(CacheClusterId=cluster_id, ShowCacheNodeInfo=True)[
            "CacheClusters"
        ][0]
        assert cluster["CacheClusterId"] == cluster_id
        assert cluster["ReplicationGroupId"] == group_id
        assert cluster["CacheClusterStatus"] == "available"
        assert cluster["CacheNodeType"] == "cache.t4g.micro"
        assert cluster["Engine"] == "redis"
        assert cluster["EngineVersion"] == "7.1"
        assert cluster["NumCacheNodes"] == 1
        assert cluster["CacheSubnetGroupName"] == f"{group_id}-subnets"
        assert [sg["SecurityGroupId"] for sg in cluster["SecurityGroups"]] == [sg_id]
        assert cluster["CacheParameterGroup"]["CacheParameterGroupName"] == "default.redis7"
        assert cluster["PreferredMaintenanceWindow"] == "sun:19:00-sun:20:00"
        assert cluster["AtRestEncryptionEnabled"] is True
        assert cluster["TransitEncryptionEnabled"] is True
        assert cluster["AutoMinorVersionUpgrade"] is True
        assert cluster["PreferredAvailabilityZone"].startswith(REGION)
    listed = elasticache.describe_cache_clusters()["CacheClusters"]
    assert sorted(c["CacheClusterId"] for c in listed if c.get("ReplicationGroupId") == group_id) == members

    deleted = elasticache.delete_replication_group(ReplicationGroupId=group_id)["ReplicationGroup"]
    assert deleted["Status"] == "deleting"
    with pytest.raises(ClientError) as excinfo:
        elasticache.describe_replication_groups(ReplicationGroupId=group_id)
    assert error_code(excinfo) == "ReplicationGroupNotFoundFault"
    for cluster_id in members:
        with pytest.raises(ClientError) as excinfo:
            elasticache.describe_cache_clusters(CacheClusterId=cluster_id)
        assert error_code(excinfo) == "CacheClusterNotFound"


# --- Gap 4: ElastiCache DeleteCacheSubnetGroup ------------------------------------------------------------------------
def create_cache_subnet_group(endpoint: str, name: str) -> None:
    _, subnets = vpc_with_subnets(endpoint)
    client(endpoint, "elasticache").create_cache_subnet_group(
        CacheSubnetGroupName=name, CacheSubnetGroupDescription="e2e", SubnetIds=subnets
    )


def test_elasticache_delete_cache_subnet_group(plain: str, patched: str) -> None:
    name = "e2e-cache-subnets"

    create_cache_subnet_group(plain, name)
    assert_not_implemented(client(plain, "elasticache").delete_cache_subnet_group, CacheSubnetGroupName=name)

    create_cache_subnet_group(patched, name)
    elasticache = client(patched, "elasticache")
    elasticache.delete_cache_subnet_group(CacheSubnetGroupName=name)
    with pytest.raises(ClientError) as excinfo:
        elasticache.describe_cache_subnet_groups(CacheSubnetGroupName=name)
    assert error_code(excinfo) == "CacheSubnetGroupNotFoundFault"
    with pytest.raises(ClientError) as excinfo:
        elasticache.delete_cache_subnet_group(CacheSubnetGroupName=name)
    assert error_code(excinfo) == "CacheSubnetGroupNotFoundFault"


# --- Gap 5: Step Functions ValidateStateMachineDefinition / ListStateMachineVersions ----------------------------------
DEFINITION = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}})
SFN_ROLE = "arn:aws:iam::123456789012:role/e2e-sfn"


def test_stepfunctions_validate_and_list_versions(plain: str, patched: str) -> None:
    sfn = client(plain, "stepfunctions")
    machine = sfn.create_state_machine(name="e2e", definition=DEFINITION, roleArn=SFN_ROLE)["stateMachineArn"]
    assert_not_implemented(sfn.validate_state_machine_definition, definition=DEFINITION, type="STANDARD")
    assert_not_implemented(sfn.list_state_machine_versions, stateMachineArn=machine)

    sfn = client(patched, "stepfunctions")
    validation = sfn.validate_state_machine_definition(definition=DEFINITION, type="STANDARD")
    assert validation["result"] == "OK"
    assert validation["diagnostics"] == []
    machine = sfn.create_state_machine(name="e2e", definition=DEFINITION, roleArn=SFN_ROLE)["stateMachineArn"]
    assert sfn.list_state_machine_versions(stateMachineArn=machine)["stateMachineVersions"] == []
    published = sfn.create_state_machine(name="e2e-published", definition=DEFINITION, roleArn=SFN_ROLE, publish=True)
    versions = sfn.list_state_machine_versions(stateMachineArn=published["stateMachineArn"])
    assert [v["stateMachineVersionArn"] for v in versions["stateMachineVersions"]] == [
        published["stateMachineVersionArn"]
    ]


# --- Gap 6: descriptions of security-group rules that reference another group -----------------------------------------
def authorize_sg_reference_rule(endpoint: str, description: str) -> tuple[Any, str, str]:
    ec2 = client(endpoint, "ec2")
    vpc_id, _ = vpc_with_subnets(endpoint, count=1)
    source = ec2.create_security_group(GroupName="e2e-ecs", Description="ecs", VpcId=vpc_id)["GroupId"]
    target = ec2.create_security_group(GroupName="e2e-redis", Description="redis", VpcId=vpc_id)["GroupId"]
    # What aws_vpc_security_group_ingress_rule sends for referenced_security_group_id + description.
    ec2.authorize_security_group_ingress(
        GroupId=target,
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 6379,
                "ToPort": 6379,
                "UserIdGroupPairs": [{"GroupId": source, "Description": description}],
            }
        ],
    )
    return ec2, source, target


def rule_of(ec2: Any, group_id: str) -> dict:
    rules = ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [group_id]}])
    ingress = [r for r in rules["SecurityGroupRules"] if not r["IsEgress"]]
    assert len(ingress) == 1
    return ingress[0]


def pair_of(ec2: Any, group_id: str) -> dict:
    permissions = ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"][0]["IpPermissions"]
    assert len(permissions) == 1
    (pair,) = permissions[0]["UserIdGroupPairs"]
    return pair


def test_sg_reference_rule_keeps_description(plain: str, patched: str) -> None:
    description = "Redis from ECS tasks"

    ec2, source, target = authorize_sg_reference_rule(plain, description)
    rule = rule_of(ec2, target)
    assert rule["ReferencedGroupInfo"]["GroupId"] == source
    assert "Description" not in rule  # the gap: DescribeSecurityGroupRules drops it

    ec2, source, target = authorize_sg_reference_rule(patched, description)
    rule = rule_of(ec2, target)
    assert rule["ReferencedGroupInfo"]["GroupId"] == source
    assert rule["Description"] == description
    pair = pair_of(ec2, target)
    assert (pair["GroupId"], pair["Description"]) == (source, description)

    # An in-place description update (what the provider does on change) shows up in both APIs.
    ec2.modify_security_group_rules(
        GroupId=target,
        SecurityGroupRules=[
            {
                "SecurityGroupRuleId": rule["SecurityGroupRuleId"],
                "SecurityGroupRule": {
                    "IpProtocol": "tcp",
                    "FromPort": 6379,
                    "ToPort": 6379,
                    "ReferencedGroupId": source,
                    "Description": "updated",
                },
            }
        ],
    )
    assert rule_of(ec2, target)["Description"] == "updated"
    assert pair_of(ec2, target)["Description"] == "updated"
    permission = ec2.describe_security_groups(GroupIds=[target])["SecurityGroups"][0]["IpPermissions"][0]
    assert not permission.get("IpRanges")


# --- Gap 7: EFS PutBackupPolicy ---------------------------------------------------------------------------------------
def test_efs_put_backup_policy(plain: str, patched: str) -> None:
    efs = client(plain, "efs")
    file_system = efs.create_file_system(CreationToken="e2e-backup", Encrypted=True)["FileSystemId"]
    assert_not_implemented(efs.put_backup_policy, FileSystemId=file_system, BackupPolicy={"Status": "DISABLED"})

    efs = client(patched, "efs")
    file_system = efs.create_file_system(CreationToken="e2e-backup", Encrypted=True)["FileSystemId"]
    with pytest.raises(ClientError) as excinfo:  # nothing put yet, no backup flag at creation: as before
        efs.describe_backup_policy(FileSystemId=file_system)
    assert error_code(excinfo) == "PolicyNotFound"
    # What aws_efs_backup_policy does: put, then wait until describe shows the status (delete puts DISABLED).
    for status in ("DISABLED", "ENABLED", "DISABLED"):
        put = efs.put_backup_policy(FileSystemId=file_system, BackupPolicy={"Status": status})
        assert put["BackupPolicy"] == {"Status": status}
        assert efs.describe_backup_policy(FileSystemId=file_system)["BackupPolicy"] == {"Status": status}
    for call, kwargs in (
        (efs.describe_backup_policy, {}),
        (efs.put_backup_policy, {"BackupPolicy": {"Status": "DISABLED"}}),
    ):
        with pytest.raises(ClientError) as excinfo:
            call(FileSystemId="fs-00000000", **kwargs)
        assert error_code(excinfo) == "FileSystemNotFound"


# --- Gap 8: RDS DescribeDBParameters Source ---------------------------------------------------------------------------
PARAMETERS = [
    {"ParameterName": "rds.force_ssl", "ParameterValue": "1", "ApplyMethod": "immediate"},
    {"ParameterName": "log_connections", "ParameterValue": "1", "ApplyMethod": "immediate"},
]


def create_parameter_group(endpoint: str, name: str) -> Any:
    rds = client(endpoint, "rds")
    rds.create_db_parameter_group(DBParameterGroupName=name, DBParameterGroupFamily="postgres15", Description="e2e")
    rds.modify_db_parameter_group(DBParameterGroupName=name, Parameters=PARAMETERS)  # how the provider sets them
    return rds


def test_rds_parameter_source(plain: str, patched: str) -> None:
    name = "e2e-postgres15"

    rds = create_parameter_group(plain, name)
    listed = rds.describe_db_parameters(DBParameterGroupName=name)["Parameters"]
    assert sorted(p["ParameterName"] for p in listed) == ["log_connections", "rds.force_ssl"]
    assert all("Source" not in p for p in listed)  # the gap: the provider skips parameters without a Source
    assert len(rds.describe_db_parameters(DBParameterGroupName=name, Source="system")["Parameters"]) == 2

    rds = create_parameter_group(patched, name)
    for source in (None, "user"):
        listed = rds.describe_db_parameters(DBParameterGroupName=name, **({"Source": source} if source else {}))
        assert sorted((p["ParameterName"], p["ParameterValue"], p["Source"]) for p in listed["Parameters"]) == [
            ("log_connections", "1", "user"),
            ("rds.force_ssl", "1", "user"),
        ]
    for source in ("system", "engine-default"):
        assert rds.describe_db_parameters(DBParameterGroupName=name, Source=source)["Parameters"] == []
    with pytest.raises(ClientError) as excinfo:
        rds.describe_db_parameters(DBParameterGroupName="e2e-missing")
    assert error_code(excinfo) == "DBParameterGroupNotFound"


# --- Gap 9: RDS Performance Insights ----------------------------------------------------------------------------------
def create_db_with_performance_insights(endpoint: str, name: str) -> dict:
    return client(endpoint, "rds").create_db_instance(
        DBInstanceIdentifier=name,
        Engine="postgres",
        EngineVersion="15.8",
        DBInstanceClass="db.t3.medium",
        AllocatedStorage=20,
        MasterUsername="app",
        MasterUserPassword="not-a-real-secret-1",
        EnablePerformanceInsights=True,
    )["DBInstance"]


def test_rds_performance_insights(plain: str, patched: str) -> None:
    name = "e2e-db-insights"

    created = create_db_with_performance_insights(plain, name)
    assert "PerformanceInsightsEnabled" not in created  # the gap: the provider reads false -> perpetual diff

    created = create_db_with_performance_insights(patched, name)
    assert created["PerformanceInsightsEnabled"] is True
    assert created["PerformanceInsightsRetentionPeriod"] == 7
    rds = client(patched, "rds")
    described = rds.describe_db_instances(DBInstanceIdentifier=name)["DBInstances"][0]
    assert (described["PerformanceInsightsEnabled"], described["PerformanceInsightsRetentionPeriod"]) == (True, 7)
    modified = rds.modify_db_instance(
        DBInstanceIdentifier=name, EnablePerformanceInsights=False, ApplyImmediately=True
    )["DBInstance"]
    assert modified["PerformanceInsightsEnabled"] is False
    assert rds.describe_db_instances(DBInstanceIdentifier=name)["DBInstances"][0]["PerformanceInsightsEnabled"] is False
    # The gap-2 patch still applies under this one.
    assert re.fullmatch(r"db-[A-Z0-9]{26}", described["DbiResourceId"])
    assert described["DbiResourceId"] != "db-M5ENSHXFPU6XHZ4G4ZEI5QIO2U"


# --- Gap 10: EFS DeleteFileSystemPolicy -------------------------------------------------------------------------------
TLS_ONLY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": {"AWS": "*"},
                "Action": "*",
                "Resource": "*",
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        ],
    }
)


def test_efs_delete_file_system_policy(plain: str, patched: str) -> None:
    efs = client(plain, "efs")
    file_system = efs.create_file_system(CreationToken="e2e-policy", Encrypted=True)["FileSystemId"]
    efs.put_file_system_policy(FileSystemId=file_system, Policy=TLS_ONLY)
    assert_not_implemented(efs.delete_file_system_policy, FileSystemId=file_system)

    efs = client(patched, "efs")
    file_system = efs.create_file_system(CreationToken="e2e-policy", Encrypted=True)["FileSystemId"]
    efs.put_file_system_policy(FileSystemId=file_system, Policy=TLS_ONLY)
    assert json.loads(efs.describe_file_system_policy(FileSystemId=file_system)["Policy"]) == json.loads(TLS_ONLY)
    efs.delete_file_system_policy(FileSystemId=file_system)  # what destroying aws_efs_file_system_policy does
    with pytest.raises(ClientError) as excinfo:
        efs.describe_file_system_policy(FileSystemId=file_system)
    assert error_code(excinfo) == "PolicyNotFound"
    for call in (efs.describe_file_system_policy, efs.delete_file_system_policy):
        with pytest.raises(ClientError) as excinfo:
            call(FileSystemId="fs-00000000")
        assert error_code(excinfo) == "FileSystemNotFound"


# --- Gaps 11-15: executing the workflow (ECS runTask.sync, retries) ---------------------------------------------------
CONTAINER = "video-processor"
TIME_SCALE = 0.001


def fargate_task(endpoint: str | None, name: str, container_memory: int | None = None) -> dict[str, Any]:
    """A Fargate cluster (default capacity provider strategy) and an awsvpc task definition with our container, in a
    VPC with DNS hostnames (as ours: moto's awsvpc tasks need them). Sized like ours (task level only) unless
    ``container_memory`` is given (which sidesteps gap 11)."""
    ec2 = client(endpoint, "ec2")
    vpc_id, subnets = vpc_with_subnets(endpoint, count=1)
    ec2.modify_vpc_attribute(VpcId=vpc_id, EnableDnsHostnames={"Value": True})
    group = ec2.create_security_group(GroupName=f"{name}-tasks", Description="tasks", VpcId=vpc_id)["GroupId"]
    ecs = client(endpoint, "ecs")
    cluster = ecs.create_cluster(
        clusterName=name,
        capacityProviders=["FARGATE", "FARGATE_SPOT"],
        defaultCapacityProviderStrategy=[{"capacityProvider": "FARGATE", "weight": 1, "base": 0}],
    )["cluster"]["clusterArn"]
    container: dict[str, Any] = {"name": CONTAINER, "image": "video-processor:test", "essential": True}
    if container_memory:
        container["memory"] = container_memory
    task_definition = ecs.register_task_definition(
        family=name,
        networkMode="awsvpc",
        requiresCompatibilities=["FARGATE"],
        cpu="1024",
        memory="2048",
        containerDefinitions=[container],
    )["taskDefinition"]["taskDefinitionArn"]
    return {"cluster": cluster, "task_definition": task_definition, "subnets": subnets, "security_group": group}


def run_task_kwargs(setup: dict[str, Any], video_id: str) -> dict[str, Any]:
    """RunTask as our state machine calls it (no launch type: the cluster's default strategy)."""
    return {
        "cluster": setup["cluster"],
        "taskDefinition": setup["task_definition"],
        "networkConfiguration": {
            "awsvpcConfiguration": {
                "subnets": setup["subnets"],
                "securityGroups": [setup["security_group"]],
                "assignPublicIp": "DISABLED",
            }
        },
        "overrides": {
            "containerOverrides": [{"name": CONTAINER, "environment": [{"name": "VIDEO_ID", "value": video_id}]}]
        },
    }


def process_video_state(setup: dict[str, Any], resource: str, **extra: Any) -> str:
    """A one-state machine: our ProcessVideo task (same Parameters), with ``resource`` and ``extra`` fields."""
    task = {
        "Type": "Task",
        "Resource": resource,
        "Parameters": {
            "Cluster": setup["cluster"],
            "TaskDefinition": setup["task_definition"],
            "NetworkConfiguration": {
                "AwsvpcConfiguration": {
                    "Subnets": setup["subnets"],
                    "SecurityGroups": [setup["security_group"]],
                    "AssignPublicIp": "DISABLED",
                }
            },
            "Overrides": {
                "ContainerOverrides": [
                    {"Name": CONTAINER, "Environment": [{"Name": "VIDEO_ID", "Value.$": "$.videoId"}]}
                ]
            },
        },
        "End": True,
        **extra,
    }
    return json.dumps({"StartAt": "ProcessVideo", "States": {"ProcessVideo": task}})


def execute(
    endpoint: str | None, name: str, definition: str, document: dict[str, Any]
) -> tuple[dict, list[dict], float]:
    """Create a machine, run one execution to its end; return its description, history and the real seconds."""
    sfn = client(endpoint, "stepfunctions")
    machine = sfn.create_state_machine(name=name, definition=definition, roleArn=SFN_ROLE)["stateMachineArn"]
    began = time.monotonic()
    arn = sfn.start_execution(stateMachineArn=machine, name=f"{name}-1", input=json.dumps(document))["executionArn"]
    while (described := sfn.describe_execution(executionArn=arn))["status"] == "RUNNING":
        assert time.monotonic() - began < 30, f"{arn} still RUNNING"
        time.sleep(0.02)
    wall = time.monotonic() - began
    return described, sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"], wall


def task_failures(history: list[dict]) -> list[dict]:
    return [e["taskFailedEventDetails"] for e in history if e["type"] == "TaskFailed"]


# --- Gap 11: ECS RunTask for a task sized at task level ---------------------------------------------------------------
def test_ecs_run_task_sized_by_the_task(plain: str, patched: str) -> None:
    setup = fargate_task(plain, "e2e-sized")
    with pytest.raises(ClientError) as excinfo:  # the gap: a TypeError in moto, HTTP 500
        client(plain, "ecs").run_task(**run_task_kwargs(setup, "v-1"))
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500

    setup = fargate_task(patched, "e2e-sized")
    [task] = client(patched, "ecs").run_task(**run_task_kwargs(setup, "v-1"))["tasks"]
    assert (task["lastStatus"], task["capacityProviderName"]) == ("RUNNING", "FARGATE")
    assert [c["name"] for c in task["containers"]] == [CONTAINER]


# --- Gap 12: Step Functions ECS integration parameters ----------------------------------------------------------------
def test_stepfunctions_ecs_parameters(plain: str, patched: str) -> None:
    # Request-response runTask (no .sync): the parameters and the output alone. Containers sized: not gap 11.
    name = "e2e-ecs-parameters"
    with executing_state_machines(plain):
        setup = fargate_task(plain, name, container_memory=512)
        described, history, _ = execute(
            plain, name, process_video_state(setup, "arn:aws:states:::ecs:runTask"), {"videoId": "v-1"}
        )
    assert described["status"] == "FAILED"
    assert [(f["error"], f["cause"]) for f in task_failures(history)] == [("States.Runtime", "'Cluster'")]
    assert client(plain, "ecs").list_tasks(cluster=setup["cluster"])["taskArns"] == []

    with executing_state_machines(patched):
        setup = fargate_task(patched, name, container_memory=512)
        described, history, _ = execute(
            patched, name, process_video_state(setup, "arn:aws:states:::ecs:runTask"), {"videoId": "v-1"}
        )
    assert described["status"] == "SUCCEEDED", task_failures(history)
    [task] = json.loads(described["output"])["Tasks"]  # PascalCase, as Step Functions outputs it
    assert (task["ClusterArn"], task["TaskDefinitionArn"]) == (setup["cluster"], setup["task_definition"])
    assert task["Overrides"]["ContainerOverrides"] == [
        {"Name": CONTAINER, "Environment": [{"Name": "VIDEO_ID", "Value": "v-1"}]}
    ]
    [ran] = client(patched, "ecs").describe_tasks(cluster=setup["cluster"], tasks=[task["TaskArn"]])["tasks"]
    assert ran["overrides"]["containerOverrides"][0]["environment"] == [{"name": "VIDEO_ID", "value": "v-1"}]
    attachment = {d["name"]: d["value"] for d in ran["attachments"][0]["details"]}
    assert attachment["subnetId"] == setup["subnets"][0]


# --- Gap 13: ECS tasks stop as their containers exit ------------------------------------------------------------------
def describe_until_stopped(ecs: Any, cluster: str, task_arn: str) -> tuple[list[dict], dict]:
    """DescribeTasks until STOPPED (moto's default: one lifecycle step per call); the tasks seen on the way, and the
    stopped one."""
    seen = []
    for _ in range(10):
        [task] = ecs.describe_tasks(cluster=cluster, tasks=[task_arn])["tasks"]
        if task["lastStatus"] == "STOPPED":
            return seen, task
        seen.append(task)
    raise AssertionError(f"{task_arn} not STOPPED after 10 DescribeTasks: {seen[-1]['lastStatus']}")


def test_ecs_tasks_stop_as_their_containers_exit(plain: str, patched: str) -> None:
    name = "e2e-exit"
    setup = fargate_task(plain, name, container_memory=512)  # sized: not gap 11
    ecs = client(plain, "ecs")
    [task] = ecs.run_task(**run_task_kwargs(setup, "fail-v-1"))["tasks"]
    _, stopped = describe_until_stopped(ecs, setup["cluster"], task["taskArn"])
    # The gap: STOPPED, but nothing ran or exited.
    assert [(c["lastStatus"], c["exitCode"]) for c in stopped["containers"]] == [("PENDING", 0)]
    assert stopped["desiredStatus"] == "RUNNING"
    assert "stopCode" not in stopped and "stoppedAt" not in stopped

    setup = fargate_task(patched, name)
    ecs = client(patched, "ecs")
    for video_id, exit_code in (("v-1", 0), ("fail-v-1", 1)):
        [task] = ecs.run_task(**run_task_kwargs(setup, video_id))["tasks"]
        running, stopped = describe_until_stopped(ecs, setup["cluster"], task["taskArn"])
        for seen in [task, *running]:  # running: the container too, no exit code yet
            assert [(c["lastStatus"], c.get("exitCode")) for c in seen["containers"]] == [("RUNNING", None)]
            assert seen["desiredStatus"] == "RUNNING" and "stopCode" not in seen
        assert [(c["name"], c["lastStatus"], c["exitCode"]) for c in stopped["containers"]] == [
            (CONTAINER, "STOPPED", exit_code)
        ]
        assert stopped["desiredStatus"] == "STOPPED"
        assert (stopped["stopCode"], stopped["stoppedReason"]) == (
            "EssentialContainerExited",
            "Essential container in task exited",
        )
        assert stopped["createdAt"] <= stopped["startedAt"] <= stopped["stoppingAt"] <= stopped["stoppedAt"]
    # StopTask: the caller stopped it, nothing exited.
    [task] = ecs.run_task(**run_task_kwargs(setup, "fail-v-2"))["tasks"]
    ecs.stop_task(cluster=setup["cluster"], task=task["taskArn"], reason="stopped by the test")
    [stopped] = ecs.describe_tasks(cluster=setup["cluster"], tasks=[task["taskArn"]])["tasks"]
    assert (stopped["lastStatus"], stopped["desiredStatus"]) == ("STOPPED", "STOPPED")
    assert (stopped["stopCode"], stopped["stoppedReason"]) == ("UserInitiated", "stopped by the test")
    assert [(c["lastStatus"], c.get("exitCode")) for c in stopped["containers"]] == [("STOPPED", None)]


# --- Gap 14: runTask.sync fails with the task -------------------------------------------------------------------------
SYNC = "arn:aws:states:::ecs:runTask.sync"


def test_stepfunctions_ecs_sync_fails_with_the_task(patched: str) -> None:
    from moto import mock_aws
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_ecs import (
        StateTaskServiceEcs,
    )

    name = "e2e-sync"
    # In process, every execution patch but this one (moto's own .sync resolver put back for a while; plain moto
    # never gets this far, see gap 12): the task stops with exit code 1, and the state succeeds anyway.
    apply_patches(EXECUTION_PATCHES)
    config = {"stepfunctions": {"execute_state_machine": True, TIME_SCALE_CONFIG_KEY: TIME_SCALE}}
    with pytest.MonkeyPatch.context() as context, mock_aws(config=config):  # type: ignore[arg-type]
        context.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")  # EC2 starts faster; no instances here
        context.setattr(
            StateTaskServiceEcs, "_build_sync_resolver", StateTaskServiceEcs._build_sync_resolver._e2e_original
        )
        setup = fargate_task(None, name)
        described, history, _ = execute(None, name, process_video_state(setup, SYNC), {"videoId": "fail-v-1"})
    assert described["status"] == "SUCCEEDED"
    output = json.loads(described["output"])
    assert (output["LastStatus"], [c["ExitCode"] for c in output["Containers"]]) == ("STOPPED", [1])

    with executing_state_machines(patched):
        setup = fargate_task(patched, name)
        ok, _, _ = execute(patched, f"{name}-ok", process_video_state(setup, SYNC), {"videoId": "v-1"})
        described, history, _ = execute(patched, name, process_video_state(setup, SYNC), {"videoId": "fail-v-1"})
    assert ok["status"] == "SUCCEEDED"
    assert [c["ExitCode"] for c in json.loads(ok["output"])["Containers"]] == [0]
    assert (described["status"], described["error"]) == ("FAILED", "States.TaskFailed")
    [failure] = task_failures(history)
    assert (failure["resourceType"], failure["resource"], failure["error"]) == (
        "ecs",
        "runTask.sync",
        "States.TaskFailed",
    )
    cause = json.loads(failure["cause"])  # the stopped task, as DescribeTasks shows it
    assert (cause["LastStatus"], cause["StopCode"]) == ("STOPPED", "EssentialContainerExited")
    assert [(c["Name"], c["ExitCode"]) for c in cause["Containers"]] == [(CONTAINER, 1)]
    assert described["cause"] == failure["cause"]


# --- Gap 15: Step Functions waits, time-scaled with a virtual clock --------------------------------------------------
def retrying_publish(interval: int, attempts: int) -> str:
    """Publish to a topic that does not exist (SNS.NotFoundException), retried ``attempts`` times."""
    retry = {"ErrorEquals": ["States.ALL"], "IntervalSeconds": interval, "MaxAttempts": attempts, "BackoffRate": 2}
    state = {
        "Type": "Task",
        "Resource": "arn:aws:states:::sns:publish",
        "Parameters": {"TopicArn": f"arn:aws:sns:{REGION}:123456789012:e2e-missing", "Message": "hello"},
        "Retry": [retry],
        "End": True,
    }
    return json.dumps({"StartAt": "Publish", "States": {"Publish": state}})


def retry_waits(history: list[dict]) -> list[float]:
    """Seconds from each failed attempt to the next attempt, on the history's clock."""
    failed = [e["timestamp"] for e in history if e["type"] == "TaskFailed"]
    scheduled = [e["timestamp"] for e in history if e["type"] == "TaskScheduled"]
    return [(after - before).total_seconds() for before, after in zip(failed, scheduled[1:], strict=False)]


def test_stepfunctions_retry_waits_are_time_scaled(plain: str, patched: str) -> None:
    with executing_state_machines(plain):  # the scale is configured, and ignored: a 1 s wait takes 1 s
        described, history, wall = execute(plain, "e2e-retry", retrying_publish(1, 1), {})
    assert described["status"] == "FAILED"
    assert len(task_failures(history)) == 2
    assert wall >= 1.0
    assert 1.0 <= retry_waits(history)[0] < 2.0

    with executing_state_machines(patched):
        described, history, wall = execute(patched, "e2e-retry", retrying_publish(30, 2), {})
    assert described["status"] == "FAILED"
    assert [f["error"] for f in task_failures(history)] == ["SNS.NotFoundException"] * 3
    waits = retry_waits(history)
    assert len(waits) == 2 and 30.0 <= waits[0] < 31.0 and 60.0 <= waits[1] < 61.0, waits
    assert (described["stopDate"] - described["startDate"]).total_seconds() >= 90.0
    assert (history[-1]["timestamp"] - described["stopDate"]).total_seconds() < 1.0  # one clock for both
    assert wall < 5.0


# --- Gap 16: execution switched on after the state machine exists --------------------------------------------------
def test_stepfunctions_machines_survive_switching_execution_on(plain: str, patched: str) -> None:
    definition = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}})
    for endpoint in (plain, patched):
        client(endpoint, "stepfunctions").create_state_machine(
            name="e2e-deployed-before", definition=definition, roleArn=SFN_ROLE
        )
    machine = f"arn:aws:states:{REGION}:123456789012:stateMachine:e2e-deployed-before"

    with executing_state_machines(plain), pytest.raises(ClientError, match="StateMachineDoesNotExist"):
        client(plain, "stepfunctions").start_execution(stateMachineArn=machine, name="e2e-1")

    with executing_state_machines(patched):
        sfn = client(patched, "stepfunctions")
        arn = sfn.start_execution(stateMachineArn=machine, name="e2e-1")["executionArn"]
        began = time.monotonic()
        while sfn.describe_execution(executionArn=arn)["status"] == "RUNNING":
            assert time.monotonic() - began < 10, f"{arn} still RUNNING"
            time.sleep(0.02)
    assert client(patched, "stepfunctions").describe_execution(executionArn=arn)["status"] == "SUCCEEDED"


# --- Gap 17: the state bucket's policy (stacks/account_stack.py, modules/state_bucket.py), as the provider puts it.
STATE_BUCKET_POLICY_ACCOUNT = "123456789012"  # moto's default account: the test credentials'


def state_bucket_policy(bucket: str) -> str:
    deny = {
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
    }
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {**deny, "Sid": "DenyInsecureTransport", "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
                {
                    **deny,
                    "Sid": "DenyOtherAccounts",
                    "Condition": {"StringNotEquals": {"aws:PrincipalAccount": STATE_BUCKET_POLICY_ACCOUNT}},
                },
            ],
        }
    )


def bucket_with_state_policy(endpoint: str, bucket: str) -> Any:
    s3 = client(endpoint, "s3")
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_object(Bucket=bucket, Key="state", Body=b"{}")
    s3.put_bucket_policy(Bucket=bucket, Policy=state_bucket_policy(bucket))
    return s3


def test_s3_bucket_policy_conditions(plain: str, patched: str) -> None:
    """Gap 17: the account's own principal (over what stands in for HTTPS) may read and write; another may not."""
    s3 = bucket_with_state_policy(plain, "e2e-gap-a1")
    for call in (
        lambda: s3.get_object(Bucket="e2e-gap-a1", Key="state"),
        lambda: s3.put_object(Bucket="e2e-gap-a1", Key="state", Body=b"{}"),
    ):
        with pytest.raises(ClientError) as excinfo:
            call()
        assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403  # the gap: the owner is locked out

    s3 = bucket_with_state_policy(patched, "e2e-gap-a1")
    s3.put_object(Bucket="e2e-gap-a1", Key="state", Body=b'{"serial": 2}')
    assert s3.get_object(Bucket="e2e-gap-a1", Key="state")["Body"].read() == b'{"serial": 2}'
    s3.delete_object(Bucket="e2e-gap-a1", Key="state")

    other = client(patched, "s3")
    other.meta.events.register(
        "before-sign.s3.*", lambda request, **_: request.headers.__setitem__("x-moto-account-id", "111111111111")
    )
    with pytest.raises(ClientError) as excinfo:
        other.put_object(Bucket="e2e-gap-a1", Key="state", Body=b"{}")
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


# --- Gap 18: ElastiCache user groups ----------------------------------------------------------------------------------
def create_redis_users(endpoint: str, prefix: str) -> list[str]:
    """What our aws_elasticache_user resources send: an IAM user and the group's own ``default`` user, off."""
    elasticache = client(endpoint, "elasticache")
    users = [
        (f"{prefix}-app", f"{prefix}-app", "on ~* +@all", "iam"),
        (f"{prefix}-default", "default", "off -@all", "no-password-required"),
    ]
    for user_id, user_name, access, authentication in users:
        elasticache.create_user(
            UserId=user_id,
            UserName=user_name,
            Engine="redis",
            AccessString=access,
            NoPasswordRequired=False,
            AuthenticationMode={"Type": authentication},
        )
    return [user_id for user_id, *_ in users]


def test_elasticache_user_groups(plain: str, patched: str) -> None:
    group_id = "e2e-users"

    user_ids = create_redis_users(plain, "e2e")
    assert_not_implemented(
        client(plain, "elasticache").create_user_group, UserGroupId=group_id, Engine="redis", UserIds=user_ids
    )

    user_ids = create_redis_users(patched, "e2e")
    elasticache = client(patched, "elasticache")
    with pytest.raises(ClientError) as excinfo:  # Redis: a group needs a user named "default"
        elasticache.create_user_group(UserGroupId=group_id, Engine="redis", UserIds=user_ids[:1])
    assert error_code(excinfo) == "DefaultUserRequired"
    created = elasticache.create_user_group(
        UserGroupId=group_id, Engine="redis", UserIds=user_ids, Tags=[{"Key": "Environment", "Value": "e2e"}]
    )
    assert (created["Status"], sorted(created["UserIds"]), created["ReplicationGroups"]) == ("active", user_ids, [])
    assert created["ARN"] == f"arn:aws:elasticache:{REGION}:123456789012:usergroup:{group_id}"
    tags = elasticache.list_tags_for_resource(ResourceName=created["ARN"])["TagList"]
    assert tags == [{"Key": "Environment", "Value": "e2e"}]
    for user_id in user_ids:
        assert elasticache.describe_users(UserId=user_id)["Users"][0]["UserGroupIds"] == [group_id]
    with pytest.raises(ClientError) as excinfo:
        elasticache.create_user_group(UserGroupId=group_id, Engine="redis", UserIds=user_ids)
    assert error_code(excinfo) == "UserGroupAlreadyExists"
    # An in-place change of user_ids (ModifyUserGroup).
    modified = elasticache.modify_user_group(UserGroupId=group_id, UserIdsToRemove=user_ids[:1])
    assert modified["UserIds"] == user_ids[1:]
    assert elasticache.describe_users(UserId=user_ids[0])["Users"][0]["UserGroupIds"] == []
    elasticache.modify_user_group(UserGroupId=group_id, UserIdsToAdd=user_ids[:1])

    # A replication group that uses it (aws_elasticache_replication_group.user_group_ids): the group cannot go.
    elasticache.create_replication_group(
        ReplicationGroupId="e2e-rbac",
        ReplicationGroupDescription="e2e",
        Engine="redis",
        CacheNodeType="cache.t4g.micro",
        NumCacheClusters=2,
        TransitEncryptionEnabled=True,
        UserGroupIds=[group_id],
    )
    [described] = elasticache.describe_user_groups(UserGroupId=group_id)["UserGroups"]
    assert (described["Status"], described["ReplicationGroups"]) == ("active", ["e2e-rbac"])
    with pytest.raises(ClientError) as excinfo:
        elasticache.delete_user_group(UserGroupId=group_id)
    assert error_code(excinfo) == "InvalidUserGroupState"

    # Destroy: the replication group, then the user group (answered "deleting", then gone), which its users leave.
    elasticache.delete_replication_group(ReplicationGroupId="e2e-rbac")
    assert elasticache.delete_user_group(UserGroupId=group_id)["Status"] == "deleting"
    for call in (elasticache.describe_user_groups, elasticache.delete_user_group):
        with pytest.raises(ClientError) as excinfo:
            call(UserGroupId=group_id)
        assert error_code(excinfo) == "UserGroupNotFound"
    assert elasticache.describe_users(UserId=user_ids[0])["Users"][0]["UserGroupIds"] == []
