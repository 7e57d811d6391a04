"""AWS WAF in front of the API stage (`security.waf`): a regional web ACL that allows by default, blocks an IP address
over the rate limit, and runs AWS's common, known-bad-inputs and anonymous-IP rule groups; its logs go to a
CloudWatch log group with the API key's header redacted.

Bodies: the common rule group's SizeRestrictions_BODY blocks a request body over 8 KB. POST /videos bodies are a
few dozen bytes (`{"videoId": <= 128 characters, "run": <= 1000}`, under 200 bytes), so nothing legitimate comes near
it, and the rule stays on: with WAF on, an oversized body gets WAF's 403 before the handler's own 413 (above 1 MiB)
could answer. Its NoUserAgent_HEADER rule blocks requests without a User-Agent header (curl, SDKs and HTTP libraries
send one).

The rule blocks are the provider bindings' own classes, except `statement`: the bindings type it `Any` (AWS's
statements nest too deeply to generate), so statements are plain dicts in Terraform's attribute names, checked by
`terraform validate` like any block."""

from __future__ import annotations

from typing import TypeVar

from cdktf_cdktf_provider_aws.wafv2_web_acl import (
    Wafv2WebAcl,
    Wafv2WebAclDefaultAction,
    Wafv2WebAclDefaultActionAllow,
    Wafv2WebAclRule,
    Wafv2WebAclRuleAction,
    Wafv2WebAclRuleActionBlock,
    Wafv2WebAclRuleOverrideAction,
    Wafv2WebAclRuleOverrideActionNone,
    Wafv2WebAclRuleVisibilityConfig,
    Wafv2WebAclVisibilityConfig,
)
from cdktf_cdktf_provider_aws.wafv2_web_acl_association import Wafv2WebAclAssociation
from cdktf_cdktf_provider_aws.wafv2_web_acl_logging_configuration import (
    Wafv2WebAclLoggingConfiguration,
    Wafv2WebAclLoggingConfigurationRedactedFields,
    Wafv2WebAclLoggingConfigurationRedactedFieldsSingleHeader,
)
from constructs import Construct

from config.settings import SecuritySettings
from modules.context import StackContext

# AWS managed rule groups, evaluated after the rate limit, in this order; their own actions apply (override: none)
# except for the rules named here, which only count.
MANAGED_RULE_GROUPS: dict[str, tuple[str, ...]] = {
    "AWSManagedRulesCommonRuleSet": (),
    "AWSManagedRulesKnownBadInputsRuleSet": (),  # Log4j and other exploit payloads
    # Tor exit nodes and anonymizing proxies are blocked; cloud-hosting addresses are only counted: callers of this
    # API (pipelines, other services) run in AWS and other clouds.
    "AWSManagedRulesAnonymousIpList": ("HostingProviderIPList",),
}
RATE_WINDOW_SECONDS = 300  # security.waf_rate_limit counts requests per 5 minutes
# Never logged: the API key travels in this header (WAF wants redacted header names in lowercase).
REDACTED_HEADERS = ("x-api-key",)

_Visibility = TypeVar("_Visibility", Wafv2WebAclVisibilityConfig, Wafv2WebAclRuleVisibilityConfig)


class WebAcl(Construct):
    """The web ACL, its logging, and `protect(stage_arn)` to put a stage behind it."""

    def __init__(self, scope: Construct, id_: str, *, ctx: StackContext, settings: SecuritySettings) -> None:
        super().__init__(scope, id_)
        names = ctx.names
        name = names("video-metadata-acl")
        rules = [
            Wafv2WebAclRule(
                name="rate-limit-per-ip",
                priority=0,
                action=Wafv2WebAclRuleAction(block=Wafv2WebAclRuleActionBlock()),
                statement={
                    "rate_based_statement": {
                        "limit": settings.waf_rate_limit,
                        "aggregate_key_type": "IP",
                        "evaluation_window_sec": RATE_WINDOW_SECONDS,
                    }
                },
                visibility_config=_visibility(f"{name}-rate-limit-per-ip", Wafv2WebAclRuleVisibilityConfig),
            ),
            *(
                Wafv2WebAclRule(
                    name=group,
                    priority=priority,
                    override_action=Wafv2WebAclRuleOverrideAction(none=Wafv2WebAclRuleOverrideActionNone()),
                    statement={
                        "managed_rule_group_statement": {
                            "vendor_name": "AWS",
                            "name": group,
                            **(
                                {
                                    "rule_action_override": [
                                        {"name": rule, "action_to_use": {"count": {}}} for rule in counted
                                    ]
                                }
                                if counted
                                else {}
                            ),
                        }
                    },
                    visibility_config=_visibility(f"{name}-{group}", Wafv2WebAclRuleVisibilityConfig),
                )
                for priority, (group, counted) in enumerate(MANAGED_RULE_GROUPS.items(), start=1)
            ),
        ]
        self._acl = Wafv2WebAcl(
            self,
            "acl",
            name=name,
            description=f"API of {names.stack}: rate limit per IP, AWS common, known-bad-inputs and anonymous-IP rules",
            scope="REGIONAL",
            default_action=Wafv2WebAclDefaultAction(allow=Wafv2WebAclDefaultActionAllow()),
            rule=rules,
            visibility_config=_visibility(name, Wafv2WebAclVisibilityConfig),
        )
        # WAF delivers only to log groups named aws-waf-logs-*; under the environment's key like every log group.
        logs = ctx.log_group(self, "logs", name=names("aws-waf-logs-video-metadata-api"))
        Wafv2WebAclLoggingConfiguration(
            self,
            "logging",
            resource_arn=self._acl.arn,
            log_destination_configs=[logs.arn],
            redacted_fields=[
                Wafv2WebAclLoggingConfigurationRedactedFields(
                    single_header=Wafv2WebAclLoggingConfigurationRedactedFieldsSingleHeader(name=header)
                )
                for header in REDACTED_HEADERS
            ],
        )
        self.arn: str = self._acl.arn

    def protect(self, stage_arn: str) -> None:
        """Put an API Gateway stage (its `arn`) behind the web ACL; one stage per web ACL here."""
        Wafv2WebAclAssociation(self, "association", resource_arn=stage_arn, web_acl_arn=self._acl.arn)


def _visibility(metric_name: str, config: type[_Visibility]) -> _Visibility:
    """CloudWatch metrics and sampled requests, for the web ACL or one rule (each has its own config class)."""
    return config(cloudwatch_metrics_enabled=True, metric_name=metric_name, sampled_requests_enabled=True)
