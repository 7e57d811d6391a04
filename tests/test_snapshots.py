"""Each environment's and the account stack's synthesized Terraform JSON, pinned. Review `--snapshot-update` diffs like
a plan."""

import json

import pytest
from syrupy.extensions.json import JSONSnapshotExtension

from tests.conftest import SUFFIXES


@pytest.fixture
def snapshot_json(snapshot):
    return snapshot.use_extension(JSONSnapshotExtension)


def without_metadata(value):
    """Drop cdktf's "//" construct-path comments: Terraform ignores them and they only add noise to diffs."""
    if isinstance(value, dict):
        return {k: without_metadata(v) for k, v in value.items() if k != "//"}
    if isinstance(value, list):
        return [without_metadata(v) for v in value]
    return value


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_synthesized_stack_matches_snapshot(synthesized, snapshot_json, suffix):
    assert without_metadata(json.loads(synthesized[suffix])) == snapshot_json


def test_account_stack_matches_snapshot(account_synthesized, snapshot_json):
    assert without_metadata(json.loads(account_synthesized)) == snapshot_json
