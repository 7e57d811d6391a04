"""The default per-region quotas the environments share (config/quotas.py) and the synth's warning."""

import dataclasses

from config import quotas
from tests.conftest import ADHOC_ENVIRONMENT, ENVIRONMENTS

NAMED = [env for env in ENVIRONMENTS if not env.adhoc]


def with_account(env, account_id: str):
    return dataclasses.replace(env, account_id=account_id)


def test_the_shipped_environments_fit_the_default_quotas_exactly():
    used = {quota: sum(quotas.usage(env)[quota] for env in NAMED) for quota in quotas.usage(NAMED[0])}
    assert used[quotas.ELASTIC_IPS] == quotas.ELASTIC_IPS.default  # one NAT in dev, two in staging and prod
    assert used[quotas.VPCS] == len(NAMED) <= quotas.VPCS.default
    assert quotas.warnings(NAMED) == []


def test_one_more_stack_in_the_same_account_and_region_is_named_with_the_quota_to_raise():
    [line] = quotas.warnings([*NAMED, ADHOC_ENVIRONMENT])
    assert f"need {quotas.ELASTIC_IPS.default + 1} EC2-VPC Elastic IPs (default quota 5)" in line
    assert "ec2/L-0263D0A3" in line and ADHOC_ENVIRONMENT.suffix in line


def test_accounts_and_regions_have_their_own_quotas():
    spread = [with_account(env, f"{index:012d}") for index, env in enumerate([*NAMED, ADHOC_ENVIRONMENT])]
    assert quotas.warnings(spread) == []
    assert quotas.warnings([*NAMED, dataclasses.replace(ADHOC_ENVIRONMENT, region="eu-west-1")]) == []
