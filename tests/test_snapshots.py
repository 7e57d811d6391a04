"""Each environment's synthesized Terraform JSON, pinned. Review `--snapshot-update` diffs like a plan."""
import json

import pytest
from syrupy.extensions.json import JSONSnapshotExtension


@pytest.fixture
def snapshot_json(snapshot):
    return snapshot.use_extension(JSONSnapshotExtension)


@pytest.mark.parametrize("suffix", ["dev", "staging", "prod", "pr123"])
def test_synthesized_stack_matches_snapshot(synthesized, snapshot_json, suffix):
    assert json.loads(synthesized[suffix]) == snapshot_json
