"""Every role policy of every environment passes parliament (IAM lint)."""

import pytest

from tests.conftest import SUFFIXES
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
