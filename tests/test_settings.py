"""Settings and naming rules, without synthesizing anything."""
import dataclasses
from pathlib import Path

import pytest

from config.naming import MAX_SUFFIX_LENGTH, NAME_LIMITS, InvalidSuffix, Names, validate_suffix
from config.settings import DEFAULT_CONFIG, ConfigError, load_environments


def test_named_environments_and_their_differences():
    envs = {e.suffix: e for e in load_environments(environ={})}
    assert list(envs) == ["dev", "staging", "prod"]
    assert {e.network.vpc_cidr for e in envs.values()} == {"10.0.0.0/16", "10.1.0.0/16", "10.2.0.0/16"}
    assert [envs[s].network.nat_gateway_count for s in envs] == [1, 2, 2]
    assert all(e.region == "ap-northeast-1" and e.network.az_count == 2 for e in envs.values())


def test_adhoc_suffix_uses_dev_profile_with_own_cidr():
    [adhoc] = load_environments([], adhoc_suffix="pr123", environ={})
    assert (adhoc.name, adhoc.suffix, adhoc.network.vpc_cidr) == ("dev", "pr123", "10.100.0.0/16")
    dev = load_environments(["dev"], environ={})[0]
    assert dataclasses.replace(adhoc.database) == dev.database


def test_state_bucket_overridable_by_environment():
    [dev] = load_environments(["dev"], environ={"TF_STATE_BUCKET": "my-bucket", "TF_STATE_REGION": "eu-west-1"})
    assert (dev.state_bucket, dev.state_region) == ("my-bucket", "eu-west-1")


def test_max_suffix_length_comes_from_the_tightest_limit():
    assert MAX_SUFFIX_LENGTH == 40 - len("redis-")
    longest = "a" * MAX_SUFFIX_LENGTH
    assert validate_suffix(longest) == longest
    for template, (limit, _) in NAME_LIMITS.items():
        assert len(template.format(s=longest)) <= limit


@pytest.mark.parametrize("suffix, rule", [
    ("PR123", "lowercase letters"),
    ("1abc", "starting with a letter"),
    ("pr_1", "lowercase letters"),
    ("", "lowercase letters"),
    ("pr-", "no trailing hyphen"),
    ("pr--1", "no two hyphens"),
    ("a" * (MAX_SUFFIX_LENGTH + 1), "redis-"),
])
def test_bad_suffix_names_value_and_rule(suffix, rule):
    with pytest.raises(InvalidSuffix) as error:
        validate_suffix(suffix)
    assert repr(suffix) in str(error.value) and rule in str(error.value)


def test_names_carry_the_suffix():
    names = Names("pr123")
    assert (names.stack, names.redis, names.rds, names.state_key) == (
        "video-pipeline-pr123", "redis-pr123", "rds-postgresql-pr123", "video-pipeline/pr123/terraform.tfstate")
    with pytest.raises(KeyError):
        names.role("not-in-the-table")


def _broken(tmp_path: Path, old: str, new: str) -> Path:
    text = DEFAULT_CONFIG.read_text()
    assert old in text
    path = tmp_path / "environments.toml"
    path.write_text(text.replace(old, new, 1))
    return path


@pytest.mark.parametrize("old, new, message", [
    ('vpc_cidr = "10.1.0.0/16"', 'vpc_cidr = "10.0.128.0/17"', "overlaps dev's 10.0.0.0/16"),
    ("az_count = 2", "az_count = 1", "az_count = 1: must be at least 2"),
    ("az_count = 2", 'az_count = "two"', "must be of type int"),
    ('vpc_cidr = "10.0.0.0/16"', 'vpc_cidr = "10.0.0.0/33"', "must be an IPv4 CIDR"),
    ("backup_retention_days = 30", "backup_retention_days = 3", "must be between 7 and 35"),
    ("log_retention_days = 7", "log_retention_days = 8", "CloudWatch's retention values"),
    ('capacity_provider = "FARGATE_SPOT"', 'capacity_provider = "EC2"', "FARGATE or FARGATE_SPOT"),
    ("nat_gateway_count = 1", "nat_gateway_count = 3", "between 1 and 2"),
    ("[defaults.cache]", "[defaults.cache]\nnodes = 3", "unknown setting"),
    ('region = "ap-northeast-1"', 'region = "tokyo"', "must be an AWS region"),
])
def test_bad_settings_name_value_and_rule(tmp_path, old, new, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_environments(config_path=_broken(tmp_path, old, new), environ={})


def test_unknown_environment():
    with pytest.raises(ConfigError, match="environment = 'qa': unknown environment; known: dev, staging, prod"):
        load_environments(["qa"], environ={})


def test_readme_environment_table_matches_the_settings():
    from config.table import environment_table

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    start, end = "<!-- environment-table:start -->\n", "\n<!-- environment-table:end -->"
    assert readme[readme.index(start) + len(start):readme.index(end)] == environment_table()
