"""The seed's VPC, written out resource by resource as CDK's ec2.Vpc creates it, plus flow logs and a locked-down
default security group. Every tier's security group is made here (`security_group`), but the module that listens
owns its port and opens it to peers (`allow_from`), as aws-cdk-lib's `Connections` do."""

from __future__ import annotations

import ipaddress
from typing import Protocol

from cdktf import Fn
from cdktf_cdktf_provider_aws.data_aws_availability_zones import (
    DataAwsAvailabilityZones,
    DataAwsAvailabilityZonesFilter,
)
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

from config.settings import NetworkSettings
from modules.context import StackContext, log_streams_arn
from modules.iam import Role, Statement, source_conditions

# Subnet tiers in CIDR order: /24 number = tier index * az_count + az index (CDK's layout).
TIERS = ("public", "private", "isolated")


class Connections:
    """A security group: for a listener, the port and protocol its owner serves; for a client, the `label` its
    members carry in the listeners' rules ("PostgreSQL from <label>").

    Groups and their rules keep the addresses they were first deployed with, under `network/` (`sg-<key>`,
    `sg-<key>-ingress`, `sg-<key>-egress`); which module asked for them is a code matter only."""

    def __init__(
        self,
        scope: Construct,
        key: str,
        *,
        name: str,
        description: str,
        vpc_id: str,
        label: str = "",
        port: int | None = None,
        protocol: str = "",
    ) -> None:
        self._scope, self._key = scope, key
        self.label, self.port, self.protocol = label, port, protocol
        # `description` is immutable in AWS: changing it replaces the group.
        self.group = SecurityGroup(
            scope, f"sg-{key}", name=name, description=description, vpc_id=vpc_id, tags={"Name": name}
        )
        self.security_group_id: str = self.group.id
        self._peers = 0

    def allow_from(self, peer: Connections) -> None:
        """Ingress on this group's port from `peer`'s group only."""
        if self.port is None:
            raise ValueError(f"security group {self._key!r} has no port to open")
        if not peer.label:
            raise ValueError(f"security group {peer._key!r} has no label to name it in {self._key!r}'s rules")
        self._peers += 1
        suffix = "" if self._peers == 1 else f"-{self._peers}"
        VpcSecurityGroupIngressRule(
            self._scope,
            f"sg-{self._key}-ingress{suffix}",
            security_group_id=self.security_group_id,
            ip_protocol="tcp",
            from_port=self.port,
            to_port=self.port,
            referenced_security_group_id=peer.security_group_id,
            description=f"{self.protocol} from {peer.label}",
        )

    def allow_all_outbound(self, description: str) -> None:
        # Terraform drops AWS's default egress rule, so a client that needs one declares it.
        VpcSecurityGroupEgressRule(
            self._scope,
            f"sg-{self._key}-egress",
            security_group_id=self.security_group_id,
            ip_protocol="-1",
            cidr_ipv4="0.0.0.0/0",
            description=description,
        )


class HasConnections(Protocol):
    """Anything with a security group: what `allow_from` accepts."""

    connections: Connections


class Network(Construct):
    def __init__(self, scope: Construct, id_: str, *, ctx: StackContext, settings: NetworkSettings) -> None:
        super().__init__(scope, id_)
        names = ctx.names
        az_count = settings.az_count
        vpc = Vpc(
            self,
            "vpc",
            cidr_block=settings.vpc_cidr,
            enable_dns_support=True,
            enable_dns_hostnames=True,  # CDK turns both on; TF defaults hostnames off
            tags={"Name": names("vpc")},
        )
        self.vpc_id: str = vpc.id
        # Only the region's own zones: an opted-in Local or Wavelength Zone would sort first and receive subnets, NAT,
        # RDS and Redis. No `state` filter: a zone that is impaired for a while must not drop out of the list and
        # shift every subnet after it into another zone (a replacement of the whole network and data tier).
        zones = DataAwsAvailabilityZones(
            self,
            "zones",
            filter=[DataAwsAvailabilityZonesFilter(name="opt-in-status", values=["opt-in-not-required"])],
        )
        # Subnet n takes zone n (element() wraps around): without enough zones the tiers would share one, which
        # RDS, ElastiCache and EFS refuse only at apply, after the VPC exists; the plan stops here instead.
        zones.add_override(
            "lifecycle.postcondition",
            [
                {
                    "condition": f"${{length(self.names) >= {az_count}}}",
                    "error_message": f"{ctx.region} shows this account fewer available zones than network.az_count "
                    f"({az_count}): the subnets of a tier would share a zone.",
                },
                {
                    # Availability Zones are the region's name and a letter; Local and Wavelength Zones are not.
                    "condition": f'${{alltrue([for name in self.names : can(regex("^{ctx.region}[a-z]$", name))])}}',
                    "error_message": f"The account has opted into a Local or Wavelength Zone in {ctx.region}: "
                    "the zone list would put subnets (NAT, RDS, Redis, EFS) there.",
                },
            ],
        )
        subnet_blocks = list(ipaddress.ip_network(settings.vpc_cidr).subnets(new_prefix=24))

        subnets: dict[str, list[Subnet]] = {tier: [] for tier in TIERS}
        tables: dict[str, list[RouteTable]] = {tier: [] for tier in TIERS}
        for tier_index, tier in enumerate(TIERS):
            for az in range(az_count):
                label = f"{tier}-{az + 1}"
                subnet = Subnet(
                    self,
                    f"subnet-{label}",
                    vpc_id=vpc.id,
                    cidr_block=str(subnet_blocks[tier_index * az_count + az]),
                    availability_zone=Fn.element(zones.names, az),
                    map_public_ip_on_launch=False,  # only NAT gateways (with EIPs) live in public subnets
                    tags={"Name": names(label), "Tier": tier},
                )
                table = RouteTable(self, f"rt-{label}", vpc_id=vpc.id, tags={"Name": names(f"rt-{label}")})
                RouteTableAssociation(self, f"rta-{label}", subnet_id=subnet.id, route_table_id=table.id)
                subnets[tier].append(subnet)
                tables[tier].append(table)

        igw = InternetGateway(self, "igw", vpc_id=vpc.id, tags={"Name": names("igw")})
        for az, table in enumerate(tables["public"]):
            Route(
                self,
                f"route-public-{az + 1}",
                route_table_id=table.id,
                destination_cidr_block="0.0.0.0/0",
                gateway_id=igw.id,
            )

        nats = []
        for index in range(settings.nat_gateway_count):
            eip = Eip(
                self, f"eip-{index + 1}", domain="vpc", tags={"Name": names(f"nat-{index + 1}")}, depends_on=[igw]
            )
            nats.append(
                NatGateway(
                    self,
                    f"nat-{index + 1}",
                    allocation_id=eip.id,
                    subnet_id=subnets["public"][index].id,
                    tags={"Name": names(f"nat-{index + 1}")},
                    depends_on=[igw],
                )
            )
        for az, table in enumerate(tables["private"]):
            # With fewer NATs than AZs, AZs share them round-robin (dev saves cost).
            Route(
                self,
                f"route-private-{az + 1}",
                route_table_id=table.id,
                destination_cidr_block="0.0.0.0/0",
                nat_gateway_id=nats[az % len(nats)].id,
            )
        # Isolated route tables keep only the local route: no path to the internet.

        # The default SG allows all traffic between members; manage it with no rules at all.
        DefaultSecurityGroup(self, "default-sg", vpc_id=vpc.id, tags={"Name": names("default-locked")})

        flow_logs = ctx.log_group(self, "flow-logs", name=f"/aws/vpc/flow-logs/{names('vpc')}")
        flow_role = Role(
            self,
            "flow-logs-role",
            name=names.role("vpc-flow-logs"),
            service="vpc-flow-logs.amazonaws.com",
            # Any flow log of this account and region: the role exists before the flow log that names it.
            trust_conditions=source_conditions(ctx.account_id, ctx.arn("ec2", "vpc-flow-log/*")),
        )
        flow_role.add(
            Statement(
                actions=["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                resources=[flow_logs.arn, log_streams_arn(flow_logs)],
            ),
            Statement(actions=["logs:DescribeLogGroups"]),  # no resource-level permissions
        )
        FlowLog(
            self,
            "flow-log",
            vpc_id=vpc.id,
            traffic_type="ALL",
            log_destination_type="cloud-watch-logs",
            log_destination=flow_logs.arn,
            iam_role_arn=flow_role.arn,
            max_aggregation_interval=60,
            depends_on=[flow_role.policy],
            tags={"Name": names("flow-log")},
        )

        self._names = names
        self.public_subnet_ids: list[str] = [s.id for s in subnets["public"]]
        self.private_subnet_ids: list[str] = [s.id for s in subnets["private"]]  # NAT egress: where tasks run
        self.isolated_subnet_ids: list[str] = [s.id for s in subnets["isolated"]]  # no route out: the data tier

    def security_group(
        self,
        key: str,
        *,
        name_base: str,
        description: str,
        label: str = "",
        port: int | None = None,
        protocol: str = "",
    ) -> Connections:
        """A group in this VPC for one tier (see `Connections` for `label`, `port` and `protocol`)."""
        return Connections(
            self,
            key,
            name=self._names(name_base),
            description=description,
            vpc_id=self.vpc_id,
            label=label,
            port=port,
            protocol=protocol,
        )
