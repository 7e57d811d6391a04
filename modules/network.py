"""The seed's VPC, written out resource by resource as CDK's ec2.Vpc creates it, plus flow logs
and a locked-down default security group. Security groups for every tier live here so that the
SG-to-SG rules are in one place."""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from cdktf import Fn
from cdktf_cdktf_provider_aws.data_aws_availability_zones import DataAwsAvailabilityZones
from cdktf_cdktf_provider_aws.default_security_group import DefaultSecurityGroup
from cdktf_cdktf_provider_aws.eip import Eip
from cdktf_cdktf_provider_aws.flow_log import FlowLog
from cdktf_cdktf_provider_aws.internet_gateway import InternetGateway
from cdktf_cdktf_provider_aws.nat_gateway import NatGateway
from cdktf_cdktf_provider_aws.route import Route
from cdktf_cdktf_provider_aws.route_table import RouteTable
from cdktf_cdktf_provider_aws.route_table_association import RouteTableAssociation
from cdktf_cdktf_provider_aws.security_group import SecurityGroup
from cdktf_cdktf_provider_aws.subnet import Subnet
from cdktf_cdktf_provider_aws.vpc import Vpc
from cdktf_cdktf_provider_aws.vpc_security_group_egress_rule import VpcSecurityGroupEgressRule
from cdktf_cdktf_provider_aws.vpc_security_group_ingress_rule import VpcSecurityGroupIngressRule
from constructs import Construct

from config.naming import Names
from config.settings import NetworkSettings
from modules.common import Statement, log_group, log_streams_arn, service_role

# Subnet tiers in CIDR order: /24 number = tier index * az_count + az index (CDK's layout).
TIERS = ("public", "private", "isolated")

# (security group, port, description) reachable from the ECS tasks only.
DATA_PORTS = (
    ("rds", 5432, "PostgreSQL from ECS tasks"),
    ("redis", 6379, "Redis from ECS tasks"),
    ("efs", 2049, "NFS from ECS tasks"),
)


@dataclass(frozen=True)
class NetworkOutputs:
    vpc_id: str
    public_subnet_ids: list[str]
    private_subnet_ids: list[str]
    isolated_subnet_ids: list[str]
    ecs_security_group_id: str
    rds_security_group_id: str
    redis_security_group_id: str
    efs_security_group_id: str


class Network(Construct):
    def __init__(self, scope: Construct, id_: str, *, names: Names, settings: NetworkSettings, log_retention_days: int) -> None:
        super().__init__(scope, id_)
        az_count = settings.az_count
        self.vpc = Vpc(
            self, "vpc", cidr_block=settings.vpc_cidr,
            enable_dns_support=True, enable_dns_hostnames=True,  # CDK turns both on; TF defaults hostnames off
            tags={"Name": names("vpc")},
        )
        zones = DataAwsAvailabilityZones(self, "zones", state="available")
        subnet_blocks = list(ipaddress.ip_network(settings.vpc_cidr).subnets(new_prefix=24))

        subnets: dict[str, list[Subnet]] = {tier: [] for tier in TIERS}
        tables: dict[str, list[RouteTable]] = {tier: [] for tier in TIERS}
        for tier_index, tier in enumerate(TIERS):
            for az in range(az_count):
                label = f"{tier}-{az + 1}"
                subnet = Subnet(
                    self, f"subnet-{label}", vpc_id=self.vpc.id,
                    cidr_block=str(subnet_blocks[tier_index * az_count + az]),
                    availability_zone=Fn.element(zones.names, az),
                    map_public_ip_on_launch=False,  # only NAT gateways (with EIPs) live in public subnets
                    tags={"Name": names(label), "Tier": tier},
                )
                table = RouteTable(self, f"rt-{label}", vpc_id=self.vpc.id, tags={"Name": names(f"rt-{label}")})
                RouteTableAssociation(self, f"rta-{label}", subnet_id=subnet.id, route_table_id=table.id)
                subnets[tier].append(subnet)
                tables[tier].append(table)

        igw = InternetGateway(self, "igw", vpc_id=self.vpc.id, tags={"Name": names("igw")})
        for az, table in enumerate(tables["public"]):
            Route(self, f"route-public-{az + 1}", route_table_id=table.id, destination_cidr_block="0.0.0.0/0", gateway_id=igw.id)

        nats = []
        for index in range(settings.nat_gateway_count):
            eip = Eip(self, f"eip-{index + 1}", domain="vpc", tags={"Name": names(f"nat-{index + 1}")}, depends_on=[igw])
            nats.append(NatGateway(
                self, f"nat-{index + 1}", allocation_id=eip.id, subnet_id=subnets["public"][index].id,
                tags={"Name": names(f"nat-{index + 1}")}, depends_on=[igw],
            ))
        for az, table in enumerate(tables["private"]):
            # With fewer NATs than AZs, AZs share them round-robin (dev saves cost).
            Route(self, f"route-private-{az + 1}", route_table_id=table.id, destination_cidr_block="0.0.0.0/0",
                  nat_gateway_id=nats[az % len(nats)].id)
        # Isolated route tables keep only the local route: no path to the internet.

        # The default SG allows all traffic between members; manage it with no rules at all.
        DefaultSecurityGroup(self, "default-sg", vpc_id=self.vpc.id, tags={"Name": names("default-locked")})

        groups = {
            "ecs": SecurityGroup(self, "sg-ecs", name=names("ecs-tasks"), description="ECS tasks", vpc_id=self.vpc.id,
                                 tags={"Name": names("ecs-tasks")}),
        }
        # Tasks pull images and reach AWS APIs through the NAT; TF drops AWS's default egress, so declare it.
        VpcSecurityGroupEgressRule(self, "sg-ecs-egress", security_group_id=groups["ecs"].id, ip_protocol="-1",
                                   cidr_ipv4="0.0.0.0/0", description="All outbound (images, AWS APIs)")
        for key, port, description in DATA_PORTS:
            # Data tiers only answer; no egress rules at all.
            groups[key] = SecurityGroup(self, f"sg-{key}", name=names(key), description=f"{key.upper()}: {description}",
                                        vpc_id=self.vpc.id, tags={"Name": names(key)})
            VpcSecurityGroupIngressRule(
                self, f"sg-{key}-ingress", security_group_id=groups[key].id, ip_protocol="tcp",
                from_port=port, to_port=port, referenced_security_group_id=groups["ecs"].id, description=description,
            )

        flow_logs = log_group(self, "flow-logs", name=f"/aws/vpc/flow-logs/{names('vpc')}",
                              retention_days=log_retention_days)
        flow_role, flow_policy = service_role(
            self, "flow-logs-role", name=names.role("vpc-flow-logs"), service="vpc-flow-logs.amazonaws.com",
            statements=[
                Statement(actions=["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                          resources=[flow_logs.arn, log_streams_arn(flow_logs)]),
                Statement(actions=["logs:DescribeLogGroups"]),  # no resource-level permissions
            ],
        )
        FlowLog(self, "flow-log", vpc_id=self.vpc.id, traffic_type="ALL", log_destination_type="cloud-watch-logs",
                log_destination=flow_logs.arn, iam_role_arn=flow_role.arn, max_aggregation_interval=60,
                depends_on=[flow_policy], tags={"Name": names("flow-log")})

        self.outputs = NetworkOutputs(
            vpc_id=self.vpc.id,
            public_subnet_ids=[s.id for s in subnets["public"]],
            private_subnet_ids=[s.id for s in subnets["private"]],
            isolated_subnet_ids=[s.id for s in subnets["isolated"]],
            ecs_security_group_id=groups["ecs"].id,
            rds_security_group_id=groups["rds"].id,
            redis_security_group_id=groups["redis"].id,
            efs_security_group_id=groups["efs"].id,
        )
