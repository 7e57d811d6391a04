"""Every AWS name the stacks create comes from here, with the limit of the service that owns it.

The suffix rule is derived from this table: a suffix is valid only if every name below fits.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

PROJECT = "video-pipeline"

# name template -> (AWS limit in characters, what imposes it)
NAME_LIMITS: dict[str, tuple[int, str]] = {
    "video-pipeline-{s}": (255, "stack / tag value"),
    "redis-{s}": (40, "ElastiCache replication group id"),
    "rds-postgresql-{s}": (63, "RDS DB instance identifier"),
    "ecs-task-execution-{s}": (64, "IAM role name"),
    "ecs-task-{s}": (64, "IAM role name"),
    "video-api-handler-{s}": (64, "IAM role name"),
    "apigw-cloudwatch-{s}": (64, "IAM role name"),
    "sfn-workflow-{s}": (64, "IAM role name"),
    "rds-monitoring-{s}": (64, "IAM role name"),
    "vpc-flow-logs-{s}": (64, "IAM role name"),
    "video-api-{s}": (64, "Lambda function name"),
    "video-processing-dlq-{s}": (80, "SQS queue name"),
    "video-processing-workflow-{s}": (80, "Step Functions state machine name"),
    "api-secret-{s}": (512, "Secrets Manager secret name"),
}

SUFFIX_PATTERN = re.compile(r"^[a-z][a-z0-9-]*$")
MAX_SUFFIX_LENGTH = min(limit - len(t.replace("{s}", "")) for t, (limit, _) in NAME_LIMITS.items())
_TIGHTEST = min(NAME_LIMITS, key=lambda t: NAME_LIMITS[t][0] - len(t.replace("{s}", "")))


class InvalidSuffix(ValueError):
    pass


def validate_suffix(suffix: str) -> str:
    """Return the suffix if every derived name is valid, else raise naming the value and the rule."""
    if not SUFFIX_PATTERN.match(suffix or ""):
        rule = "lowercase letters, digits and hyphens, starting with a letter"
    elif suffix.endswith("-") or "--" in suffix:
        rule = "no trailing hyphen and no two hyphens in a row (RDS and ElastiCache identifiers)"
    elif len(suffix) > MAX_SUFFIX_LENGTH:
        limit, owner = NAME_LIMITS[_TIGHTEST]
        rule = (
            f"at most {MAX_SUFFIX_LENGTH} characters, so that '{_TIGHTEST.format(s=suffix)}' "
            f"fits the {limit}-character {owner} limit"
        )
    else:
        return suffix
    raise InvalidSuffix(f"invalid environment suffix {suffix!r}: {rule}")


@dataclass(frozen=True)
class Names:
    """Names for one environment; `suffix` must have passed validate_suffix."""

    suffix: str

    def _n(self, template: str) -> str:
        return template.format(s=self.suffix)

    @property
    def stack(self) -> str:
        return self._n("video-pipeline-{s}")

    @property
    def state_key(self) -> str:
        return f"{PROJECT}/{self.suffix}/terraform.tfstate"

    def __call__(self, base: str) -> str:
        """Generic `<base>-<suffix>` for names without a tight limit (log groups, SGs, topics)."""
        return f"{base}-{self.suffix}"

    # Names with a tight service limit are listed in NAME_LIMITS and built through these.
    @property
    def redis(self) -> str:
        return self._n("redis-{s}")

    @property
    def rds(self) -> str:
        return self._n("rds-postgresql-{s}")

    @property
    def state_machine(self) -> str:
        return self._n("video-processing-workflow-{s}")

    @property
    def lambda_function(self) -> str:
        return self._n("video-api-{s}")

    @property
    def dlq(self) -> str:
        return self._n("video-processing-dlq-{s}")

    @property
    def api_secret(self) -> str:
        return self._n("api-secret-{s}")

    def role(self, purpose: str) -> str:
        template = f"{purpose}-{{s}}"
        if template not in NAME_LIMITS:
            raise KeyError(f"IAM role purpose {purpose!r} is not in NAME_LIMITS")
        return self._n(template)
