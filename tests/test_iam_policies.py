"""Every role policy of every environment passes parliament (IAM lint); every service role's trust policy carries the
confused-deputy conditions its service documents."""

import pytest

from tests.conftest import ACCOUNT, ACCOUNT_KEY, SUFFIXES
from tests.helpers import find, find_all, policy_statements, reference_to
from tests.policy_lint import identity_policies, lint


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_identity_policies_pass_parliament(stacks, suffix):
    policies = identity_policies(stacks[suffix])
    roles = ("video-api-handler", "ecs-task-execution", "ecs-task", "vpc-flow-logs", "sfn-workflow")
    assert sorted(policies) == sorted(f"{role}-{suffix}-policy" for role in roles)  # every inline policy is linted
    findings = {name: lint(policy) for name, policy in policies.items()}
    assert {name: f for name, f in findings.items() if f} == {}


def test_parliament_catches_a_mismatched_resource():
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["ecs:StopTask"],
                "Resource": ["arn:aws:sns:ap-northeast-1:123456789012:topic"],
            }
        ],
    }
    assert any(finding.startswith("RESOURCE_MISMATCH") for finding in lint(policy))


def test_only_the_known_parliament_false_positive_is_accepted():
    allowed = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["states:DescribeExecution", "states:StopExecution"],
                "Resource": ["arn:aws:sns:ap-northeast-1:123456789012:topic"],
            }
        ],
    }
    assert any("states:StopExecution" in finding for finding in lint(allowed))


# The service a role's trusted principal acts for -> the service of the resources it may act for (aws:SourceArn).
SOURCE_SERVICES = {
    "vpc-flow-logs.amazonaws.com": "ec2",  # vpc-flow-log/*
    "monitoring.rds.amazonaws.com": "rds",  # db:<identifier>
    "ecs-tasks.amazonaws.com": "ecs",  # * (the ECS docs support no narrower source)
    "states.amazonaws.com": "states",  # stateMachine:<name>
}
# Service roles without confused-deputy conditions, each on purpose. A condition on a key the service does not send
# denies sts:AssumeRole: the role stops working. An entry that no role needs any more fails the test below.
UNCONDITIONED_SERVICES = {
    # The account stack's CloudWatch logging role: API Gateway's docs give its trust policy without conditions and
    # document no aws:SourceArn for it (apigateway/latest/developerguide/set-up-logging.html).
    "apigateway.amazonaws.com",
    # The API function's role (modules/api): Lambda documents aws:SourceAccount/aws:SourceArn for execution roles
    # (lambda/latest/dg/permissions-managed-policies.html); the conditions belong in modules/api, then drop this.
    "lambda.amazonaws.com",
}


def trust_statements(stack: dict) -> list[tuple[str, str, dict]]:
    """(role name, service, trust statement) for every role of the stack that an AWS service assumes."""
    return [
        (role["name"], service, statement)
        for role in find_all(stack, "aws_iam_role")
        for statement in policy_statements(stack, role["assume_role_policy"])
        for principal in statement.get("principals", [])
        if principal["type"] == "Service"
        for service in principal["identifiers"]
    ]


@pytest.mark.parametrize("key", [*SUFFIXES, ACCOUNT_KEY])
def test_every_service_role_trusts_its_service_for_this_account_only(stacks, account_stack, environments, key):
    """Cross-service confused deputy: each service may assume its role only on behalf of this account's resources
    (aws:SourceAccount) of the expected kind, in this region (aws:SourceArn), where the service documents both."""
    stack = account_stack if key == ACCOUNT_KEY else stacks[key]
    region = ACCOUNT.region if key == ACCOUNT_KEY else environments[key].region
    unconditioned = set()
    for role, service, statement in trust_statements(stack):
        assert statement["actions"] == ["sts:AssumeRole"] and statement.get("effect", "Allow") == "Allow", role
        conditions = {c["variable"]: (c["test"], c["values"]) for c in statement.get("condition", [])}
        if service in UNCONDITIONED_SERVICES:
            assert conditions == {}, f"{role}: {service} is on the unconditioned list but has conditions"
            unconditioned.add(service)
            continue
        assert set(conditions) == {"aws:SourceAccount", "aws:SourceArn"}, f"{role} ({service}): {conditions}"
        test, [account] = conditions["aws:SourceAccount"]
        assert test == "StringEquals" and account == reference_to(
            stack, find(stack, "data.aws_caller_identity"), "account_id"
        )
        test, [source_arn] = conditions["aws:SourceArn"]
        prefix, partition, source_service, source_region, source_account, resource = source_arn.split(":", 5)
        assert test == "ArnLike" and (prefix, partition) == (
            "arn",
            reference_to(stack, find(stack, "data.aws_partition"), "partition"),
        )
        # Both keys name the same account (IAM requires it), the service's own resources, this region.
        assert (source_service, source_region, source_account) == (SOURCE_SERVICES[service], region, account), role
        assert resource, role
    expected = {service for _, service, _ in trust_statements(stack)} & UNCONDITIONED_SERVICES
    assert unconditioned == expected
    if key == ACCOUNT_KEY:
        assert unconditioned == {"apigateway.amazonaws.com"}


def test_every_unconditioned_service_still_has_a_role(stacks, account_stack):
    """The exceptions list is exact: once a role gets its conditions, its service leaves the list."""
    seen = {
        service
        for stack in [*stacks.values(), account_stack]
        for _, service, statement in trust_statements(stack)
        if not statement.get("condition")
    }
    assert seen == UNCONDITIONED_SERVICES
