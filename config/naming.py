"""Every AWS name the stacks create comes from here, with the limit of the service that owns it.

The suffix rule is derived from this table: a suffix is valid only if every name below fits. Because the table
lists every name, `collisions` can tell whether two environments would derive the same name (the ad-hoc suffix
`execution-dev` gives `ecs-task-execution-dev`, which is dev's execution role).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

PROJECT = "video-pipeline"
# State objects of ad-hoc stacks live under their own prefix, so no suffix can reach a named environment's state.
ADHOC_STATE_PREFIX = f"{PROJECT}/adhoc/"
# The account stack (stacks/account_stack.py: state bucket and key, the account's API Gateway logging role) is named
# like an environment called `account`; config/settings.py reserves that name, so no environment or ad-hoc suffix
# can derive its stack name or state key.
ACCOUNT = "account"
STATE_KEY_ALIAS = f"alias/{PROJECT}-tfstate"  # every stack's backend encrypts its state object under this key
SUBNET_TIERS = ("public", "private", "isolated")  # network.py lays the /24 subnets out in this order
MAX_AZ_COUNT = 6  # the most zones any region offers (config/regions.py); subnet and NAT names go up to it
POSTGRES_MAJORS = tuple(str(major) for major in range(11, 18))  # parameter group family names RDS offers

# name template -> (AWS limit in characters, what imposes it); names with a limit tighter than the generic one
NAME_LIMITS: dict[str, tuple[int, str]] = {
    "video-pipeline-{s}": (255, "stack / tag value"),
    "redis-{s}": (40, "ElastiCache replication group id and user group id"),
    "redis-app-{s}": (40, "ElastiCache user id (= user name: IAM authentication)"),
    "redis-off-{s}": (40, "ElastiCache user id"),
    "rds-postgresql-{s}": (63, "RDS DB instance identifier"),
    "efs-{s}": (64, "EFS creation token"),
    "ecs-task-execution-{s}": (64, "IAM role name"),
    "ecs-task-{s}": (64, "IAM role name"),
    "video-api-handler-{s}": (64, "IAM role name"),
    "sfn-workflow-{s}": (64, "IAM role name"),
    "rds-monitoring-{s}": (64, "IAM role name"),
    "vpc-flow-logs-{s}": (64, "IAM role name"),
    "video-api-{s}": (64, "Lambda function name"),
    "video-processing-dlq-{s}": (80, "SQS queue name"),
    "video-processing-workflow-{s}": (80, "Step Functions state machine name"),
    "api-secret-{s}": (512, "Secrets Manager secret name"),
}

# Bases of the generic `<base>-<suffix>` names: Name tags, security groups, subnet and parameter groups, topics,
# log groups and KMS aliases built from them, the ECS cluster and task family, the REST API, its key and plan.
GENERIC_BASES = (
    "vpc",
    "igw",
    "default-locked",
    "flow-log",
    "ecs-tasks",
    "rds",
    "redis",
    "efs",
    "videos",
    "rds-isolated",
    "redis-isolated",
    *(f"rds-postgres{major}" for major in POSTGRES_MAJORS),
    *(f"{prefix}{tier}-{n}" for prefix in ("", "rt-") for tier in SUBNET_TIERS for n in range(1, MAX_AZ_COUNT + 1)),
    *(f"nat-{n}" for n in range(1, MAX_AZ_COUNT + 1)),
    "secrets",
    "notifications",
    "video-processing-completion",
    "video-processing-error",
    "video-processing",
    "video-processor",
    "video-metadata-api",
    "video-metadata-key",
    "video-metadata-plan",
    "video-metadata-acl",
    "aws-waf-logs-video-metadata-api",  # WAF logs only to groups named aws-waf-logs-*
    "data",
)
GENERIC_LIMIT = (255, "name or Name tag")

TEMPLATES: dict[str, tuple[int, str]] = {
    **{f"{base}-{{s}}": GENERIC_LIMIT for base in GENERIC_BASES},
    **NAME_LIMITS,
}

SUFFIX_PATTERN = re.compile(r"[a-z][a-z0-9-]*")  # ASCII only; used with fullmatch (no "$" + newline loophole)
MAX_SUFFIX_LENGTH = min(limit - len(t.replace("{s}", "")) for t, (limit, _) in TEMPLATES.items())
_TIGHTEST = min(TEMPLATES, key=lambda t: TEMPLATES[t][0] - len(t.replace("{s}", "")))


class InvalidSuffix(ValueError):
    pass


def validate_suffix(suffix: str) -> str:
    """Return the suffix if every derived name is valid, else raise naming the value and the rule."""
    if not SUFFIX_PATTERN.fullmatch(suffix or ""):
        rule = "lowercase letters, digits and hyphens, starting with a letter"
    elif suffix.endswith("-") or "--" in suffix:
        rule = "no trailing hyphen and no two hyphens in a row (RDS and ElastiCache identifiers)"
    elif len(suffix) > MAX_SUFFIX_LENGTH:
        limit, owner = TEMPLATES[_TIGHTEST]
        rule = (
            f"at most {MAX_SUFFIX_LENGTH} characters, so that '{_TIGHTEST.format(s=suffix)}' "
            f"fits the {limit}-character {owner} limit"
        )
    else:
        return suffix
    raise InvalidSuffix(f"invalid environment suffix {suffix!r}: {rule}")


@dataclass(frozen=True)
class Collision:
    name: str
    template: str  # ours
    other_suffix: str
    other_template: str  # theirs

    def describe(self) -> str:
        return f"derives {self.name!r} from {self.template!r}, which is {self.other_suffix}'s {self.other_template!r}"


def collisions(suffix: str, others: Iterable[str]) -> list[Collision]:
    """Every name `suffix` derives that another environment's suffix derives too (from a different template)."""
    mine = Names(suffix).all()
    found = []
    for other in others:
        if other == suffix:
            continue
        theirs = Names(other).all()
        found += [Collision(name, mine[name], other, theirs[name]) for name in sorted(mine.keys() & theirs.keys())]
    return found


def account_collisions(suffix: str, region: str) -> list[Collision]:
    """Every name `suffix` derives that the account stack of `region` uses too."""
    mine, theirs = Names(suffix).all(), AccountNames(region).all()
    return [
        Collision(name, mine[name], "the account stack", theirs[name]) for name in sorted(mine.keys() & theirs.keys())
    ]


# The account stack's names with a service limit; `{r}` is its region: IAM names are global to the account, and a
# second account stack (another region of the same account) must not take the first one's role.
ACCOUNT_NAME_LIMITS: dict[str, tuple[int, str]] = {
    "apigw-cloudwatch-{r}": (64, "IAM role name"),
}


@dataclass(frozen=True)
class AccountNames:
    """Names of the account stack of one region (`region` must be in config/regions.py)."""

    region: str

    def all(self) -> dict[str, str]:
        """Every name of the account stack that an environment's template could spell -> its template."""
        return {self.stack: "video-pipeline-{s}", **{t.format(r=self.region): t for t in ACCOUNT_NAME_LIMITS}}

    @property
    def stack(self) -> str:
        return Names(ACCOUNT).stack

    @property
    def state_key(self) -> str:
        return Names(ACCOUNT).state_key

    def state_bucket(self, account_id: str) -> str:
        """The default state bucket: S3 bucket names are global, so the account and region make it ours."""
        return f"{PROJECT}-tfstate-{account_id}-{self.region}"

    def role(self, purpose: str) -> str:
        template = f"{purpose}-{{r}}"
        if template not in ACCOUNT_NAME_LIMITS:
            raise KeyError(f"IAM role purpose {purpose!r} is not in ACCOUNT_NAME_LIMITS")
        return template.format(r=self.region)


@dataclass(frozen=True)
class Names:
    """Names for one environment; `suffix` must have passed validate_suffix."""

    suffix: str
    adhoc: bool = False

    def _n(self, template: str) -> str:
        return template.format(s=self.suffix)

    def all(self) -> dict[str, str]:
        """Every name this environment can derive -> its template."""
        return {self._n(template): template for template in TEMPLATES}

    @property
    def stack(self) -> str:
        return self._n("video-pipeline-{s}")

    @property
    def state_key(self) -> str:
        prefix = ADHOC_STATE_PREFIX if self.adhoc else f"{PROJECT}/"
        return f"{prefix}{self.suffix}/terraform.tfstate"

    def __call__(self, base: str) -> str:
        """Generic `<base>-<suffix>` for names without a tight limit (log groups, SGs, topics); `base` must be in
        GENERIC_BASES, so that the collision check sees every name."""
        template = f"{base}-{{s}}"
        if template not in TEMPLATES:
            raise KeyError(f"name base {base!r} is not in config.naming.GENERIC_BASES")
        return self._n(template)

    # Names with a tight service limit are listed in NAME_LIMITS and built through these.
    @property
    def redis(self) -> str:
        return self._n("redis-{s}")

    @property
    def redis_app_user(self) -> str:
        return self._n("redis-app-{s}")

    @property
    def redis_disabled_default_user(self) -> str:
        return self._n("redis-off-{s}")

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
