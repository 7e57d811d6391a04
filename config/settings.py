"""Typed per-environment settings, read from config/environments.toml and checked before synthesis.

Every rule raises ConfigError with the offending value's path, the value and the rule, so a broken
setting stops `main.py` before anything is written. The whole file is checked whatever `ENVIRONMENTS` selects:
rules between environments (distinct CIDRs and names) and against the `[account]` table need all of them.

`[account]` describes the account stack (stacks/account_stack.py: the state bucket and its KMS key, API Gateway's
CloudWatch logging role) and is where environments take their defaults for `account_id` and the state backend.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import ipaddress
import os
import re
import tomllib
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from config import regions
from config.naming import (
    ACCOUNT,
    ADHOC_STATE_PREFIX,
    STATE_KEY_ALIAS,
    AccountNames,
    Names,
    account_collisions,
    collisions,
    validate_suffix,
)

DEFAULT_CONFIG = Path(__file__).with_name("environments.toml")
TOP_LEVEL_TABLES = ("account", "defaults", "environments", "adhoc")
ADHOC_KEYS = ("profile", "vpc_cidr", "ttl_days")
ADHOC_TTL_DAYS = 7  # [adhoc] ttl_days when the file does not say: a pull request's stack lives a week after its deploy
# EXPIRES_AT (the ad-hoc stack's ExpiresAt tag): a UTC date, or a UTC time to the second.
_EXPIRES_AT = re.compile(r"([0-9]{4}-[0-9]{2}-[0-9]{2})(T([0-9]{2}:[0-9]{2}:[0-9]{2})Z)?")
# Names no environment and no ad-hoc suffix may take, and what an environment of that name would share.
RESERVED_ENVIRONMENT_NAMES = {
    "adhoc": f"the ad-hoc state prefix {ADHOC_STATE_PREFIX}",
    ACCOUNT: f"the account stack {AccountNames('').stack} and its state key {AccountNames('').state_key}",
}
PROD = "prod"
LOG_RETENTION_DAYS = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)
PRIVATE_RANGES = tuple(ipaddress.IPv4Network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_CLOCK = r"([01][0-9]|2[0-3]):([0-5][0-9])"  # 00:00-23:59, ASCII digits only


def settings_path(suffix: str, adhoc: bool) -> str:
    """Where an environment's settings come from, for messages: the ad-hoc stack's own values are in [adhoc]."""
    return "adhoc" if adhoc else f"environments.{suffix}"


class ConfigError(ValueError):
    """A setting or input that breaks a rule; the message names the value and the rule."""


def _fail(path: str, value: object, rule: str) -> typing.NoReturn:
    raise ConfigError(f"{path} = {value!r}: {rule}")


def state_key_alias_arn(region: str, account_id: str) -> str:
    """The state key's alias ARN (the S3 backend's `kms_key_id`; a backend takes no expressions, so it is built)."""
    return f"arn:{regions.partition(region)}:kms:{region}:{account_id}:{STATE_KEY_ALIAS}"


def _check_account_id(path: str, account_id: str) -> None:
    if not re.fullmatch(r"[0-9]{12}", account_id):
        _fail(path, account_id, "must be a 12-digit AWS account id (a string)")


def _check_region(path: str, region: str) -> None:
    if region not in regions.AZ_COUNTS:
        _fail(path, region, "must be an AWS region listed in config/regions.py (e.g. ap-northeast-1)")


def _check_retention(path: str, days: int) -> None:
    if days not in LOG_RETENTION_DAYS:
        _fail(path, days, f"must be one of CloudWatch's retention values {LOG_RETENTION_DAYS}")


def _check_range(path: str, value: int, low: int, high: int) -> None:
    if not low <= value <= high:
        _fail(path, value, f"must be between {low} and {high}")


def check_bucket_name(path: str, name: str) -> None:
    """S3's bucket naming rules, and no dots: Terraform's S3 backend uses virtual-hosted-style HTTPS, whose wildcard
    certificate cannot cover a bucket name with dots."""
    rules = [
        (3 <= len(name) <= 63, "must be 3 to 63 characters long"),
        (re.fullmatch(r"[a-z0-9.-]+", name) is not None, "may hold only lowercase letters, digits, dots and hyphens"),
        (re.fullmatch(r"[a-z0-9](.*[a-z0-9])?", name) is not None, "must begin and end with a letter or digit"),
        (".." not in name, "must not contain two adjacent dots"),
        (re.fullmatch(r"[0-9]+(\.[0-9]+){3}", name) is None, "must not be formatted as an IP address"),
        (
            not name.startswith(("xn--", "sthree-", "amzn-s3-demo-")),
            "must not start with xn--, sthree- or amzn-s3-demo-",
        ),
        (
            not name.endswith(("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")),
            "must not end with a suffix S3 reserves (-s3alias, --ol-s3, .mrap, --x-s3, --table-s3)",
        ),
        ("." not in name, "must not contain dots (the S3 backend's HTTPS certificate cannot cover them)"),
    ]
    for ok, rule in rules:
        if not ok:
            _fail(path, name, f"S3 bucket name {rule}")


def _minutes(day: int, hour: str, minute: str) -> int:
    return day * 1440 + int(hour) * 60 + int(minute)


def _window_minutes(start: int, end: int, period: int) -> set[int]:
    """Minutes of the week covered by [start, end) on a clock of `period` minutes (it may wrap)."""
    length = (end - start) % period
    return {(start + i) % period for i in range(length)}


def _weekly_window(path: str, text: str) -> tuple[set[int], int]:
    match = re.fullmatch(rf"({'|'.join(DAYS)}):{_CLOCK}-({'|'.join(DAYS)}):{_CLOCK}", text)
    if not match:
        _fail(path, text, "must look like sun:17:00-sun:18:00 (UTC; days mon-sun, hours 00-23)")
    d1, h1, m1, d2, h2, m2 = match.groups()
    start, end = _minutes(DAYS.index(d1), h1, m1), _minutes(DAYS.index(d2), h2, m2)
    minutes = _window_minutes(start, end, 7 * 1440)
    return minutes, len(minutes)


def _daily_window(path: str, text: str) -> tuple[set[int], int]:
    match = re.fullmatch(f"{_CLOCK}-{_CLOCK}", text)
    if not match:
        _fail(path, text, "must look like 15:00-16:00 (UTC; hours 00-23)")
    h1, m1, h2, m2 = match.groups()
    daily = _window_minutes(_minutes(0, h1, m1), _minutes(0, h2, m2), 1440)
    return {day * 1440 + minute for day in range(7) for minute in daily}, len(daily)


@dataclass(frozen=True)
class NetworkSettings:
    vpc_cidr: str
    az_count: int
    nat_gateway_count: int

    def validate(self, path: str, region: str) -> None:
        net = check_vpc_cidr(f"{path}.vpc_cidr", self.vpc_cidr)
        zones = regions.AZ_COUNTS[region]
        if not 2 <= self.az_count <= zones:
            _fail(
                f"{path}.az_count",
                self.az_count,
                f"must be between 2 (Multi-AZ database, cache and NAT) and {zones} (the zones {region} offers)",
            )
        if 3 * self.az_count > 2 ** (24 - net.prefixlen):
            _fail(
                f"{path}.az_count",
                self.az_count,
                f"needs {3 * self.az_count} /24 subnets, more than {self.vpc_cidr} holds",
            )
        _check_range(f"{path}.nat_gateway_count", self.nat_gateway_count, 1, self.az_count)


def check_vpc_cidr(path: str, cidr: str) -> ipaddress.IPv4Network:
    try:
        net = ipaddress.ip_network(cidr)
    except ValueError:
        _fail(path, cidr, "must be an IPv4 CIDR block with no host bits set, such as 10.0.0.0/16")
    if not isinstance(net, ipaddress.IPv4Network) or not 16 <= net.prefixlen <= 20:
        _fail(path, cidr, "must be an IPv4 block from /16 to /20 (it holds 3 x az_count /24 subnets)")
    if not any(net.subnet_of(private) for private in PRIVATE_RANGES):
        _fail(path, cidr, "must be a private (RFC 1918) range inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16")
    return net


@dataclass(frozen=True)
class DatabaseSettings:
    engine_version: str
    instance_class: str
    allocated_storage_gb: int
    multi_az: bool
    backup_retention_days: int
    deletion_protection: bool
    final_snapshot: bool
    performance_insights: bool
    monitoring_interval_seconds: int
    log_exports: tuple[str, ...]

    def validate(self, path: str) -> None:
        if self.engine_version != "15":
            _fail(
                f"{path}.engine_version",
                self.engine_version,
                "must be the PostgreSQL major version 15 (minor versions are AWS's to apply: a pinned minor turns "
                "every plan after an automatic upgrade into a downgrade that fails)",
            )
        if not re.fullmatch(r"db\.[a-z0-9]+\.[a-z0-9]+", self.instance_class):
            _fail(f"{path}.instance_class", self.instance_class, "must be an RDS instance class such as db.t3.medium")
        _check_range(f"{path}.allocated_storage_gb", self.allocated_storage_gb, 20, 65536)
        _check_range(f"{path}.backup_retention_days", self.backup_retention_days, 7, 35)
        if self.monitoring_interval_seconds not in (0, 1, 5, 10, 15, 30, 60):
            _fail(
                f"{path}.monitoring_interval_seconds",
                self.monitoring_interval_seconds,
                "must be one of 0 (off), 1, 5, 10, 15, 30, 60",
            )
        for item in self.log_exports:
            if item not in ("postgresql", "upgrade"):
                _fail(f"{path}.log_exports", item, "PostgreSQL exports only 'postgresql' and 'upgrade' logs")


@dataclass(frozen=True)
class CacheSettings:
    engine_version: str
    node_type: str
    num_nodes: int
    snapshot_retention_days: int
    maintenance_window: str
    snapshot_window: str

    def validate(self, path: str) -> None:
        if not re.fullmatch(r"7\.[0-9]{1,2}", self.engine_version):
            _fail(f"{path}.engine_version", self.engine_version, "must be a Redis 7 version such as 7.1")
        if not re.fullmatch(r"cache\.[a-z0-9]+\.[a-z0-9]+", self.node_type):
            _fail(f"{path}.node_type", self.node_type, "must be an ElastiCache node type such as cache.t3.micro")
        _check_range(f"{path}.num_nodes", self.num_nodes, 2, 6)  # failover needs a replica
        _check_range(f"{path}.snapshot_retention_days", self.snapshot_retention_days, 0, 35)
        # ElastiCache: each window at least 60 minutes, maintenance at most a day, and the two must not overlap.
        maintenance, maintenance_length = _weekly_window(f"{path}.maintenance_window", self.maintenance_window)
        if not 60 <= maintenance_length <= 1440:
            _fail(f"{path}.maintenance_window", self.maintenance_window, "must last from 60 minutes to 24 hours")
        snapshot, snapshot_length = _daily_window(f"{path}.snapshot_window", self.snapshot_window)
        if snapshot_length < 60:
            _fail(f"{path}.snapshot_window", self.snapshot_window, "must last at least 60 minutes")
        if maintenance & snapshot:
            _fail(
                f"{path}.snapshot_window",
                self.snapshot_window,
                f"must not overlap the maintenance window {self.maintenance_window} (ElastiCache refuses it)",
            )


@dataclass(frozen=True)
class StorageSettings:
    transition_to_ia: str
    backups: bool

    def validate(self, path: str) -> None:
        allowed = ("AFTER_1_DAY", "AFTER_7_DAYS", "AFTER_14_DAYS", "AFTER_30_DAYS", "AFTER_60_DAYS", "AFTER_90_DAYS")
        if self.transition_to_ia not in allowed:
            _fail(f"{path}.transition_to_ia", self.transition_to_ia, f"must be one of {allowed}")


@dataclass(frozen=True)
class SecretsSettings:
    recovery_window_days: int
    kms_encryption: bool

    def validate(self, path: str) -> None:
        if self.recovery_window_days != 0:
            _check_range(f"{path}.recovery_window_days", self.recovery_window_days, 7, 30)


@dataclass(frozen=True)
class ComputeSettings:
    container_image: str
    entry_point: tuple[str, ...]  # empty: the image's ENTRYPOINT
    command: tuple[str, ...]  # empty: the image's CMD
    capacity_provider: str

    def validate(self, path: str) -> None:
        if not re.fullmatch(r"[a-z0-9][a-z0-9._/:@-]{0,254}", self.container_image):
            _fail(
                f"{path}.container_image",
                self.container_image,
                "must be an image reference such as public.ecr.aws/amazonlinux/amazonlinux:2023 (lowercase, no spaces)",
            )
        if not self.entry_point and not self.command:
            # The workflow waits for the task to stop: an image's default process (a web server) never does.
            _fail(
                f"{path}.command",
                [],
                "entry_point or command must be set: the workflow waits for the job to exit, and the timeout that "
                "ends a job that never does is not catchable",
            )
        for key in ("entry_point", "command"):
            for item in getattr(self, key):
                if not item or "\x00" in item:
                    _fail(f"{path}.{key}", item, "every item must be a non-empty string without NUL characters")
        if self.capacity_provider not in ("FARGATE", "FARGATE_SPOT"):
            _fail(f"{path}.capacity_provider", self.capacity_provider, "must be FARGATE or FARGATE_SPOT")


@dataclass(frozen=True)
class NotificationSettings:
    email_subscriptions: tuple[str, ...]

    def validate(self, path: str) -> None:
        for email in self.email_subscriptions:
            if not re.fullmatch(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}", email):
                _fail(f"{path}.email_subscriptions", email, "must be an e-mail address")


@dataclass(frozen=True)
class ApiSettings:
    stage_name: str
    throttle_rate_limit: int
    throttle_burst_limit: int
    quota_per_day: int  # requests per day for the API key (usage plan)
    key_version: int  # bump to rotate the API key: a new key and its secret, in one apply (docs/RUNBOOK.md)

    def validate(self, path: str) -> None:
        if not re.fullmatch(r"[A-Za-z0-9_]{1,128}", self.stage_name):
            _fail(f"{path}.stage_name", self.stage_name, "must be 1-128 letters, digits or underscores")
        _check_range(f"{path}.throttle_rate_limit", self.throttle_rate_limit, 1, 10000)
        _check_range(f"{path}.throttle_burst_limit", self.throttle_burst_limit, self.throttle_rate_limit, 5000)
        _check_range(f"{path}.quota_per_day", self.quota_per_day, 1, 2_000_000_000)
        _check_range(f"{path}.key_version", self.key_version, 1, 1_000_000)


@dataclass(frozen=True)
class SecuritySettings:
    """Hardening that costs money; prod and protect_stateful environments must keep both on."""

    customer_managed_key: bool  # one KMS key per environment for logs, EFS, Redis, RDS, Step Functions, Lambda
    waf: bool  # a WAFv2 web ACL on the API stage (a web ACL and its rules are billed monthly)
    waf_rate_limit: int  # requests per 5 minutes from one IP address before WAF blocks it

    def validate(self, path: str) -> None:
        _check_range(f"{path}.waf_rate_limit", self.waf_rate_limit, 10, 2_000_000_000)


@dataclass(frozen=True)
class AccountSettings:
    """`[account]`: the account stack, one per account (and region). Environments default their `account_id`, state
    bucket and state region to it."""

    account_id: str  # the account stack's provider refuses any other (allowed_account_ids)
    region: str  # where the state bucket, its key and API Gateway's account settings live
    noncurrent_version_days: int  # how long a replaced state version is kept
    state_bucket: str | None = None  # default: video-pipeline-tfstate-<account_id>-<region>
    names: AccountNames = field(init=False)

    PATH: typing.ClassVar[str] = ACCOUNT

    def __post_init__(self) -> None:
        object.__setattr__(self, "names", AccountNames(self.region))

    @property
    def bucket(self) -> str:
        return self.state_bucket or self.names.state_bucket(self.account_id)

    @property
    def partition(self) -> str:
        return regions.partition(self.region)

    @property
    def state_key_alias_arn(self) -> str:
        return state_key_alias_arn(self.region, self.account_id)

    def validate(self) -> None:
        path = self.PATH
        _check_account_id(f"{path}.account_id", self.account_id)
        _check_region(f"{path}.region", self.region)
        check_bucket_name(f"{path}.state_bucket", self.bucket)
        # S3 expires noncurrent versions after 1 day at the earliest; a week leaves time to notice a bad apply.
        _check_range(f"{path}.noncurrent_version_days", self.noncurrent_version_days, 7, 3653)


@dataclass(frozen=True)
class EnvironmentSettings:
    """Everything one stack needs; `name` is the profile, `suffix` the one in every AWS name."""

    name: str
    suffix: str
    region: str
    state_bucket: str
    state_region: str
    protect_stateful: bool
    log_retention_days: int
    network: NetworkSettings
    database: DatabaseSettings
    cache: CacheSettings
    storage: StorageSettings
    secrets: SecretsSettings
    compute: ComputeSettings
    notifications: NotificationSettings
    api: ApiSettings
    security: SecuritySettings
    account_id: str  # the provider refuses any other account (allowed_account_ids); default: [account]
    deploy_role_arn: str | None = None  # the provider assumes it (in account_id) for every call
    adhoc: bool = False  # built from ENVIRONMENT_SUFFIX on a profile; set by the loader
    expires_at: str | None = None  # the ad-hoc stack's ExpiresAt tag (EXPIRES_AT); the sweeper destroys it after
    names: Names = field(init=False)

    # Set by the loader, never by the file.
    DERIVED: typing.ClassVar[tuple[str, ...]] = ("name", "suffix", "adhoc", "expires_at")

    def __post_init__(self) -> None:
        object.__setattr__(self, "names", Names(self.suffix, self.adhoc))

    @property
    def is_prod(self) -> bool:
        return self.name == PROD

    @property
    def path(self) -> str:
        return settings_path(self.suffix, self.adhoc)

    @property
    def state_key_alias_arn(self) -> str:
        """The backend's `kms_key_id`: the state key `make bootstrap` made in this environment's account, in the
        state bucket's region."""
        return state_key_alias_arn(self.state_region, self.account_id)

    def validate(self, account: AccountSettings) -> None:
        path = self.path
        validate_suffix(self.suffix)
        _check_region(f"{path}.region", self.region)
        _check_region(f"{path}.state_region", self.state_region)
        check_bucket_name(f"{path}.state_bucket", self.state_bucket)
        _check_retention(f"{path}.log_retention_days", self.log_retention_days)
        self._validate_account(path)
        self._validate_against(path, account)
        self.network.validate(f"{path}.network", self.region)
        for section in ("database", "cache", "storage", "secrets", "compute", "notifications", "api", "security"):
            getattr(self, section).validate(f"{path}.{section}")
        if self.is_prod or self.protect_stateful:
            self._validate_protected(path)

    def _validate_account(self, path: str) -> None:
        _check_account_id(f"{path}.account_id", self.account_id)
        if self.deploy_role_arn is None:
            return
        match = re.fullmatch(
            r"arn:(aws|aws-cn|aws-us-gov):iam::([0-9]{12}):role/[A-Za-z0-9+=,.@_/-]{1,512}", self.deploy_role_arn
        )
        if not match:
            _fail(
                f"{path}.deploy_role_arn",
                self.deploy_role_arn,
                "must be an IAM role ARN such as arn:aws:iam::123456789012:role/deploy",
            )
        if match.group(1) != regions.partition(self.region):
            _fail(
                f"{path}.deploy_role_arn",
                self.deploy_role_arn,
                f"must be in the {regions.partition(self.region)} partition of region {self.region}",
            )
        if match.group(2) != self.account_id:
            _fail(
                f"{path}.deploy_role_arn",
                self.deploy_role_arn,
                f"must be a role in account_id ({self.account_id}); pin account_id with it",
            )

    def _validate_against(self, path: str, account: AccountSettings) -> None:
        """What the account stack provides: in its account, the API Gateway logging role of its region only, and a
        state bucket whose policy admits no other account."""
        if self.account_id == account.account_id and self.region != account.region:
            _fail(
                f"{path}.region",
                self.region,
                f"must be account.region ({account.region}) for an environment in account {account.account_id}: "
                "the account stack sets API Gateway's CloudWatch logging role in that region only, so stage "
                "logging would fail here; pin another account_id, or bootstrap this region from another settings file",
            )
        if self.state_bucket != account.bucket:
            return
        if self.account_id != account.account_id:
            _fail(
                f"{path}.state_bucket",
                self.state_bucket,
                f"is account {account.account_id}'s state bucket, whose policy denies every other account; an "
                f"environment in account {self.account_id} keeps its state in that account: set state_bucket (or "
                "TF_STATE_BUCKET) to the bucket `make bootstrap` made there",
            )
        if self.state_region != account.region:
            _fail(
                f"{path}.state_region",
                self.state_region,
                f"must be account.region ({account.region}), where the state bucket {account.bucket} is",
            )

    def _validate_protected(self, path: str) -> None:
        """Prod, and any environment with protect_stateful, keeps every protection of its data."""
        why = "must stay on in prod and wherever protect_stateful is on"
        required = {
            "protect_stateful": self.protect_stateful,
            "database.deletion_protection": self.database.deletion_protection,
            "database.final_snapshot": self.database.final_snapshot,
            "storage.backups": self.storage.backups,
            "security.customer_managed_key": self.security.customer_managed_key,
            "security.waf": self.security.waf,
        }
        for key, value in required.items():
            if not value:
                _fail(f"{path}.{key}", value, why)
        if self.cache.snapshot_retention_days < 1:
            _fail(
                f"{path}.cache.snapshot_retention_days",
                self.cache.snapshot_retention_days,
                "must be at least 1 (daily Redis snapshots) in prod and wherever protect_stateful is on",
            )
        if self.secrets.recovery_window_days == 0:
            _fail(
                f"{path}.secrets.recovery_window_days",
                0,
                "must be 7-30 (a deleted secret stays recoverable) in prod and wherever protect_stateful is on",
            )


# --------------------------------------------------------------------------------------------------------------------
# Reading the file
# --------------------------------------------------------------------------------------------------------------------
def _optional_type(hint: object) -> type | None:
    """`X | None` -> X; anything else -> None."""
    args = typing.get_args(hint)
    if type(None) in args and len(args) == 2:
        inner: type = next(a for a in args if a is not type(None))
        return inner
    return None


def _convert(path: str, value: object, hint: typing.Any, derived: Sequence[str] = ()) -> object:
    """Check a TOML value against a field type; a dataclass's table comes back as a checked dict (see _build)."""
    if dataclasses.is_dataclass(hint):
        if not isinstance(value, dict):
            _fail(path, value, "must be a table")
        fields = {f.name: f for f in dataclasses.fields(hint) if f.init and f.name not in derived}
        unknown = sorted(set(value) - set(fields))
        if unknown:
            _fail(f"{path}.{unknown[0]}", value[unknown[0]], f"unknown setting; known: {', '.join(fields)}")
        hints = typing.get_type_hints(hint)
        required = [name for name, f in fields.items() if f.default is dataclasses.MISSING]
        missing = [name for name in required if name not in value]
        if missing:
            _fail(f"{path}.{missing[0]}", None, "required setting is missing")
        return {name: _convert(f"{path}.{name}", value[name], hints[name]) for name in fields if name in value}
    optional = _optional_type(hint)
    if optional is not None:
        return _convert(path, value, optional)
    if typing.get_origin(hint) is tuple:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            _fail(path, value, "must be a list of strings")
        return tuple(value)
    # bool is an int in Python; keep them apart so `az_count = true` is rejected.
    if not isinstance(value, hint) or (hint is int and isinstance(value, bool)):
        _fail(path, value, f"must be of type {hint.__name__}")
    return value


def _build(cls: typing.Any, values: dict[str, typing.Any]) -> typing.Any:
    """Instantiate a (nested) settings dataclass from _convert's checked dict."""
    hints = typing.get_type_hints(cls)
    return cls(**{k: _build(hints[k], v) if dataclasses.is_dataclass(hints[k]) else v for k, v in values.items()})


def _merge(base: dict[str, typing.Any], override: dict[str, typing.Any]) -> dict[str, typing.Any]:
    merged = dict(base)
    for key, value in override.items():
        merged[key] = _merge(base[key], value) if isinstance(value, dict) and isinstance(base.get(key), dict) else value
    return merged


def read_document(path: Path) -> dict[str, typing.Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(f"config file {str(path)!r}: cannot be read as UTF-8 TOML ({error})") from None


def check_shape(document: Mapping[str, typing.Any], source: object) -> None:
    """Known top-level tables, each a table, at least one environment, none with a reserved name."""
    unknown = sorted(set(document) - set(TOP_LEVEL_TABLES))
    if unknown:
        _fail(
            unknown[0],
            document[unknown[0]],
            f"unknown top-level table in {source}; known: {', '.join(TOP_LEVEL_TABLES)}",
        )
    for table in TOP_LEVEL_TABLES:
        if not isinstance(document.get(table, {}), dict):
            _fail(table, document[table], "must be a table")
    environments = document.get("environments", {})
    if not environments:
        _fail("environments", environments, f"{source} must declare at least one [environments.<name>] table")
    for name, table in environments.items():
        if not isinstance(table, dict):
            _fail(f"environments.{name}", table, "must be a table")
        _check_reserved(f"environments.{name}", name)


def _check_reserved(path: str, name: str) -> None:
    if name in RESERVED_ENVIRONMENT_NAMES:
        _fail(path, name, f"is a reserved name ({name}: {RESERVED_ENVIRONMENT_NAMES[name]})")


def _account(document: Mapping[str, typing.Any]) -> AccountSettings:
    if ACCOUNT not in document:
        _fail(
            ACCOUNT,
            None,
            "required table is missing: [account] names the AWS account (account_id) and region of the state "
            "bucket and API Gateway's logging role (see config/environments.toml)",
        )
    values = typing.cast("dict[str, typing.Any]", _convert(ACCOUNT, document[ACCOUNT], AccountSettings))
    account: AccountSettings = _build(AccountSettings, values)
    account.validate()
    return account


def _environment(
    document: Mapping[str, typing.Any],
    account: AccountSettings,
    profile: str,
    suffix: str,
    overrides: Mapping[str, str],
    *,
    extra: dict[str, typing.Any] | None = None,
    adhoc: bool = False,
    expires_at: str | None = None,
) -> EnvironmentSettings:
    # The account, state bucket and state region come from [account] unless the file or TF_STATE_* set them.
    inherited = {"account_id": account.account_id, "state_bucket": account.bucket, "state_region": account.region}
    table = _merge(_merge(inherited, document.get("defaults", {})), document["environments"][profile])
    table = _merge({**table, **overrides}, extra or {})
    # A dataclass's table converts to a dict.
    values = typing.cast(
        "dict[str, typing.Any]",
        _convert(settings_path(suffix, adhoc), table, EnvironmentSettings, derived=EnvironmentSettings.DERIVED),
    )
    settings: EnvironmentSettings = _build(
        EnvironmentSettings, {**values, "name": profile, "suffix": suffix, "adhoc": adhoc, "expires_at": expires_at}
    )
    settings.validate(account)
    return settings


def _adhoc(
    document: Mapping[str, typing.Any],
    account: AccountSettings,
    suffix: str,
    declared: list[EnvironmentSettings],
    overrides: Mapping[str, str],
    expires_at: str | None,
) -> EnvironmentSettings:
    validate_suffix(suffix)
    _check_reserved("ENVIRONMENT_SUFFIX", suffix)
    adhoc = document.get("adhoc", {})
    profile = adhoc_policy(document, declared).profile
    by_name = {env.name: env for env in declared}
    if suffix in by_name:
        _fail(
            "ENVIRONMENT_SUFFIX",
            suffix,
            f"must differ from every environment in the settings file ({', '.join(by_name)})",
        )
    for collision in [*collisions(suffix, by_name), *account_collisions(suffix, account.region)]:
        _fail("ENVIRONMENT_SUFFIX", suffix, f"{collision.describe()}; choose a suffix whose names cannot collide")
    extra: dict[str, typing.Any] = {}
    if "vpc_cidr" in adhoc:
        extra["network"] = {"vpc_cidr": adhoc["vpc_cidr"]}
    return _environment(document, account, profile, suffix, overrides, extra=extra, adhoc=True, expires_at=expires_at)


@dataclass(frozen=True)
class AdhocPolicy:
    """The [adhoc] table: the profile ad-hoc stacks are built on, and how long one lives after its deploy."""

    profile: str
    ttl_days: int


def adhoc_policy(document: Mapping[str, typing.Any], declared: list[EnvironmentSettings]) -> AdhocPolicy:
    adhoc = document.get("adhoc", {})
    unknown = sorted(set(adhoc) - set(ADHOC_KEYS))
    if unknown:
        _fail(f"adhoc.{unknown[0]}", adhoc[unknown[0]], f"unknown setting; known: {', '.join(ADHOC_KEYS)}")
    profile = adhoc.get("profile", "dev")
    by_name = {env.name: env for env in declared}
    if not isinstance(profile, str) or profile not in by_name:
        _fail("adhoc.profile", profile, f"must name an environment of the file: {', '.join(by_name)}")
    if by_name[profile].is_prod or by_name[profile].protect_stateful:
        _fail(
            "adhoc.profile", profile, "must not be prod or a protect_stateful environment: ad-hoc stacks are destroyed"
        )
    ttl_days = adhoc.get("ttl_days", ADHOC_TTL_DAYS)
    if not isinstance(ttl_days, int) or isinstance(ttl_days, bool):
        _fail("adhoc.ttl_days", ttl_days, "must be a whole number of days")
    _check_range("adhoc.ttl_days", ttl_days, 1, 90)
    return AdhocPolicy(profile, ttl_days)


def parse_expires_at(value: str, name: str = "EXPIRES_AT") -> str:
    """EXPIRES_AT as the ExpiresAt tag holds it: `2026-12-01` or `2026-12-01T18:00:00Z` -> `2026-12-01T18:00:00Z`."""
    match = _EXPIRES_AT.fullmatch(value)
    try:
        if not match:
            raise ValueError
        moment = dt.datetime.fromisoformat(f"{match.group(1)}T{match.group(3) or '00:00:00'}+00:00")
    except ValueError:
        _fail(name, value, "must be a UTC date or time such as 2026-12-01 or 2026-12-01T18:00:00Z")
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def state_overrides(environ: Mapping[str, str]) -> dict[str, str]:
    """TF_STATE_BUCKET and TF_STATE_REGION, checked here so the message names the variable, not a setting."""
    overrides = {}
    if environ.get("TF_STATE_BUCKET"):
        check_bucket_name("TF_STATE_BUCKET", environ["TF_STATE_BUCKET"])
        overrides["state_bucket"] = environ["TF_STATE_BUCKET"]
    if environ.get("TF_STATE_REGION"):
        if environ["TF_STATE_REGION"] not in regions.AZ_COUNTS:
            _fail("TF_STATE_REGION", environ["TF_STATE_REGION"], "must be an AWS region listed in config/regions.py")
        overrides["state_region"] = environ["TF_STATE_REGION"]
    return overrides


def parse_selection(value: str | None) -> list[str] | None:
    """ENVIRONMENTS: unset means every environment of the file and the account stack; set, a comma list of
    environments and `account` (the account stack), which may be empty (then only the ad-hoc stack of
    ENVIRONMENT_SUFFIX is built)."""
    if value is None:
        return None
    names = [n.strip() for n in value.split(",") if n.strip()]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        _fail("ENVIRONMENTS", value, f"names {duplicates[0]!r} twice")
    return names


@dataclass(frozen=True)
class Selection:
    """What one synth builds: the account stack if `with_account`, and environment stacks (the ad-hoc one last)."""

    account: AccountSettings  # the [account] table, selected or not
    with_account: bool
    environments: list[EnvironmentSettings]
    adhoc: AdhocPolicy


def load_selection(
    selected: Sequence[str] | None = None,
    adhoc_suffix: str | None = None,
    config_path: Path | None = None,
    environ: Mapping[str, str] = os.environ,
) -> Selection:
    """Read and validate the whole settings file, then select: everything by default (the account stack and every
    environment), else the named ones (`account` names the account stack), and the ad-hoc stack."""
    path = Path(config_path or environ.get("VP_CONFIG") or DEFAULT_CONFIG)
    return select(read_document(path), path, selected, adhoc_suffix, environ)


def load_environments(
    selected: Sequence[str] | None = None,
    adhoc_suffix: str | None = None,
    config_path: Path | None = None,
    environ: Mapping[str, str] = os.environ,
) -> list[EnvironmentSettings]:
    """The selected environments (all by default) and the ad-hoc one; see load_selection."""
    return load_selection(selected, adhoc_suffix, config_path, environ).environments


def load_account(config_path: Path | None = None, environ: Mapping[str, str] = os.environ) -> AccountSettings:
    """The account stack's settings, once the whole file passed every rule."""
    return load_selection([ACCOUNT], None, config_path, environ).account


def from_document(
    document: Mapping[str, typing.Any],
    source: object,
    selected: Sequence[str] | None = None,
    adhoc_suffix: str | None = None,
    environ: Mapping[str, str] = os.environ,
) -> list[EnvironmentSettings]:
    return select(document, source, selected, adhoc_suffix, environ).environments


def select(
    document: Mapping[str, typing.Any],
    source: object,
    selected: Sequence[str] | None = None,
    adhoc_suffix: str | None = None,
    environ: Mapping[str, str] = os.environ,
) -> Selection:
    check_shape(document, source)
    account = _account(document)
    overrides = state_overrides(environ)
    declared = [_environment(document, account, name, name, overrides) for name in document["environments"]]
    _check_across(declared, account)
    by_name = {env.name: env for env in declared}
    chosen = list(declared) if selected is None else []
    for name in selected or ():
        if name == ACCOUNT:
            continue
        if name not in by_name:
            _fail(
                "environment",
                name,
                f"unknown environment; known: {', '.join(by_name)} and {ACCOUNT} (the account stack)",
            )
        chosen.append(by_name[name])
    expires_at = environ.get("EXPIRES_AT") or None
    if expires_at is not None and adhoc_suffix is None:
        _fail("EXPIRES_AT", expires_at, "applies to the ad-hoc stack only: set ENVIRONMENT_SUFFIX too, or unset it")
    if adhoc_suffix is not None:
        adhoc = _adhoc(
            document, account, adhoc_suffix, declared, overrides, parse_expires_at(expires_at) if expires_at else None
        )
        _check_distinct_cidrs([*declared, adhoc])
        chosen.append(adhoc)
    with_account = selected is None or ACCOUNT in selected
    if not chosen and not with_account:
        _fail(
            "ENVIRONMENTS",
            ",".join(selected or ()),
            "selects no environment; leave it unset for every environment or set ENVIRONMENT_SUFFIX",
        )
    return Selection(account, with_account, chosen, adhoc_policy(document, declared))


def _check_across(environments: list[EnvironmentSettings], account: AccountSettings) -> None:
    _check_distinct_cidrs(environments)
    for env in environments:
        for collision in [
            *collisions(env.suffix, [other.suffix for other in environments]),
            *account_collisions(env.suffix, account.region),
        ]:
            _fail(env.path, env.suffix, collision.describe())


def _check_distinct_cidrs(environments: list[EnvironmentSettings]) -> None:
    seen: list[tuple[str, ipaddress.IPv4Network | ipaddress.IPv6Network]] = []
    for env in environments:
        network = ipaddress.ip_network(env.network.vpc_cidr)
        for other, other_network in seen:
            if network.overlaps(other_network):
                _fail(
                    f"{env.path}.network.vpc_cidr",
                    env.network.vpc_cidr,
                    f"overlaps {other}'s {other_network}; VPC CIDRs must be distinct per environment",
                )
        seen.append((env.suffix, network))
