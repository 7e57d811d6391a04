"""AWS WAF on the API stage (`security.waf`): what the web ACL blocks, where it logs, and that the API key's header
never reaches its logs."""

import pytest

from tests.conftest import ENVIRONMENTS
from tests.helpers import find, find_all, kms_key, reference_to

WAF_ON = [env.suffix for env in ENVIRONMENTS if env.security.waf]
WAF_OFF = [env.suffix for env in ENVIRONMENTS if not env.security.waf]
WAF_TYPES = ("aws_wafv2_web_acl", "aws_wafv2_web_acl_association", "aws_wafv2_web_acl_logging_configuration")


def test_the_profiles_cover_both_cases():
    assert WAF_ON and WAF_OFF  # prod and staging on, dev (and its ad-hoc stacks) off


def visibility(metric_name: str) -> dict:
    return {"cloudwatch_metrics_enabled": True, "metric_name": metric_name, "sampled_requests_enabled": True}


@pytest.mark.parametrize("suffix", WAF_ON)
def test_web_acl_allows_by_default_rate_limits_each_ip_and_runs_the_aws_rule_groups(stacks, environments, suffix):
    stack = stacks[suffix]
    acl = find(stack, "aws_wafv2_web_acl")
    name = f"video-metadata-acl-{suffix}"
    assert (acl["name"], acl["scope"]) == (name, "REGIONAL")
    assert acl["default_action"] == {"allow": {}}
    assert acl["visibility_config"] == visibility(name)
    rules = sorted(acl["rule"], key=lambda rule: rule["priority"])
    assert [rule["priority"] for rule in rules] == [0, 1, 2, 3]
    rate, common, bad_inputs, anonymous = rules
    assert rate["action"] == {"block": {}} and "override_action" not in rate
    assert rate["statement"] == {
        "rate_based_statement": {
            "limit": environments[suffix].security.waf_rate_limit,
            "aggregate_key_type": "IP",
            "evaluation_window_sec": 300,
        }
    }
    for rule, group in ((common, "AWSManagedRulesCommonRuleSet"), (bad_inputs, "AWSManagedRulesKnownBadInputsRuleSet")):
        # The group's own actions (block), none of them overridden: no rule_action_override, no count.
        assert rule["override_action"] == {"none": {}} and "action" not in rule
        assert rule["statement"] == {"managed_rule_group_statement": {"vendor_name": "AWS", "name": group}}
    # Anonymizing proxies and Tor blocked; cloud-hosting addresses (where callers run) only counted.
    assert anonymous["override_action"] == {"none": {}}
    assert anonymous["statement"] == {
        "managed_rule_group_statement": {
            "vendor_name": "AWS",
            "name": "AWSManagedRulesAnonymousIpList",
            "rule_action_override": [{"name": "HostingProviderIPList", "action_to_use": {"count": {}}}],
        }
    }
    for rule in rules:
        assert rule["visibility_config"] == visibility(f"{name}-{rule['name']}")
    assert len({rule["name"] for rule in rules}) == 4


@pytest.mark.parametrize("suffix", WAF_ON)
def test_the_stage_is_behind_the_web_acl(stacks, suffix):
    stack = stacks[suffix]
    association = find(stack, "aws_wafv2_web_acl_association")
    assert association["resource_arn"] == reference_to(stack, find(stack, "aws_api_gateway_stage"), "arn")
    assert association["web_acl_arn"] == reference_to(stack, find(stack, "aws_wafv2_web_acl"), "arn")


@pytest.mark.parametrize("suffix", WAF_ON)
def test_web_acl_logs_to_its_encrypted_group_without_the_api_key(stacks, environments, suffix):
    stack = stacks[suffix]
    env = environments[suffix]
    logging = find(stack, "aws_wafv2_web_acl_logging_configuration")
    assert logging["resource_arn"] == reference_to(stack, find(stack, "aws_wafv2_web_acl"), "arn")
    # WAF delivers only to groups named aws-waf-logs-*, and wants the group's ARN without the trailing `:*`.
    group = find(stack, "aws_cloudwatch_log_group", name=f"aws-waf-logs-video-metadata-api-{suffix}")
    assert logging["log_destination_configs"] == [reference_to(stack, group, "arn")]
    assert group["retention_in_days"] == env.log_retention_days
    # The key travels in x-api-key (lowercase: WAF's form for a redacted header).
    assert logging["redacted_fields"] == [{"single_header": {"name": "x-api-key"}}]
    if env.security.customer_managed_key:
        assert group["kms_key_id"] == reference_to(stack, kms_key(stack, f"alias/data-{suffix}"), "arn")


@pytest.mark.parametrize("suffix", WAF_OFF)
def test_no_waf_where_it_is_off(stacks, suffix):
    stack = stacks[suffix]
    for type_ in WAF_TYPES:
        assert find_all(stack, type_) == [], type_
    assert find_all(stack, "aws_cloudwatch_log_group", name=lambda name: name.startswith("aws-waf-logs-")) == []
