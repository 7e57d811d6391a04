"""Module contracts, one construct at a time in a bare stack: owners grant access and open their own ports."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from config.naming import Names
from tests.conftest import ENVIRONMENTS, UNPROTECTED
from tests.helpers import find, find_all, policy_statements, reference_to, referenced, role_statements

ACCOUNT, REGION = "123456789012", "ap-northeast-1"


@pytest.fixture(scope="module")
def kit():
    """The classes, imported lazily (they load the provider bindings), and a settings profile to build from."""
    from cdktf import TerraformStack, Testing
    from cdktf_cdktf_provider_aws.provider import AwsProvider

    from modules.context import StackContext  # first: installs the fast provider-bindings loader

    def bare_stack():
        stack = TerraformStack(Testing.app(), "bare")
        AwsProvider(stack, "aws", region=REGION)
        return stack

    ctx = StackContext(
        names=Names("t"), account_id=ACCOUNT, partition="aws", region=REGION, log_retention_days=7, protected=False
    )
    return bare_stack, ctx, UNPROTECTED, Testing


def synth(testing, stack, *, validate: bool = False) -> dict:
    return json.loads(testing.synth(stack, run_validations=validate))


@pytest.fixture(scope="module")
def data_tier(kit):
    """Network, database, storage, notifications and two roles, wired by grants only."""
    from modules.database import Database
    from modules.iam import Role
    from modules.network import Network
    from modules.notifications import Notifications
    from modules.storage import Storage

    bare_stack, ctx, dev, testing = kit
    stack = bare_stack()
    network = Network(stack, "network", ctx=ctx, settings=dev.network)
    database = Database(stack, "database", ctx=ctx, settings=dev.database, network=network, secrets_kms_key_arn=None)
    storage = Storage(stack, "storage", ctx=ctx, settings=dev.storage, network=network)
    notifications = Notifications(stack, "notifications", ctx=ctx, settings=dev.notifications)

    class Client:
        connections = network.security_group("client", name_base="ecs-tasks", description="client", label="clients")

    client, other = Client(), Client()
    other.connections = network.security_group("other", name_base="vpc", description="other", label="others")
    database.allow_from(client)
    database.allow_from(other)

    reader = Role(stack, "reader", name="reader", service="ecs-tasks.amazonaws.com")
    database.grant_connect(reader)
    storage.grant_mount(reader)
    publisher = Role(stack, "publisher", name="publisher", service="states.amazonaws.com")
    second = Role(stack, "second", name="second", service="lambda.amazonaws.com")
    notifications.grant_publish(publisher)
    notifications.grant_publish(second)
    return synth(testing, stack, validate=True)


def test_grants_land_in_one_policy_in_the_order_given(data_tier):
    assert list(role_statements(data_tier, "reader")) == ["ConnectAsDbUser", "MountEfsThroughAccessPoint"]
    per_role = Counter(p["role"] for p in find_all(data_tier, "aws_iam_role_policy"))
    assert set(per_role.values()) == {1} and len(per_role) == 4  # flow logs, reader, publisher, second


def test_grant_connect_names_this_instance_and_user(data_tier):
    connect = role_statements(data_tier, "reader")["ConnectAsDbUser"]
    instance = reference_to(data_tier, find(data_tier, "aws_db_instance"), "resource_id")
    assert connect["resources"] == [f"arn:aws:rds-db:{REGION}:{ACCOUNT}:dbuser:{instance}/postgres"]


def test_allow_from_opens_the_owners_port_to_each_peer_group_only(data_tier):
    rules = sorted(
        (
            referenced(data_tier, r["security_group_id"], "id")["name"],
            r["from_port"],
            r["to_port"],
            referenced(data_tier, r["referenced_security_group_id"], "id")["name"],
            r["description"],
        )
        for r in find_all(data_tier, "aws_vpc_security_group_ingress_rule")
    )
    assert rules == [
        ("rds-t", 5432, 5432, "ecs-tasks-t", "PostgreSQL from clients"),
        ("rds-t", 5432, 5432, "vpc-t", "PostgreSQL from others"),
    ]


def test_every_publisher_is_allowed_and_everyone_else_denied(data_tier):
    roles = {
        reference_to(data_tier, find(data_tier, "aws_iam_role", name=name), "arn") for name in ("publisher", "second")
    }
    topic_policies = find_all(data_tier, "aws_sns_topic_policy")
    assert len(topic_policies) == 2
    for topic_policy in topic_policies:
        allow, deny = policy_statements(data_tier, topic_policy["policy"])
        assert set(allow["principals"][0]["identifiers"]) == roles
        assert deny["effect"] == "Deny" and set(deny["condition"][0]["values"]) == roles
    key_policy = find(data_tier, "aws_kms_key_policy")
    [publishers] = [s for s in policy_statements(data_tier, key_policy["policy"]) if s["sid"] == "WorkflowPublishes"]
    assert set(publishers["principals"][0]["identifiers"]) == roles


def test_a_role_that_no_module_granted_anything_fails_the_synth(kit):
    from modules.iam import Role

    bare_stack, _, _, testing = kit
    stack = bare_stack()
    Role(stack, "idle", name="idle-role", service="lambda.amazonaws.com")
    with pytest.raises(Exception, match="role idle-role: inline policy without statements"):
        synth(testing, stack, validate=True)


def test_topics_nobody_may_publish_to_fail_the_synth(kit):
    from modules.notifications import Notifications

    bare_stack, ctx, dev, testing = kit
    stack = bare_stack()
    Notifications(stack, "notifications", ctx=ctx, settings=dev.notifications)
    with pytest.raises(Exception, match="no role may publish"):
        synth(testing, stack, validate=True)


def test_a_managed_policy_only_role_refuses_statements(kit):
    from modules.iam import Role, Statement

    bare_stack, _, _, _ = kit
    role = Role(bare_stack(), "managed", name="managed", service="x.amazonaws.com", inline_policy=False)
    with pytest.raises(ValueError, match="role managed has no inline policy"):
        role.add(Statement(actions=["s3:GetObject"]))


def test_a_web_acl_protects_the_stage_it_is_given_and_owns_its_logging(kit):
    """The web ACL's owner associates it (consumers hand over a stage ARN) and logs it to a group of its own."""
    from modules.firewall import WebAcl

    bare_stack, ctx, _, testing = kit
    stack = bare_stack()
    settings = next(env for env in ENVIRONMENTS if env.security.waf).security
    acl = WebAcl(stack, "firewall", ctx=ctx, settings=settings)
    stage = "arn:aws:apigateway:ap-northeast-1::/restapis/a1b2c3/stages/prod"
    acl.protect(stage)
    with pytest.raises(Exception, match="already a Construct with name 'association'"):
        acl.protect(stage)  # one stage per web ACL
    synthesized = synth(testing, stack, validate=True)
    web_acl = find(synthesized, "aws_wafv2_web_acl", name="video-metadata-acl-t")
    association = find(synthesized, "aws_wafv2_web_acl_association")
    assert (association["resource_arn"], association["web_acl_arn"]) == (
        stage,
        reference_to(synthesized, web_acl, "arn"),
    )
    group = find(synthesized, "aws_cloudwatch_log_group", name="aws-waf-logs-video-metadata-api-t")
    assert "kms_key_id" not in group  # no data key in this context: CloudWatch Logs' own encryption
    logging = find(synthesized, "aws_wafv2_web_acl_logging_configuration")
    assert logging["log_destination_configs"] == [reference_to(synthesized, group, "arn")]


def test_a_client_group_has_no_port_to_open(kit):
    from modules.network import Network

    bare_stack, ctx, dev, _ = kit
    network = Network(bare_stack(), "network", ctx=ctx, settings=dev.network)
    client = network.security_group("client", name_base="ecs-tasks", description="client", label="clients")
    with pytest.raises(ValueError, match="security group 'client' has no port to open"):
        client.allow_from(client)


def test_a_peer_without_a_label_cannot_be_named_in_a_rule(kit):
    from modules.database import Database
    from modules.network import Network

    bare_stack, ctx, dev, _ = kit
    stack = bare_stack()
    network = Network(stack, "network", ctx=ctx, settings=dev.network)
    database = Database(stack, "database", ctx=ctx, settings=dev.database, network=network, secrets_kms_key_arn=None)

    class Unlabeled:
        connections = network.security_group("anon", name_base="vpc", description="anonymous")

    with pytest.raises(ValueError, match="security group 'anon' has no label to name it in 'rds''s rules"):
        database.allow_from(Unlabeled())


def test_cache_grant_connect_names_this_group_and_its_iam_user(kit):
    """Owners grant: the role gets elasticache:Connect on the cache's replication group and IAM user, as the provider
    reports their ARNs; a role the cache granted nothing gets nothing."""
    from modules.cache import Cache
    from modules.iam import Role, Statement
    from modules.network import Network

    bare_stack, ctx, dev, testing = kit
    stack = bare_stack()
    network = Network(stack, "network", ctx=ctx, settings=dev.network)
    cache = Cache(stack, "cache", ctx=ctx, settings=dev.cache, network=network)
    client = Role(stack, "client", name="client", service="ecs-tasks.amazonaws.com")
    cache.grant_connect(client)
    bystander = Role(stack, "bystander", name="bystander", service="ecs-tasks.amazonaws.com")
    bystander.add(Statement(sid="Other", actions=["s3:GetObject"], resources=["arn:aws:s3:::b/*"]))
    synthesized = synth(testing, stack, validate=True)
    app_user = find(synthesized, "aws_elasticache_user", user_name="redis-app-t")
    assert role_statements(synthesized, "client") == {
        "ConnectToRedis": {
            "sid": "ConnectToRedis",
            "effect": "Allow",
            "actions": ["elasticache:Connect"],
            "resources": [
                reference_to(synthesized, find(synthesized, "aws_elasticache_replication_group"), "arn"),
                reference_to(synthesized, app_user, "arn"),
            ],
        }
    }
    assert list(role_statements(synthesized, "bystander")) == ["Other"]
