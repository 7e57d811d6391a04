"""Typed per-environment settings, read from config/environments.toml and checked before synthesis.

Every rule raises ConfigError with the offending value's path, the value and the rule, so a broken
setting stops `main.py` before anything is written.
"""
from __future__ import annotations

import dataclasses
import ipaddress
import os
import re
import tomllib
import typing
from dataclasses import dataclass, field
from pathlib import Path

from config.naming import Names, validate_suffix

DEFAULT_CONFIG = Path(__file__).with_name("environments.toml")
NAMED_ENVIRONMENTS = ("dev", "staging", "prod")
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)


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


@dataclass(frozen=True)
class NetworkSettings:
    vpc_cidr: str
    az_count: int
    nat_gateway_count: int

    def validate(self, path: str) -> None:
        try:
            net = ipaddress.ip_network(self.vpc_cidr)
        except ValueError:
            _fail(f"{path}.vpc_cidr", self.vpc_cidr, "must be an IPv4 CIDR block such as 10.0.0.0/16")
        if net.version != 4 or not 16 <= net.prefixlen <= 20:
            _fail(f"{path}.vpc_cidr", self.vpc_cidr, "must be an IPv4 block from /16 to /20 (it holds 3 x az_count /24 subnets)")
        if self.az_count < 2:
            _fail(f"{path}.az_count", self.az_count, "must be at least 2 (Multi-AZ database, cache and NAT)")
        if 3 * self.az_count > 2 ** (24 - net.prefixlen):
            _fail(f"{path}.az_count", self.az_count, f"needs {3 * self.az_count} /24 subnets, more than {self.vpc_cidr} holds")
        _check_range(f"{path}.nat_gateway_count", self.nat_gateway_count, 1, self.az_count)


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
        if not re.fullmatch(r"15\.\d+", self.engine_version):
            _fail(f"{path}.engine_version", self.engine_version, "must be a PostgreSQL 15 minor version such as 15.14")
        if not self.instance_class.startswith("db."):
            _fail(f"{path}.instance_class", self.instance_class, "must be an RDS instance class (db.*)")
        _check_range(f"{path}.allocated_storage_gb", self.allocated_storage_gb, 20, 65536)
        _check_range(f"{path}.backup_retention_days", self.backup_retention_days, 7, 35)
        if self.monitoring_interval_seconds not in (0, 1, 5, 10, 15, 30, 60):
            _fail(f"{path}.monitoring_interval_seconds", self.monitoring_interval_seconds, "must be one of 0 (off), 1, 5, 10, 15, 30, 60")
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
        if not re.fullmatch(r"7\.\d+", self.engine_version):
            _fail(f"{path}.engine_version", self.engine_version, "must be a Redis 7 version such as 7.1")
        if not self.node_type.startswith("cache."):
            _fail(f"{path}.node_type", self.node_type, "must be an ElastiCache node type (cache.*)")
        _check_range(f"{path}.num_nodes", self.num_nodes, 2, 6)  # failover needs a replica
        _check_range(f"{path}.snapshot_retention_days", self.snapshot_retention_days, 0, 35)
        day = r"(mon|tue|wed|thu|fri|sat|sun):[0-2]\d:[0-5]\d"
        if not re.fullmatch(f"{day}-{day}", self.maintenance_window):
            _fail(f"{path}.maintenance_window", self.maintenance_window, "must look like sun:17:00-sun:18:00 (UTC)")
        if not re.fullmatch(r"[0-2]\d:[0-5]\d-[0-2]\d:[0-5]\d", self.snapshot_window):
            _fail(f"{path}.snapshot_window", self.snapshot_window, "must look like 15:00-16:00 (UTC)")


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
    capacity_provider: str

    def validate(self, path: str) -> None:
        if not self.container_image or any(c.isspace() for c in self.container_image):
            _fail(f"{path}.container_image", self.container_image, "must be a non-empty image reference without spaces")
        if self.capacity_provider not in ("FARGATE", "FARGATE_SPOT"):
            _fail(f"{path}.capacity_provider", self.capacity_provider, "must be FARGATE or FARGATE_SPOT")


@dataclass(frozen=True)
class NotificationSettings:
    email_subscriptions: tuple[str, ...]

    def validate(self, path: str) -> None:
        for email in self.email_subscriptions:
            if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email):
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
    names: Names = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "names", Names(self.suffix))

    @property
    def is_prod(self) -> bool:
        return self.name == "prod"

    def validate(self) -> None:
        path = f"environments.{self.suffix}"
        validate_suffix(self.suffix)
        for region_field in ("region", "state_region"):
            value = getattr(self, region_field)
            if not re.fullmatch(r"[a-z]{2}(-gov)?-[a-z]+-\d", value):
                _fail(f"{path}.{region_field}", value, "must be an AWS region such as ap-northeast-1")
        if not re.fullmatch(r"(?!xn--)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", self.state_bucket):
            _fail(f"{path}.state_bucket", self.state_bucket, "must be a valid S3 bucket name (3-63 lowercase letters, digits, dots, hyphens)")
        _check_retention(f"{path}.log_retention_days", self.log_retention_days)
        for section in (self.network, self.database, self.cache, self.storage, self.secrets, self.compute, self.notifications, self.api):
            section_name = next(f.name for f in dataclasses.fields(self) if getattr(self, f.name) is section)
            section.validate(f"{path}.{section_name}")


def _convert(path: str, value: object, hint: object) -> object:
    """Check a TOML value against a dataclass field type; build nested dataclasses."""
    if dataclasses.is_dataclass(hint):
        if not isinstance(value, dict):
            _fail(path, value, "must be a table")
        known = {f.name: f for f in dataclasses.fields(hint) if f.init}
        unknown = sorted(set(value) - set(known))
        if unknown:
            _fail(f"{path}.{unknown[0]}", value[unknown[0]], f"unknown setting; known: {', '.join(known)}")
        hints = typing.get_type_hints(hint)
        missing = [name for name in known if name not in value]
        if missing:
            _fail(f"{path}.{missing[0]}", None, "required setting is missing")
        return hint(**{name: _convert(f"{path}.{name}", value[name], hints[name]) for name in known})
    if typing.get_origin(hint) is tuple:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            _fail(path, value, "must be a list of strings")
        return tuple(value)
    # bool is an int in Python; keep them apart so `az_count = true` is rejected.
    if not isinstance(value, hint) or (hint is int and isinstance(value, bool)):
        _fail(path, value, f"must be of type {hint.__name__}")
    return value


def _merge(base: dict, override: dict) -> dict:
    merged = dict(base)
    for key, value in override.items():
        merged[key] = _merge(base[key], value) if isinstance(value, dict) and isinstance(base.get(key), dict) else value
    return merged


def _environment_table(document: dict, profile: str) -> dict:
    environments = document.get("environments", {})
    if profile not in environments:
        _fail("environment", profile, f"unknown environment; known: {', '.join(environments)}")
    return _merge(document.get("defaults", {}), environments[profile])


def load_environments(
    selected: typing.Sequence[str] | None = None,
    adhoc_suffix: str | None = None,
    config_path: Path | None = None,
    environ: typing.Mapping[str, str] = os.environ,
) -> list[EnvironmentSettings]:
    """Read, build and validate the selected environments (all named ones by default)."""
    path = Path(config_path or environ.get("VP_CONFIG") or DEFAULT_CONFIG)
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(f"config file {str(path)!r}: cannot be read as TOML ({error})") from None

    names = list(selected) if selected is not None else list(document.get("environments", {}))
    tables: list[tuple[str, str, dict]] = []
    for name in names:
        tables.append((name, name, _environment_table(document, name)))
    if adhoc_suffix is not None:
        validate_suffix(adhoc_suffix)
        adhoc = dict(document.get("adhoc", {}))
        profile = adhoc.pop("profile", "dev")
        table = _environment_table(document, profile)
        table = _merge(table, {"network": {"vpc_cidr": adhoc.pop("vpc_cidr")}} if "vpc_cidr" in adhoc else {})
        if adhoc:
            _fail(f"adhoc.{next(iter(adhoc))}", next(iter(adhoc.values())), "unknown setting; known: profile, vpc_cidr")
        if adhoc_suffix in names:
            _fail("ENVIRONMENT_SUFFIX", adhoc_suffix, "must differ from the named environments being built")
        tables.append((profile, adhoc_suffix, table))

    result = []
    for profile, suffix, table in tables:
        overrides = {k: environ[v] for k, v in (("state_bucket", "TF_STATE_BUCKET"), ("state_region", "TF_STATE_REGION")) if environ.get(v)}
        table = {**table, **overrides, "name": profile, "suffix": suffix}
        settings = _convert(f"environments.{suffix}", table, EnvironmentSettings)
        settings.validate()
        result.append(settings)
    _check_distinct_cidrs(result)
    return result


def _check_distinct_cidrs(environments: list[EnvironmentSettings]) -> None:
    seen: list[tuple[str, ipaddress.IPv4Network]] = []
    for env in environments:
        network = ipaddress.ip_network(env.network.vpc_cidr)
        for other, other_network in seen:
            if network.overlaps(other_network):
                _fail(f"environments.{env.suffix}.network.vpc_cidr", env.network.vpc_cidr,
                      f"overlaps {other}'s {other_network}; VPC CIDRs must be distinct per environment")
        seen.append((env.suffix, network))
