"""Stateful resources keep their Terraform addresses.

An address is a promise to every deployed stack: a construct id or scope that changes gives a resource a new
address, and Terraform then destroys the old one and creates an empty one (a database, a key, a log history).
Snapshots show it too, but a snapshot is easy to accept with `--snapshot-update`; this list must be edited on
purpose. To move a resource on purpose, keep its state with `resource.move_from_id("<old address>")` (or
`move_to`), which writes a `moved` block, and update `tests/stateful_addresses.json` in the same change
(`python -m tests.test_addresses` prints the current list); flag it in CHANGELOG.md."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import ACCOUNT_KEY, SUFFIXES

PINNED = Path(__file__).with_name("stateful_addresses.json")

# Resources whose replacement loses data, history, or a subscription someone confirmed.
STATEFUL = (
    "aws_db_instance",
    "aws_elasticache_replication_group",
    "aws_efs_file_system",
    "aws_secretsmanager_secret",
    "aws_kms_key",
    "aws_sfn_state_machine",
    "aws_cloudwatch_log_group",
    "aws_sns_topic",
    "aws_sqs_queue",
    "aws_s3_bucket",  # the account stack's state bucket
)


def stateful_addresses(stack: dict) -> list[str]:
    return sorted(f"{type_}.{name}" for type_ in STATEFUL for name in stack.get("resource", {}).get(type_, {}))


def moved_from(stack: dict) -> set[str]:
    return {block["from"] for block in stack.get("moved", [])}


def test_every_environment_is_pinned():
    assert sorted(json.loads(PINNED.read_text())) == sorted([*SUFFIXES, ACCOUNT_KEY])


@pytest.mark.parametrize("suffix", [*SUFFIXES, ACCOUNT_KEY])
def test_stateful_resources_keep_their_addresses(stacks, account_stack, suffix):
    stack = account_stack if suffix == ACCOUNT_KEY else stacks[suffix]
    pinned = set(json.loads(PINNED.read_text())[suffix])
    actual = set(stateful_addresses(stack))
    lost = sorted(pinned - actual - moved_from(stack))
    assert not lost, (
        f"{suffix}: these stateful resources would be destroyed and recreated empty, because their address "
        f"changed: {lost}. Keep the construct id and scope, or move the state with "
        "`move_from_id`/`move_to` (a `moved` block) and update tests/stateful_addresses.json (see this file's "
        "docstring)."
    )
    new = sorted(actual - pinned)
    assert not new, f"{suffix}: new stateful resources {new}: pin them in tests/stateful_addresses.json"


def test_a_moved_block_written_by_move_from_id_counts_as_kept():
    from cdktf import TerraformStack, Testing
    from cdktf_cdktf_provider_aws.provider import AwsProvider
    from cdktf_cdktf_provider_aws.sns_topic import SnsTopic

    from modules.context import StackContext  # noqa: F401  (first: the fast provider-bindings loader)

    stack = TerraformStack(Testing.app(), "bare")
    AwsProvider(stack, "aws", region="ap-northeast-1")
    SnsTopic(stack, "renamed", name="notices").move_from_id("aws_sns_topic.notifications_completion_8E84A537")
    synthesized = json.loads(Testing.synth(stack))
    assert moved_from(synthesized) == {"aws_sns_topic.notifications_completion_8E84A537"}
    assert stateful_addresses(synthesized) == ["aws_sns_topic.renamed"]


if __name__ == "__main__":  # print the current addresses, to update the pins deliberately
    import tempfile

    from main import synthesize
    from tests.conftest import ACCOUNT, ENVIRONMENTS  # what the tests synthesize, ad-hoc stack included

    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "cdktf.out"
        synthesize(ENVIRONMENTS, out, "s3", account=ACCOUNT)
        current = {
            key: stateful_addresses(json.loads((out / "stacks" / stack / "cdk.tf.json").read_text()))
            for key, stack in [*((e.suffix, e.names.stack) for e in ENVIRONMENTS), (ACCOUNT_KEY, ACCOUNT.names.stack)]
        }
    print(json.dumps(current, indent=2))
