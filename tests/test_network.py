import ipaddress

import pytest
from cdktf import Testing

from tests.conftest import only, resources

ALL = ["dev", "staging", "prod", "pr123"]


@pytest.mark.parametrize("suffix", ALL)
def test_vpc_has_dns_support_and_hostnames(synthesized, environments, suffix):
    assert Testing.to_have_resource_with_properties(synthesized[suffix], "aws_vpc", {
        "cidr_block": environments[suffix].network.vpc_cidr,
        "enable_dns_support": True,
        "enable_dns_hostnames": True,
    })


@pytest.mark.parametrize("suffix", ALL)
def test_six_24_subnets_in_cdk_order(stacks, environments, suffix):
    subnets = resources(stacks[suffix], "aws_subnet")
    vpc = ipaddress.ip_network(environments[suffix].network.vpc_cidr)
    expected = [str(net) for net in list(vpc.subnets(new_prefix=24))[:6]]
    ordered = sorted(subnets.values(), key=lambda s: ipaddress.ip_network(s["cidr_block"]))
    assert [s["cidr_block"] for s in ordered] == expected
    assert [s["tags"]["Tier"] for s in ordered] == ["public", "public", "private", "private", "isolated", "isolated"]
    assert not any(s["map_public_ip_on_launch"] for s in ordered)  # CDK sets it on public subnets; nothing needs it
    # two distinct AZs per tier
    assert ordered[0]["availability_zone"] != ordered[1]["availability_zone"]


@pytest.mark.parametrize("suffix", ALL)
def test_one_route_table_per_subnet(stacks, suffix):
    stack = stacks[suffix]
    assert len(resources(stack, "aws_route_table")) == 6
    associations = resources(stack, "aws_route_table_association").values()
    assert len({a["subnet_id"] for a in associations}) == 6
    assert len({a["route_table_id"] for a in associations}) == 6


@pytest.mark.parametrize("suffix, nats", [("dev", 1), ("pr123", 1), ("staging", 2), ("prod", 2)])
def test_nat_gateways_per_environment(stacks, suffix, nats):
    stack = stacks[suffix]
    assert len(resources(stack, "aws_nat_gateway")) == nats
    assert len(resources(stack, "aws_eip")) == nats
    assert all(e["domain"] == "vpc" for e in resources(stack, "aws_eip").values())


@pytest.mark.parametrize("suffix", ALL)
def test_routes_public_to_igw_private_to_nat_isolated_none(stacks, suffix):
    routes = list(resources(stacks[suffix], "aws_route").values())
    assert len(routes) == 4
    assert sum("gateway_id" in r for r in routes) == 2
    assert sum("nat_gateway_id" in r for r in routes) == 2
    isolated_tables = {k for k in resources(stacks[suffix], "aws_route_table") if "isolated" in k}
    assert not any(table in r["route_table_id"] for r in routes for table in isolated_tables)


@pytest.mark.parametrize("suffix", ALL)
def test_ecs_group_allows_all_egress(synthesized, suffix):
    assert Testing.to_have_resource_with_properties(synthesized[suffix], "aws_vpc_security_group_egress_rule", {
        "ip_protocol": "-1", "cidr_ipv4": "0.0.0.0/0",
    })


@pytest.mark.parametrize("suffix", ALL)
def test_data_groups_only_admit_ecs_on_their_port(stacks, suffix):
    stack = stacks[suffix]
    egress = resources(stack, "aws_vpc_security_group_egress_rule").values()
    assert len(egress) == 1 and "sg-ecs" in next(iter(egress))["security_group_id"]
    ingress = {(r["security_group_id"].split(".")[1], r["from_port"], r["to_port"], r["referenced_security_group_id"].split(".")[1])
               for r in resources(stack, "aws_vpc_security_group_ingress_rule").values()}
    assert {(sg.rsplit("_", 1)[0], f, t, src.rsplit("_", 1)[0]) for sg, f, t, src in ingress} == {
        ("network_sg-rds", 5432, 5432, "network_sg-ecs"),
        ("network_sg-redis", 6379, 6379, "network_sg-ecs"),
        ("network_sg-efs", 2049, 2049, "network_sg-ecs"),
    }
    for group in resources(stack, "aws_security_group").values():
        assert "ingress" not in group and "egress" not in group  # rules are separate resources


@pytest.mark.parametrize("suffix", ALL)
def test_default_security_group_has_no_rules(stacks, suffix):
    group = only(stacks[suffix], "aws_default_security_group")
    assert "ingress" not in group and "egress" not in group


@pytest.mark.parametrize("suffix, days", [("dev", 7), ("staging", 30), ("prod", 90), ("pr123", 7)])
def test_flow_logs_to_cloudwatch_with_retention(stacks, suffix, days):
    stack = stacks[suffix]
    flow = only(stack, "aws_flow_log")
    assert flow["traffic_type"] == "ALL" and flow["log_destination_type"] == "cloud-watch-logs"
    groups = [g for g in resources(stack, "aws_cloudwatch_log_group").values() if "flow-logs" in g["name"]]
    assert [g["retention_in_days"] for g in groups] == [days]
