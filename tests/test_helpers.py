"""The stack-reading helpers on a hand-written stack: the reference grammar, and messages that name the candidates."""

import pytest

from tests.helpers import address, find, find_all, reference_to, referenced

STACK = {
    "resource": {
        "aws_security_group": {
            "net_sg-ecs_1A2B3C4D": {"name": "ecs-tasks-dev", "tags": {"Name": "ecs-tasks-dev"}},
            "net_sg-rds_5E6F7A8B": {"name": "rds-dev", "tags": {"Name": "rds-dev"}},
        },
        "aws_db_instance": {
            "db_instance_9C0D1E2F": {"vpc_security_group_ids": ["${aws_security_group.net_sg-rds_5E6F7A8B.id}"]}
        },
    },
    "data": {"aws_iam_policy_document": {"trust_3A4B5C6D": {"statement": []}}},
}


def test_find_by_properties_and_the_candidates_when_not_exactly_one():
    assert (
        find(STACK, "aws_security_group", name="rds-dev")
        is STACK["resource"]["aws_security_group"]["net_sg-rds_5E6F7A8B"]
    )
    assert len(find_all(STACK, "aws_security_group", tags={"Name": lambda n: n.endswith("-dev")})) == 2
    with pytest.raises(
        AssertionError, match=r"expected one aws_security_group with name='redis-dev', found 0(.|\n)*rds-dev"
    ):
        find(STACK, "aws_security_group", name="redis-dev")
    with pytest.raises(AssertionError, match="found 2"):
        find(STACK, "aws_security_group")


def test_references_lead_to_blocks_and_back():
    db = find(STACK, "aws_db_instance")
    rds = referenced(STACK, db["vpc_security_group_ids"][0], "id")
    assert rds["name"] == "rds-dev"
    assert reference_to(STACK, rds, "id") == db["vpc_security_group_ids"][0]
    document = find(STACK, "data.aws_iam_policy_document")
    assert referenced(STACK, reference_to(STACK, document, "json")) is document
    assert address(STACK, document) == "data.aws_iam_policy_document.trust_3A4B5C6D"


@pytest.mark.parametrize(
    "text, message",
    [
        ("${aws_security_group.net_sg-rds_5E6F7A8B.arn}", "refers to 'arn', expected 'id'"),
        ("${aws_security_group.net_sg-redis_00000000.id}", "names no aws_security_group"),
        ("${element(data.aws_availability_zones.zones_1.names, 0)}", "is not a Terraform reference"),
        ("${aws_security_group.net_sg-rds_5E6F7A8B.id}:*", "is not a Terraform reference"),
    ],
)
def test_what_is_not_a_reference_to_the_expected_attribute_is_refused(text, message):
    with pytest.raises(AssertionError, match=message.replace("(", r"\(")):
        referenced(STACK, text, "id")
