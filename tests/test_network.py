import ipaddress

import pytest
from cdktf import Testing

from tests.conftest import ENVIRONMENTS, SUFFIXES
from tests.helpers import arn, find, find_all, reference_to, referenced, subnets, trust_conditions

TIERS = ("public", "private", "isolated")


def route_table(stack: dict, subnet: dict) -> dict:
    """The route table associated with `subnet`."""
    association = find(stack, "aws_route_table_association", subnet_id=reference_to(stack, subnet, "id"))
    return referenced(stack, association["route_table_id"], "id")


def routes(stack: dict, subnet: dict) -> list[dict]:
    """The routes of the table associated with `subnet` (besides the VPC's implicit local route)."""
    return find_all(stack, "aws_route", route_table_id=reference_to(stack, route_table(stack, subnet), "id"))


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_vpc_has_dns_support_and_hostnames(synthesized, environments, suffix):
    assert Testing.to_have_resource_with_properties(
        synthesized[suffix],
        "aws_vpc",
        {
            "cidr_block": environments[suffix].network.vpc_cidr,
            "enable_dns_support": True,
            "enable_dns_hostnames": True,
        },
    )


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_six_24_subnets_in_cdk_order(stacks, environments, suffix):
    stack = stacks[suffix]
    vpc = ipaddress.ip_network(environments[suffix].network.vpc_cidr)
    expected = [str(net) for net in list(vpc.subnets(new_prefix=24))[:6]]
    ordered = sorted(find_all(stack, "aws_subnet"), key=lambda s: ipaddress.ip_network(s["cidr_block"]))
    assert [s["cidr_block"] for s in ordered] == expected
    assert [s["tags"] for s in ordered] == [
        {"Name": f"{tier}-{az}-{suffix}", "Tier": tier} for tier in TIERS for az in (1, 2)
    ]
    assert not any(s["map_public_ip_on_launch"] for s in ordered)  # CDK sets it on public subnets; nothing needs it
    assert {s["vpc_id"] for s in ordered} == {reference_to(stack, find(stack, "aws_vpc"), "id")}
    for tier in TIERS:  # each tier spans two distinct AZs
        zones = [s["availability_zone"] for s in subnets(stack, tier)]
        assert len(set(zones)) == len(zones) == 2, tier


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_zones_are_the_regions_own_and_do_not_shift_when_one_is_impaired(stacks, suffix):
    zones = find(stacks[suffix], "data.aws_availability_zones")
    # An opted-in Local Zone would otherwise sort first and receive subnets, NAT, RDS and Redis.
    assert zones["filter"] == [{"name": "opt-in-status", "values": ["opt-in-not-required"]}]
    # state = "available" would drop an impaired zone and move every later subnet to another zone.
    assert "state" not in zones


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_one_route_table_per_subnet(stacks, suffix):
    stack = stacks[suffix]
    assert len(find_all(stack, "aws_route_table")) == len(find_all(stack, "aws_route_table_association")) == 6
    all_subnets = find_all(stack, "aws_subnet")
    assert len(all_subnets) == 6
    for subnet in all_subnets:  # each subnet has its own table, named after it
        assert route_table(stack, subnet)["tags"] == {"Name": f"rt-{subnet['tags']['Name']}"}


@pytest.mark.parametrize("suffix, nats", [(env.suffix, env.network.nat_gateway_count) for env in ENVIRONMENTS])
def test_nat_gateways_per_environment(stacks, suffix, nats):
    stack = stacks[suffix]
    gateways = find_all(stack, "aws_nat_gateway")
    assert len(gateways) == len(find_all(stack, "aws_eip")) == nats
    for gateway in gateways:  # in a public subnet, with an Elastic IP of its own
        assert referenced(stack, gateway["subnet_id"], "id")["tags"]["Tier"] == "public"
        assert referenced(stack, gateway["allocation_id"], "id")["domain"] == "vpc"
    assert len({g["allocation_id"] for g in gateways}) == nats


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_routes_public_to_igw_private_to_nat_isolated_none(stacks, suffix):
    stack = stacks[suffix]
    isolated = subnets(stack, "isolated")
    assert len(isolated) == 2
    for subnet in isolated:  # only the VPC's local route: no way to the internet
        assert routes(stack, subnet) == [], subnet["tags"]["Name"]
    igw = reference_to(stack, find(stack, "aws_internet_gateway"), "id")
    for subnet in subnets(stack, "public"):
        assert [
            (r["destination_cidr_block"], r.get("gateway_id"), "nat_gateway_id" in r) for r in routes(stack, subnet)
        ] == [("0.0.0.0/0", igw, False)], subnet["tags"]["Name"]
    nat_gateways = {reference_to(stack, nat, "id") for nat in find_all(stack, "aws_nat_gateway")}
    for subnet in subnets(stack, "private"):
        to_nat = [
            (r["destination_cidr_block"], "gateway_id" in r, r.get("nat_gateway_id") in nat_gateways)
            for r in routes(stack, subnet)
        ]
        assert to_nat == [("0.0.0.0/0", False, True)], subnet["tags"]["Name"]
    assert len(find_all(stack, "aws_route")) == 4  # nothing else routes anywhere


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_ecs_group_allows_all_egress(stacks, suffix):
    stack = stacks[suffix]
    [egress] = find_all(stack, "aws_vpc_security_group_egress_rule")  # the only egress rule of the stack
    assert referenced(stack, egress["security_group_id"], "id")["name"] == f"ecs-tasks-{suffix}"
    assert (egress["ip_protocol"], egress["cidr_ipv4"]) == ("-1", "0.0.0.0/0")


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_data_groups_only_admit_ecs_on_their_port(stacks, suffix):
    stack = stacks[suffix]

    def group(ref: str) -> str:
        return referenced(stack, ref, "id")["name"]

    admitted = {
        (
            group(r["security_group_id"]),
            r["ip_protocol"],
            r["from_port"],
            r["to_port"],
            group(r["referenced_security_group_id"]),
        )
        for r in find_all(stack, "aws_vpc_security_group_ingress_rule")
    }
    assert admitted == {  # (group, protocol, ports, from the group of)
        (f"rds-{suffix}", "tcp", 5432, 5432, f"ecs-tasks-{suffix}"),
        (f"redis-{suffix}", "tcp", 6379, 6379, f"ecs-tasks-{suffix}"),
        (f"efs-{suffix}", "tcp", 2049, 2049, f"ecs-tasks-{suffix}"),
    }
    assert len(find_all(stack, "aws_vpc_security_group_ingress_rule")) == 3
    groups = find_all(stack, "aws_security_group")
    assert sorted(g["name"] for g in groups) == sorted(
        f"{base}-{suffix}" for base in ("ecs-tasks", "rds", "redis", "efs")
    )
    for g in groups:
        assert "ingress" not in g and "egress" not in g, g["name"]  # rules are separate resources


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_default_security_group_has_no_rules(stacks, suffix):
    group = find(stacks[suffix], "aws_default_security_group")
    assert "ingress" not in group and "egress" not in group


@pytest.mark.parametrize("suffix, days", [(env.suffix, env.log_retention_days) for env in ENVIRONMENTS])
def test_flow_logs_to_cloudwatch_with_retention(stacks, suffix, days):
    stack = stacks[suffix]
    flow = find(stack, "aws_flow_log")
    assert flow["traffic_type"] == "ALL" and flow["log_destination_type"] == "cloud-watch-logs"
    assert flow["vpc_id"] == reference_to(stack, find(stack, "aws_vpc"), "id")
    group = referenced(stack, flow["log_destination"], "arn")
    assert (group["name"], group["retention_in_days"]) == (f"/aws/vpc/flow-logs/vpc-{suffix}", days)
    assert flow["iam_role_arn"] == reference_to(
        stack, find(stack, "aws_iam_role", name=f"vpc-flow-logs-{suffix}"), "arn"
    )


@pytest.mark.parametrize("suffix, region", [(env.suffix, env.region) for env in ENVIRONMENTS])
def test_flow_logs_role_trusts_this_accounts_flow_logs_only(stacks, suffix, region):
    """The role exists before the flow log that names it: any flow log of this account and region (VPC docs)."""
    stack = stacks[suffix]
    assert trust_conditions(stack, f"vpc-flow-logs-{suffix}") == {
        "aws:SourceAccount": (
            "StringEquals",
            [reference_to(stack, find(stack, "data.aws_caller_identity"), "account_id")],
        ),
        "aws:SourceArn": ("ArnLike", [arn(stack, "ec2", region, "vpc-flow-log/*")]),
    }
