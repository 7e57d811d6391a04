"""checkov gate: every synthesized stack (each environment's and the account stack) passes, with only the skips in
.checkov.yaml."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ACCOUNT_KEY, SUFFIXES, stack_dir
from tests.helpers import find

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / ".checkov.yaml"


def checkov_bin() -> str:
    """checkov lives in its own virtualenv (make installs it); CHECKOV_BIN points elsewhere if needed."""
    path = os.environ.get("CHECKOV_BIN", str(ROOT / ".tools" / "checkov" / "bin" / "checkov"))
    if not os.access(path, os.X_OK):
        pytest.fail(f"CHECKOV_BIN = {path!r}: not an executable checkov (run `make test`, which installs it)")
    return path


def run_checkov(target: Path) -> list[dict]:
    result = subprocess.run(
        [checkov_bin(), "--config-file", str(CONFIG), "-o", "json", "-d", str(target)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.stdout.strip(), result.stderr
    reports = json.loads(result.stdout)
    return reports if isinstance(reports, list) else [reports]


MUTANT = f"{SUFFIXES[0]}-unencrypted-db"  # a stack with an unencrypted database: a check not in the skip list must fail
STACKS = [*SUFFIXES, ACCOUNT_KEY]


def scanned(stack_json: str) -> str:
    """The JSON checkov reads: without `removed` and `moved` blocks, which hold no resource and which checkov 3.3.30's
    terraform_json parser cannot read (it raises on every block type without labels, and skips the file)."""
    stack = json.loads(stack_json)
    for block in ("removed", "moved"):
        stack.pop(block, None)
    return json.dumps(stack, indent=2)  # as cdktf writes it: checkov reads one-line JSON several times slower


@pytest.fixture(scope="module")
def gate(synth_dir, tmp_path_factory) -> dict[str, dict]:
    """One checkov run over all stacks and the mutant: {folder: {"passed": n, "failed": [(check, resource)]}}."""
    scan = tmp_path_factory.mktemp("checkov")
    for suffix in STACKS:  # only the Terraform JSON; assets and .terraform folders are not checkov's business
        (scan / suffix).mkdir()
        (scan / suffix / "cdk.tf.json").write_text(scanned((stack_dir(synth_dir, suffix) / "cdk.tf.json").read_text()))
    mutant = json.loads(scanned((stack_dir(synth_dir, SUFFIXES[0]) / "cdk.tf.json").read_text()))
    find(mutant, "aws_db_instance")["storage_encrypted"] = False
    (scan / MUTANT).mkdir()
    (scan / MUTANT / "cdk.tf.json").write_text(json.dumps(mutant, indent=2))
    counts: dict[str, dict] = {folder: {"passed": 0, "failed": []} for folder in [*STACKS, MUTANT]}
    for report in run_checkov(scan):
        for kind in ("passed_checks", "failed_checks"):
            for check in report["results"][kind]:
                suffix = Path(check["file_path"]).parts[-2]
                if kind == "passed_checks":
                    counts[suffix]["passed"] += 1
                else:
                    counts[suffix]["failed"].append((check["check_id"], check["resource"]))
    print(
        "\ncheckov: "
        + ", ".join(f"{s} {c['passed']} passed / {len(c['failed'])} failed" for s, c in counts.items() if s != MUTANT)
    )
    return counts


@pytest.mark.parametrize("suffix", STACKS)
def test_stack_passes_checkov(gate, suffix):
    assert gate[suffix]["failed"] == []
    assert gate[suffix]["passed"] > (40 if suffix == ACCOUNT_KEY else 200)  # the scan really ran over this stack


def test_every_skipped_check_has_a_reason():
    lines = [line for line in CONFIG.read_text().splitlines() if re.match(r"\s*- CKV", line)]
    assert lines
    for line in lines:
        assert re.fullmatch(r"\s*- CKV2?_AWS_\d+\s+# \S.{15,}", line), f"skip without a one-line reason: {line!r}"


def test_gate_fails_on_a_new_finding(gate):
    """An unencrypted database (a check not in the skip list) is reported as failed."""
    assert [check for check, _ in gate[MUTANT]["failed"]] == ["CKV_AWS_16"]
