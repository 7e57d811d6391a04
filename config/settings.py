"""Typed per-environment settings, read from config/environments.toml and checked before synthesis.

Every rule raises ConfigError with the offending value's path, the value and the rule, so a broken
setting stops `main.py` before anything is written. The whole file is checked whatever `ENVIRONMENTS` selects:
rules between environments (distinct CIDRs and names, one owner of the account's singletons) need all of them.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import re
import tomllib
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from config import regions
from config.naming import Names, collisions, validate_suffix

DEFAULT_CONFIG = Path(__file__).with_name("environments.toml")
TOP_LEVEL_TABLES = ("defaults", "environments", "adhoc")
ADHOC_KEYS = ("profile", "vpc_cidr")
# `adhoc` is the ad-hoc state prefix (config.naming.ADHOC_STATE_PREFIX); an environment of that name would share it.
RESERVED_ENVIRONMENT_NAMES = ("adhoc",)
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
    manage_account_logging_role: bool

    def validate(self, path: str) -> None:
        if not re.fullmatch(r"[A-Za-z0-9_]{1,128}", self.stage_name):
            _fail(f"{path}.stage_name", self.stage_name, "must be 1-128 letters, digits or underscores")
        _check_range(f"{path}.throttle_rate_limit", self.throttle_rate_limit, 1, 10000)
        _check_range(f"{path}.throttle_burst_limit", self.throttle_burst_limit, self.throttle_rate_limit, 5000)


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
    account_id: str | None = None  # the provider refuses any other account (allowed_account_ids)
    deploy_role_arn: str | None = None  # the provider assumes it (in account_id) for every call
    adhoc: bool = False  # built from ENVIRONMENT_SUFFIX on a profile; set by the loader
    names: Names = field(init=False)

    # Set by the loader, never by the file.
    DERIVED: typing.ClassVar[tuple[str, ...]] = ("name", "suffix", "adhoc")

    def __post_init__(self) -> None:
        object.__setattr__(self, "names", Names(self.suffix, self.adhoc))

    @property
    def is_prod(self) -> bool:
        return self.name == PROD

    @property
    def path(self) -> str:
        return settings_path(self.suffix, self.adhoc)

    def validate(self) -> None:
        path = self.path
        validate_suffix(self.suffix)
        for region_field in ("region", "state_region"):
            value = getattr(self, region_field)
            if value not in regions.AZ_COUNTS:
                _fail(
                    f"{path}.{region_field}",
                    value,
                    "must be an AWS region listed in config/regions.py (e.g. ap-northeast-1)",
                )
        check_bucket_name(f"{path}.state_bucket", self.state_bucket)
        _check_retention(f"{path}.log_retention_days", self.log_retention_days)
        self._validate_account(path)
        self.network.validate(f"{path}.network", self.region)
        for section in ("database", "cache", "storage", "secrets", "compute", "notifications", "api"):
            getattr(self, section).validate(f"{path}.{section}")
        if self.is_prod or self.protect_stateful:
            self._validate_protected(path)

    def _validate_account(self, path: str) -> None:
        if self.account_id is not None and not re.fullmatch(r"[0-9]{12}", self.account_id):
            _fail(f"{path}.account_id", self.account_id, "must be a 12-digit AWS account id (a string)")
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
        if self.account_id is None or match.group(2) != self.account_id:
            _fail(
                f"{path}.deploy_role_arn",
                self.deploy_role_arn,
                f"must be a role in account_id ({self.account_id or 'not set'}); pin account_id with it",
            )

    def _validate_protected(self, path: str) -> None:
        """Prod, and any environment with protect_stateful, keeps every protection of its data."""
        why = "must stay on in prod and wherever protect_stateful is on"
        required = {
            "protect_stateful": self.protect_stateful,
            "database.deletion_protection": self.database.deletion_protection,
            "database.final_snapshot": self.database.final_snapshot,
            "storage.backups": self.storage.backups,
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
        if name in RESERVED_ENVIRONMENT_NAMES:
            _fail(
                f"environments.{name}",
                name,
                f"is a reserved name ({', '.join(RESERVED_ENVIRONMENT_NAMES)}: the ad-hoc state prefix)",
            )


def _environment(
    document: Mapping[str, typing.Any],
    profile: str,
    suffix: str,
    overrides: Mapping[str, str],
    *,
    extra: dict[str, typing.Any] | None = None,
    adhoc: bool = False,
) -> EnvironmentSettings:
    table = _merge(document.get("defaults", {}), document["environments"][profile])
    table = _merge({**table, **overrides}, extra or {})
    # A dataclass's table converts to a dict.
    values = typing.cast(
        "dict[str, typing.Any]",
        _convert(settings_path(suffix, adhoc), table, EnvironmentSettings, derived=EnvironmentSettings.DERIVED),
    )
    settings: EnvironmentSettings = _build(
        EnvironmentSettings, {**values, "name": profile, "suffix": suffix, "adhoc": adhoc}
    )
    settings.validate()
    return settings


def _adhoc(
    document: Mapping[str, typing.Any], suffix: str, declared: list[EnvironmentSettings], overrides: Mapping[str, str]
) -> EnvironmentSettings:
    validate_suffix(suffix)
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
    if suffix in by_name:
        _fail(
            "ENVIRONMENT_SUFFIX",
            suffix,
            f"must differ from every environment in the settings file ({', '.join(by_name)})",
        )
    for collision in collisions(suffix, by_name):
        _fail("ENVIRONMENT_SUFFIX", suffix, f"{collision.describe()}; choose a suffix whose names cannot collide")
    extra: dict[str, typing.Any] = {"api": {"manage_account_logging_role": False}}  # account singletons stay put
    if "vpc_cidr" in adhoc:
        extra["network"] = {"vpc_cidr": adhoc["vpc_cidr"]}
    return _environment(document, profile, suffix, overrides, extra=extra, adhoc=True)


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
    """ENVIRONMENTS: unset means every environment of the file; set, a comma list, which may be empty (then only the
    ad-hoc stack of ENVIRONMENT_SUFFIX is built)."""
    if value is None:
        return None
    names = [n.strip() for n in value.split(",") if n.strip()]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        _fail("ENVIRONMENTS", value, f"names {duplicates[0]!r} twice")
    return names


def load_environments(
    selected: Sequence[str] | None = None,
    adhoc_suffix: str | None = None,
    config_path: Path | None = None,
    environ: Mapping[str, str] = os.environ,
) -> list[EnvironmentSettings]:
    """Read and validate every environment of the settings file, then return the selected ones (all by default) and
    the ad-hoc one."""
    path = Path(config_path or environ.get("VP_CONFIG") or DEFAULT_CONFIG)
    return from_document(read_document(path), path, selected, adhoc_suffix, environ)


def from_document(
    document: Mapping[str, typing.Any],
    source: object,
    selected: Sequence[str] | None = None,
    adhoc_suffix: str | None = None,
    environ: Mapping[str, str] = os.environ,
) -> list[EnvironmentSettings]:
    check_shape(document, source)
    overrides = state_overrides(environ)
    declared = [_environment(document, name, name, overrides) for name in document["environments"]]
    _check_across(declared)
    by_name = {env.name: env for env in declared}
    chosen = list(declared) if selected is None else []
    for name in selected or ():
        if name not in by_name:
            _fail("environment", name, f"unknown environment; known: {', '.join(by_name)}")
        chosen.append(by_name[name])
    if adhoc_suffix is not None:
        adhoc = _adhoc(document, adhoc_suffix, declared, overrides)
        _check_distinct_cidrs([*declared, adhoc])
        chosen.append(adhoc)
    if not chosen:
        _fail(
            "ENVIRONMENTS",
            ",".join(selected or ()),
            "selects no environment; leave it unset for every environment or set ENVIRONMENT_SUFFIX",
        )
    return chosen


def _check_across(environments: list[EnvironmentSettings]) -> None:
    _check_distinct_cidrs(environments)
    for env in environments:
        for collision in collisions(env.suffix, [other.suffix for other in environments]):
            _fail(env.path, env.suffix, collision.describe())
    # aws_api_gateway_account exists once per account and region: one environment manages it there.
    owners: dict[tuple[str, str], str] = {}
    for env in environments:
        if not env.api.manage_account_logging_role:
            continue
        key = (env.account_id or "", env.region)  # environments without account_id may share an account
        if key in owners:
            account = f"account {env.account_id}" if env.account_id else "the same account (no account_id pinned)"
            _fail(
                f"{env.path}.api.manage_account_logging_role",
                True,
                f"{owners[key]} already manages the account-wide API Gateway logging role in {account}, "
                f"{env.region}; only one environment per account and region may",
            )
        owners[key] = env.suffix


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
