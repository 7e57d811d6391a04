"""Default AWS quotas the environments share: every environment in one account and region takes a VPC, an internet
gateway and one Elastic IP per NAT gateway from the same per-region quotas. The synth warns (it does not refuse:
quotas can be raised) when the environments of the settings file, plus an ad-hoc stack, would not fit."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from config.settings import EnvironmentSettings


@dataclass(frozen=True)
class Quota:
    name: str
    code: str  # Service Quotas code, for `aws service-quotas request-service-quota-increase`
    default: int
    scope: str


VPCS = Quota("VPCs per Region", "vpc/L-F678F1CE", 5, "region")
INTERNET_GATEWAYS = Quota("Internet gateways per Region", "vpc/L-A4707A72", 5, "region")
ELASTIC_IPS = Quota("EC2-VPC Elastic IPs", "ec2/L-0263D0A3", 5, "region")
NAT_GATEWAYS = Quota("NAT gateways per Availability Zone", "vpc/L-FE5A380F", 5, "zone")


def usage(settings: EnvironmentSettings) -> dict[Quota, int]:
    """What one environment takes; NAT gateways counted in the busiest zone (the first: NAT n sits in zone n)."""
    return {VPCS: 1, INTERNET_GATEWAYS: 1, ELASTIC_IPS: settings.network.nat_gateway_count, NAT_GATEWAYS: 1}


def warnings(environments: Iterable[EnvironmentSettings]) -> list[str]:
    """One line per default quota that the environments sharing an account and region would exceed."""
    totals: dict[tuple[str, str], dict[Quota, int]] = defaultdict(lambda: defaultdict(int))
    members: dict[tuple[str, str], list[str]] = defaultdict(list)
    for env in environments:
        key = (f"account {env.account_id}" if env.account_id else "one account (no account_id pinned)", env.region)
        members[key].append(env.suffix)
        for quota, count in usage(env).items():
            totals[key][quota] += count
    lines = []
    for (account, region), used in totals.items():
        for quota, count in used.items():
            if count > quota.default:
                lines.append(
                    f"quota: {', '.join(members[account, region])} in {account}, {region} need {count} "
                    f"{quota.name} (default quota {quota.default}); request an increase ({quota.code}) before "
                    "deploying them all"
                )
    return lines
