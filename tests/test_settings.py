"""Settings and naming rules, without synthesizing anything."""

import contextlib
import copy
import datetime as dt
import tomllib
from pathlib import Path

import pytest

from config import regions
from config.naming import (
    ACCOUNT_NAME_LIMITS,
    MAX_SUFFIX_LENGTH,
    NAME_LIMITS,
    TEMPLATES,
    AccountNames,
    InvalidSuffix,
    Names,
    account_collisions,
    collisions,
    validate_suffix,
)
from config.settings import (
    DEFAULT_CONFIG,
    ConfigError,
    check_bucket_name,
    from_document,
    load_account,
    load_environments,
    parse_selection,
    select,
)

DOCUMENT = tomllib.loads(DEFAULT_CONFIG.read_text())


def load(document=None, selected=None, adhoc=None, environ=None):
    return from_document(document if document is not None else DOCUMENT, "test.toml", selected, adhoc, environ or {})


def changed(path: str, value: object) -> dict:
    """The default document with one dotted key set (`environments.prod.database.final_snapshot`)."""
    document = copy.deepcopy(DOCUMENT)
    *parents, key = path.split(".")
    table = document
    for part in parents:
        table = table.setdefault(part, {})
    table[key] = value
    return document


def fails(document=None, message="", **kwargs) -> str:
    with pytest.raises((ConfigError, InvalidSuffix)) as error:
        load(document, **kwargs)
    assert message in str(error.value), str(error.value)
    return str(error.value)


# --------------------------------------------------------------------------------------------------------------------
# The committed settings
# --------------------------------------------------------------------------------------------------------------------
def test_named_environments_and_their_differences():
    envs = {e.suffix: e for e in load_environments(environ={})}
    assert list(envs) == ["dev", "staging", "prod"]
    assert {e.network.vpc_cidr for e in envs.values()} == {"10.0.0.0/16", "10.1.0.0/16", "10.2.0.0/16"}
    assert [envs[s].network.nat_gateway_count for s in envs] == [1, 2, 2]
    assert all(e.region == "ap-northeast-1" and e.network.az_count == 2 for e in envs.values())


def test_adhoc_suffix_uses_dev_profile_with_own_cidr_and_state_prefix():
    [adhoc] = load(selected=[], adhoc="pr123")
    [dev] = load(selected=["dev"])
    assert (adhoc.name, adhoc.suffix, adhoc.adhoc, adhoc.network.vpc_cidr) == ("dev", "pr123", True, "10.100.0.0/16")
    assert adhoc.database == dev.database and adhoc.cache == dev.cache and adhoc.compute == dev.compute
    assert adhoc.names.state_key == "video-pipeline/adhoc/pr123/terraform.tfstate"
    assert dev.names.state_key == "video-pipeline/dev/terraform.tfstate"


def test_state_bucket_overridable_by_environment():
    [dev] = load(selected=["dev"], environ={"TF_STATE_BUCKET": "my-bucket", "TF_STATE_REGION": "eu-west-1"})
    assert (dev.state_bucket, dev.state_region) == ("my-bucket", "eu-west-1")
    # The state key follows the bucket's region, in the environment's account.
    assert dev.state_key_alias_arn == "arn:aws:kms:eu-west-1:123456789012:alias/video-pipeline-tfstate"


# --------------------------------------------------------------------------------------------------------------------
# [account]: the account stack, and the defaults it gives every environment
# --------------------------------------------------------------------------------------------------------------------
def test_account_table_and_what_environments_take_from_it():
    account = select(DOCUMENT, "test.toml", environ={}).account
    assert (account.account_id, account.region, account.noncurrent_version_days) == (
        "123456789012",
        "ap-northeast-1",
        90,
    )
    # S3 names are global: the default bucket carries the account and the region.
    assert account.bucket == "video-pipeline-tfstate-123456789012-ap-northeast-1"
    assert account.state_key_alias_arn == "arn:aws:kms:ap-northeast-1:123456789012:alias/video-pipeline-tfstate"
    assert (account.names.stack, account.names.state_key) == (
        "video-pipeline-account",
        "video-pipeline/account/terraform.tfstate",
    )
    for env in load(adhoc="pr1"):
        assert (env.account_id, env.state_bucket, env.state_region) == (
            "123456789012",
            "video-pipeline-tfstate-123456789012-ap-northeast-1",
            "ap-northeast-1",
        )
        assert env.state_key_alias_arn == account.state_key_alias_arn
    assert load_account(environ={}) == account


def test_partition_and_region_reach_the_state_key_arn():
    document = changed("account.region", "cn-north-1")
    for env in ("dev", "staging", "prod"):
        document["environments"][env]["region"] = "cn-north-1"
    account = select(document, "test.toml", environ={}).account
    assert account.state_key_alias_arn == "arn:aws-cn:kms:cn-north-1:123456789012:alias/video-pipeline-tfstate"
    assert account.bucket == "video-pipeline-tfstate-123456789012-cn-north-1"


def test_an_explicit_account_bucket_is_every_environments_default():
    document = changed("account.state_bucket", "acme-terraform-state")
    assert select(document, "test.toml", environ={}).account.bucket == "acme-terraform-state"
    assert {env.state_bucket for env in load(document)} == {"acme-terraform-state"}


def test_state_bucket_precedence_variable_then_environment_then_account():
    document = changed("environments.staging.state_bucket", "staging-state")
    dev, staging = load(document, selected=["dev", "staging"])
    assert (dev.state_bucket, staging.state_bucket) == (
        "video-pipeline-tfstate-123456789012-ap-northeast-1",
        "staging-state",
    )
    environ = {"TF_STATE_BUCKET": "override-state"}
    assert {env.state_bucket for env in load(document, environ=environ)} == {"override-state"}
    # TF_STATE_* never move the account stack's own state: it lives in the bucket it creates.
    assert select(document, "test.toml", environ=environ).account.bucket.startswith("video-pipeline-tfstate-")


def test_every_account_name_fits_its_limit_in_every_region():
    for region in regions.AZ_COUNTS:
        for template, (limit, _) in ACCOUNT_NAME_LIMITS.items():
            assert len(template.format(r=region)) <= limit
        check_bucket_name("account.state_bucket", AccountNames(region).state_bucket("123456789012"))


@pytest.mark.parametrize(
    "key, value, message",
    [
        ("account.account_id", "12345678901", "account.account_id = '12345678901': must be a 12-digit AWS account id"),
        ("account.account_id", 123456789012, "account.account_id = 123456789012: must be of type str"),
        ("account.region", "mars-north-1", "account.region = 'mars-north-1': must be an AWS region listed"),
        ("account.state_bucket", "my.state", "account.state_bucket = 'my.state': S3 bucket name must not contain dots"),
        ("account.noncurrent_version_days", 3, "account.noncurrent_version_days = 3: must be between 7 and 3653"),
        ("account.noncurrent_version_days", "90", "account.noncurrent_version_days = '90': must be of type int"),
        (
            "account.log_retention_days",
            30,
            "account.log_retention_days = 30: unknown setting; known: account_id, region",
        ),
        # An environment in the account, but in a region where the account stack set no API Gateway logging role.
        (
            "environments.staging.region",
            "eu-west-1",
            (
                "environments.staging.region = 'eu-west-1': must be account.region (ap-northeast-1) for an "
                "environment in account 123456789012"
            ),
        ),
        # The account's bucket is in account.region; its policy refuses other accounts.
        (
            "environments.dev.state_region",
            "eu-west-1",
            "environments.dev.state_region = 'eu-west-1': must be account.region (ap-northeast-1), where the state",
        ),
        (
            "environments.dev.account_id",
            "111122223333",
            (
                "environments.dev.state_bucket = 'video-pipeline-tfstate-123456789012-ap-northeast-1': is account "
                "123456789012's state bucket, whose policy denies every other account"
            ),
        ),
        ("api.manage_account_logging_role", True, "unknown top-level table"),
        # Gone: the account stack owns the role (the error names the first environment the default reaches).
        ("defaults.api.manage_account_logging_role", True, "dev.api.manage_account_logging_role = True: unknown"),
    ],
)
def test_account_rules_name_value_and_rule(key, value, message):
    fails(changed(key, value), message, adhoc="pr1")


def test_an_environment_in_another_account_keeps_its_state_there():
    document = changed("environments.dev.account_id", "111122223333")
    document["environments"]["dev"]["state_bucket"] = "dev-account-state"
    document["environments"]["dev"]["region"] = "eu-west-1"  # another account: its own bootstrap, any region
    [dev] = load(document, selected=["dev"])
    assert (dev.account_id, dev.state_bucket, dev.region) == ("111122223333", "dev-account-state", "eu-west-1")
    assert dev.state_key_alias_arn == "arn:aws:kms:ap-northeast-1:111122223333:alias/video-pipeline-tfstate"


def test_a_settings_file_without_an_account_table_is_refused():
    document = copy.deepcopy(DOCUMENT)
    del document["account"]
    fails(document, "account = None: required table is missing: [account] names the AWS account")
    fails({**DOCUMENT, "account": 5}, "account = 5: must be a table")


@pytest.mark.parametrize(
    "variable, value, message",
    [
        ("TF_STATE_BUCKET", "Bad_Bucket", "TF_STATE_BUCKET = 'Bad_Bucket': S3 bucket name may hold only lowercase"),
        (
            "TF_STATE_BUCKET",
            "192.168.1.1",
            "TF_STATE_BUCKET = '192.168.1.1': S3 bucket name must not be formatted as an IP",
        ),
        ("TF_STATE_REGION", "mars-north-1", "TF_STATE_REGION = 'mars-north-1': must be an AWS region"),
    ],
)
def test_state_overrides_name_the_variable(variable, value, message):
    fails(message=message, environ={variable: value})


# --------------------------------------------------------------------------------------------------------------------
# ENVIRONMENTS
# --------------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "value, expected",
    [
        (None, None),  # unset: every environment
        ("", []),  # set but empty: none (only the ad-hoc stack)
        (" , ", []),
        ("dev, prod", ["dev", "prod"]),
    ],
)
def test_environments_variable(value, expected):
    assert parse_selection(value) == expected


def test_empty_selection_builds_only_the_adhoc_stack():
    assert [e.suffix for e in load(selected=[], adhoc="pr9")] == ["pr9"]


def test_empty_selection_without_adhoc_suffix_is_refused():
    fails(message="ENVIRONMENTS = '': selects no environment", selected=[])


def test_environment_named_twice_is_refused():
    with pytest.raises(ConfigError, match="ENVIRONMENTS = 'dev,dev': names 'dev' twice"):
        parse_selection("dev,dev")


def test_unknown_environment():
    fails(message="environment = 'qa': unknown environment; known: dev, staging, prod", selected=["qa"])


# --------------------------------------------------------------------------------------------------------------------
# Environments never cross
# --------------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("suffix", ["dev", "staging", "prod"])
def test_adhoc_suffix_may_not_name_a_declared_environment_whatever_is_selected(suffix):
    fails(
        message=f"ENVIRONMENT_SUFFIX = '{suffix}': must differ from every environment in the settings file",
        selected=["dev"] if suffix != "dev" else ["staging"],
        adhoc=suffix,
    )


@pytest.mark.parametrize(
    "suffix, name, other",
    [
        ("execution-dev", "ecs-task-execution-dev", "dev's 'ecs-task-execution-{s}'"),
        ("completion-prod", "video-processing-completion-prod", "prod's 'video-processing-completion-{s}'"),
        ("isolated-staging", "rds-isolated-staging", "staging's 'rds-isolated-{s}'"),
    ],
)
def test_adhoc_suffix_whose_names_collide_with_another_environment_is_refused(suffix, name, other):
    fails(message=f"ENVIRONMENT_SUFFIX = '{suffix}': derives '{name}'", selected=[], adhoc=suffix)
    fails(message=other, selected=[], adhoc=suffix)


def test_suffixes_ending_like_an_environment_without_a_collision_are_fine():
    assert [e.suffix for e in load(selected=[], adhoc="feature-dev")] == ["feature-dev"]


def test_declared_environments_whose_names_collide_are_refused():
    document = changed("environments.execution-dev", {"network": {"vpc_cidr": "10.9.0.0/16"}})
    fails(document, "derives 'ecs-task-execution-dev'")


def test_collisions_see_every_template():
    # Two suffixes collide exactly when one template plus one suffix spells another template plus the other.
    assert [c.name for c in collisions("execution-dev", ["dev"])] == ["ecs-task-execution-dev"]
    assert collisions("pr1", ["dev", "staging", "prod"]) == []
    assert len(Names("dev").all()) == len(TEMPLATES)


def test_reserved_environment_name():
    fails(changed("environments.adhoc", {}), "environments.adhoc = 'adhoc': is a reserved name")
    fails(
        changed("environments.account", {"network": {"vpc_cidr": "10.9.0.0/16"}}),
        "environments.account = 'account': is a reserved name (account: the account stack video-pipeline-account "
        "and its state key video-pipeline/account/terraform.tfstate)",
    )


@pytest.mark.parametrize("suffix", ["account", "adhoc"])
def test_reserved_names_are_no_adhoc_suffix(suffix):
    fails(message=f"ENVIRONMENT_SUFFIX = '{suffix}': is a reserved name ({suffix}: ", selected=[], adhoc=suffix)


def test_no_suffix_reaches_the_account_stacks_names():
    # The account stack's stack name and state key: only from the reserved suffix.
    assert [c.name for c in account_collisions("account", "ap-northeast-1")] == ["video-pipeline-account"]
    assert Names("account", adhoc=True).state_key != AccountNames("ap-northeast-1").state_key
    # Its IAM role: no environment template spells `apigw-cloudwatch-<region>` (the environments' role is gone).
    for region in regions.AZ_COUNTS:
        role = AccountNames(region).role("apigw-cloudwatch")
        assert not [t for t in TEMPLATES if role.startswith(t.replace("{s}", ""))], role
    # The machinery sees them: a template that could spell the role is refused through every suffix that does.
    assert account_collisions("pr1", "ap-northeast-1") == []


# --------------------------------------------------------------------------------------------------------------------
# Accounts never cross
# --------------------------------------------------------------------------------------------------------------------
def test_account_pin_and_deploy_role_are_inherited_by_adhoc():
    document = changed("environments.dev.account_id", "111122223333")
    document["environments"]["dev"]["state_bucket"] = "dev-state"
    document["environments"]["dev"]["deploy_role_arn"] = "arn:aws:iam::111122223333:role/video-pipeline-deploy"
    dev, adhoc = load(document, selected=["dev"], adhoc="pr1")
    assert (dev.account_id, adhoc.account_id) == ("111122223333", "111122223333")
    assert adhoc.deploy_role_arn == "arn:aws:iam::111122223333:role/video-pipeline-deploy"
    assert load(selected=["dev"])[0].account_id == "123456789012"  # [account]'s


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"account_id": "12345"}, "account_id = '12345': must be a 12-digit AWS account id"),
        ({"account_id": 111122223333}, "account_id = 111122223333: must be of type str"),
        ({"account_id": "١١١١٢٢٢٢٣٣٣٣"}, "must be a 12-digit AWS account id"),
        ({"deploy_role_arn": "arn:aws:iam::111122223333:role/x"}, "must be a role in account_id (123456789012)"),
        (
            {"account_id": "111122223333", "deploy_role_arn": "arn:aws:iam::999988887777:role/x"},
            "must be a role in account_id (111122223333)",
        ),
        (
            {"account_id": "111122223333", "deploy_role_arn": "arn:aws-cn:iam::111122223333:role/x"},
            "must be in the aws partition of region ap-northeast-1",
        ),
        (
            {"account_id": "111122223333", "deploy_role_arn": "arn:aws:iam::111122223333:user/x"},
            "must be an IAM role ARN",
        ),
    ],
)
def test_bad_account_settings(settings, message):
    document = copy.deepcopy(DOCUMENT)
    document["environments"]["staging"].update(settings, state_bucket="staging-state")  # another account's bucket
    fails(document, message)


# --------------------------------------------------------------------------------------------------------------------
# Prod invariants
# --------------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "key, value, message",
    [
        ("protect_stateful", False, "environments.prod.protect_stateful = False: must stay on in prod"),
        ("database.deletion_protection", False, "environments.prod.database.deletion_protection = False: must stay on"),
        ("database.final_snapshot", False, "environments.prod.database.final_snapshot = False: must stay on"),
        ("storage.backups", False, "environments.prod.storage.backups = False: must stay on"),
        ("cache.snapshot_retention_days", 0, "environments.prod.cache.snapshot_retention_days = 0: must be at least 1"),
        ("secrets.recovery_window_days", 0, "environments.prod.secrets.recovery_window_days = 0: must be 7-30"),
    ],
)
def test_prod_keeps_its_protections(key, value, message):
    fails(changed(f"environments.prod.{key}", value), message)


def test_any_protect_stateful_environment_keeps_them_too():
    fails(
        changed("environments.staging.protect_stateful", True),
        "environments.staging.database.deletion_protection = False: must stay on in prod and wherever protect_stateful",
    )


@pytest.mark.parametrize("profile", ["prod", "staging"])
def test_adhoc_profile_may_not_be_protected(profile):
    document = changed("adhoc.profile", profile)
    if profile == "staging":  # make staging a protected profile
        for key, value in (
            ("protect_stateful", True),
            ("database", {"deletion_protection": True, "final_snapshot": True}),
            ("secrets", {"recovery_window_days": 7}),
        ):
            document["environments"]["staging"][key] = (
                {**document["environments"]["staging"].get(key, {}), **value} if isinstance(value, dict) else value
            )
    fails(document, f"adhoc.profile = '{profile}': must not be prod or a protect_stateful environment", adhoc="pr1")


# --------------------------------------------------------------------------------------------------------------------
# Strict values
# --------------------------------------------------------------------------------------------------------------------
def test_max_suffix_length_comes_from_the_tightest_limit():
    assert 40 - len("redis-app-") == MAX_SUFFIX_LENGTH
    longest = "a" * MAX_SUFFIX_LENGTH
    assert validate_suffix(longest) == longest
    for template, (limit, _) in TEMPLATES.items():
        assert len(template.format(s=longest)) <= limit


@pytest.mark.parametrize(
    "suffix, rule",
    [
        ("PR123", "lowercase letters"),
        ("1abc", "starting with a letter"),
        ("pr_1", "lowercase letters"),
        ("", "lowercase letters"),
        ("pr1\n", "lowercase letters"),  # `$` would accept the final newline; fullmatch does not
        ("prö", "lowercase letters"),  # ASCII only
        ("pr١", "lowercase letters"),  # Arabic-Indic digit
        ("pr-", "no trailing hyphen"),
        ("pr--1", "no two hyphens"),
        ("a" * (MAX_SUFFIX_LENGTH + 1), "redis-"),
    ],
)
def test_bad_suffix_names_value_and_rule(suffix, rule):
    with pytest.raises(InvalidSuffix) as error:
        validate_suffix(suffix)
    assert repr(suffix) in str(error.value) and rule in str(error.value)


def test_names_carry_the_suffix():
    names = Names("pr123")
    assert (names.stack, names.redis, names.rds, names.state_key) == (
        "video-pipeline-pr123",
        "redis-pr123",
        "rds-postgresql-pr123",
        "video-pipeline/pr123/terraform.tfstate",
    )
    with pytest.raises(KeyError):
        names.role("not-in-the-table")
    with pytest.raises(KeyError, match="GENERIC_BASES"):
        names("not-registered")
    assert set(NAME_LIMITS) <= set(TEMPLATES)


@pytest.mark.parametrize(
    "key, value, message",
    [
        ("environments.staging.network.vpc_cidr", "10.0.128.0/17", "overlaps dev's 10.0.0.0/16"),
        ("defaults.network.az_count", 1, "az_count = 1: must be between 2"),
        ("defaults.network.az_count", 30, "az_count = 30: must be between 2 (Multi-AZ database, cache and NAT) and 3"),
        ("defaults.network.az_count", "two", "must be of type int"),
        ("defaults.network.az_count", True, "must be of type int"),
        ("environments.dev.network.vpc_cidr", "10.0.0.0/33", "must be an IPv4 CIDR"),
        ("environments.dev.network.vpc_cidr", "10.0.0.1/16", "no host bits set"),
        ("environments.dev.network.vpc_cidr", "8.8.0.0/16", "must be a private (RFC 1918) range"),
        ("environments.dev.network.vpc_cidr", "172.32.0.0/16", "must be a private (RFC 1918) range"),
        ("environments.dev.network.vpc_cidr", "fd00::/48", "must be an IPv4 block"),
        ("environments.prod.database.backup_retention_days", 3, "must be between 7 and 35"),
        ("environments.dev.log_retention_days", 8, "CloudWatch's retention values"),
        ("environments.dev.compute.capacity_provider", "EC2", "FARGATE or FARGATE_SPOT"),
        ("environments.dev.compute.container_image", "my image", "must be an image reference"),
        ("environments.dev.network.nat_gateway_count", 3, "between 1 and 2"),
        ("defaults.cache.nodes", 3, "unknown setting"),
        ("defaults.region", "tokyo", "must be an AWS region"),
        ("defaults.region", "ap-northeast-١", "must be an AWS region"),  # non-ASCII digit
        ("defaults.database.engine_version", "١٥", "must be the PostgreSQL major version 15"),
        ("defaults.database.engine_version", "15\n", "must be the PostgreSQL major version 15"),
        ("defaults.database.engine_version", "15.14", "minor versions are AWS's to apply"),
        ("defaults.database.instance_class", "db.t3.medium ", "must be an RDS instance class"),
        ("defaults.cache.engine_version", "7.1\n", "must be a Redis 7 version"),
        ("defaults.cache.maintenance_window", "sun:29:00-sun:30:00", "must look like sun:17:00-sun:18:00"),
        ("defaults.cache.maintenance_window", "sun:17:00-sun:17:30", "must last from 60 minutes to 24 hours"),
        ("defaults.cache.maintenance_window", "sun:17:00-tue:17:00", "must last from 60 minutes to 24 hours"),
        ("defaults.cache.snapshot_window", "25:00-26:00", "must look like 15:00-16:00"),
        ("defaults.cache.snapshot_window", "15:00-15:30", "must last at least 60 minutes"),
        (
            "defaults.cache.snapshot_window",
            "16:30-17:30",
            "must not overlap the maintenance window sun:17:00-sun:18:00",
        ),
        ("defaults.cache.snapshot_window", "23:30-00:30", None),  # wraps midnight, no overlap
        ("defaults.state_bucket", "192.168.1.1", "must not be formatted as an IP address"),
        ("defaults.state_bucket", "a..b", "must not contain two adjacent dots"),
        ("defaults.state_bucket", "my.state.bucket", "must not contain dots"),
        ("defaults.state_bucket", "ab", "must be 3 to 63 characters"),
        ("defaults.state_bucket", "-state", "must begin and end with a letter or digit"),
        ("defaults.state_bucket", "xn--state", "must not start with xn--"),
        ("defaults.state_bucket", "state-s3alias", "must not end with a suffix S3 reserves"),
        (
            "defaults.notifications.email_subscriptions",
            ["ops@example.com", "not an address"],
            "must be an e-mail address",
        ),
        ("adhoc.vpc_cidr", "8.8.0.0/16", "adhoc.network.vpc_cidr = '8.8.0.0/16': must be a private"),
        ("adhoc.vpc_cidr", "10.2.0.0/16", "adhoc.network.vpc_cidr = '10.2.0.0/16': overlaps prod's"),
        ("adhoc.size", 3, "adhoc.size = 3: unknown setting; known: profile, vpc_cidr"),
    ],
)
def test_bad_settings_name_value_and_rule(key, value, message):
    document = changed(key, value)
    if message is None:
        assert load(document, adhoc="pr1")
    else:
        fails(document, message, adhoc="pr1")


def test_windows_must_not_overlap_on_any_day():
    # The daily snapshot window meets a weekly maintenance window that crosses midnight on one day only.
    document = changed("defaults.cache.maintenance_window", "wed:23:30-thu:00:45")
    document["defaults"]["cache"]["snapshot_window"] = "00:00-01:00"
    fails(document, "snapshot_window = '00:00-01:00': must not overlap the maintenance window wed:23:30-thu:00:45")
    document["defaults"]["cache"]["snapshot_window"] = "01:00-02:00"
    assert load(document)


def test_regions_table_covers_the_name_registry():
    from config.naming import MAX_AZ_COUNT

    assert max(regions.AZ_COUNTS.values()) <= MAX_AZ_COUNT
    assert regions.partition("cn-north-1") == "aws-cn" and regions.partition("us-gov-west-1") == "aws-us-gov"


# --------------------------------------------------------------------------------------------------------------------
# The file's shape
# --------------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "document, message",
    [
        ({}, "environments = {}: test.toml must declare at least one [environments.<name>] table"),
        ({"enviroments": {"dev": {}}}, "enviroments = {'dev': {}}: unknown top-level table in test.toml"),
        ({**DOCUMENT, "defaults": 5}, "defaults = 5: must be a table"),
        ({**DOCUMENT, "environments": [1, 2]}, "environments = [1, 2]: must be a table"),
        ({**DOCUMENT, "environments": {"dev": 5}}, "environments.dev = 5: must be a table"),
        ({**DOCUMENT, "adhoc": "dev"}, "adhoc = 'dev': must be a table"),
        (changed("environments.dev.name", "prod"), "environments.dev.name = 'prod': unknown setting"),
        (changed("environments.dev.adhoc", True), "environments.dev.adhoc = True: unknown setting"),
    ],
)
def test_badly_shaped_documents(document, message):
    fails(document, message)


ODD_VALUES = [5, 1.5, True, "text", [], [1, 2], {}, {"x": 1}, dt.date(2026, 1, 1)]


def _paths(table: dict, prefix: str = ""):
    for key, value in table.items():
        yield f"{prefix}{key}"
        if isinstance(value, dict):
            yield from _paths(value, f"{prefix}{key}.")


@pytest.mark.parametrize("path", sorted(set(_paths(DOCUMENT))))
def test_any_odd_value_anywhere_is_a_config_error_never_a_traceback(path):
    """Every key of the committed file, replaced by values of every TOML type: a result or a ConfigError."""
    for value in ODD_VALUES:
        with contextlib.suppress(ConfigError, InvalidSuffix):
            load(changed(path, value), adhoc="pr1")


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "must declare at least one [environments.<name>] table"),  # VP_CONFIG=/dev/null
        (b"\x7fELF\x02\x01\x01\x00\xff\xfe", "cannot be read as UTF-8 TOML"),  # VP_CONFIG=/bin/true
        (b"[environments.dev\n", "cannot be read as UTF-8 TOML"),
    ],
)
def test_unreadable_files(tmp_path: Path, content, message):
    path = tmp_path / "settings.toml"
    path.write_bytes(content)
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace(".", r"\.")):
        load_environments(config_path=path, environ={})


def test_a_folder_is_not_a_settings_file(tmp_path):
    with pytest.raises(ConfigError, match="cannot be read as UTF-8 TOML"):
        load_environments(config_path=tmp_path, environ={})


def test_readme_environment_table_matches_the_settings():
    from config.table import environment_table

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    start, end = "<!-- environment-table:start -->\n", "\n<!-- environment-table:end -->"
    assert readme[readme.index(start) + len(start) : readme.index(end)] == environment_table()
