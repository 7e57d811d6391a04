"""checkov gate: every synthesized stack (each environment's and the account stack) is scanned once, without any
skip list. A finding passes only if the check can never apply to this design (.checkov.yaml's skip list, which is
what prod may fail) or a setting of that stack explains it (ACCEPTED: dev's single-AZ database, ...)."""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from config.settings import EnvironmentSettings
from tests.conftest import ACCOUNT_KEY, SUFFIXES, stack_dir
from tests.helpers import find

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / ".checkov.yaml"


def never_apply() -> dict[str, str]:
    """.checkov.yaml's skip list: check id -> reason."""
    found = re.findall(r"^\s*- (CKV2?_AWS_\d+)\s+# (.*)$", CONFIG.read_text(), re.MULTILINE)
    return dict(found)


# Findings a setting explains: check id -> (does this environment's setting cause it?, the setting). Prod must
# cause none of them (tests below); any other finding fails the gate.
ACCEPTED: dict[str, tuple[Callable[[EnvironmentSettings], bool], str]] = {
    "CKV_AWS_157": (lambda e: not e.database.multi_az, "database.multi_az (single-AZ RDS to save cost)"),
    "CKV_AWS_118": (lambda e: not e.database.monitoring_interval_seconds, "database.monitoring_interval_seconds"),
    "CKV_AWS_353": (lambda e: not e.database.performance_insights, "database.performance_insights"),
    "CKV_AWS_293": (lambda e: not e.database.deletion_protection, "database.deletion_protection (stack destroyable)"),
    "CKV_AWS_149": (lambda e: not e.secrets.kms_encryption, "secrets.kms_encryption"),
    "CKV_AWS_338": (lambda e: e.log_retention_days < 365, "log_retention_days below a year"),
    "CKV2_AWS_29": (lambda e: not e.security.waf, "security.waf (a web ACL bills monthly)"),
    **{
        check: (lambda e: not e.security.customer_managed_key, "security.customer_managed_key")
        for check in ("CKV_AWS_158", "CKV_AWS_184", "CKV_AWS_191", "CKV_AWS_354", "CKV_AWS_173")
    },
}
# The account stack's state bucket: accepted, with reasons (it has no settings of an environment).
ACCEPTED_ACCOUNT = {
    "CKV_AWS_18": "access logs would need a second bucket; CloudTrail data events record who read or wrote state",
    "CKV_AWS_144": "no cross-region replica of the state: versioning and prevent_destroy keep it",
    "CKV2_AWS_62": "no event notifications on the state bucket: nothing consumes them",
}


def checkov_bin() -> str:
    """checkov lives in its own virtualenv (make installs it); CHECKOV_BIN points elsewhere if needed."""
    path = os.environ.get("CHECKOV_BIN", str(ROOT / ".tools" / "checkov" / "bin" / "checkov"))
    if not os.access(path, os.X_OK):
        pytest.fail(f"CHECKOV_BIN = {path!r}: not an executable checkov (run `make test`, which installs it)")
    return path


def run_checkov(target: Path) -> list[dict]:
    """checkov with the framework settings of .checkov.yaml but no skip list."""
    config = target / "no-skips.yaml"
    config.write_text("framework:\n  - terraform_json\nskip-download: true\n")
    result = subprocess.run(
        [checkov_bin(), "--config-file", str(config), "-o", "json", "-d", str(target)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.stdout.strip(), result.stderr
    reports = json.loads(result.stdout)
    return reports if isinstance(reports, list) else [reports]


MUTANT = f"{SUFFIXES[0]}-unencrypted-db"  # a stack with an unencrypted database: a check nothing accepts must fail
STACKS = [*SUFFIXES, ACCOUNT_KEY]


def scanned(stack_json: str) -> str:
    """The JSON checkov reads: without `removed` and `moved` blocks, which hold no resource and which checkov 3.3.30's
    terraform_json parser cannot read (it raises on every block type without labels, and skips the file)."""
    stack = json.loads(stack_json)
    for block in ("removed", "moved"):
        stack.pop(block, None)
    return json.dumps(stack, indent=2)  # as cdktf writes it: checkov reads one-line JSON several times slower


@pytest.fixture(scope="module")
def findings(synth_dir, tmp_path_factory) -> dict[str, dict]:
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
        # A file checkov cannot parse is silently skipped (`required_version`, `removed` blocks in 3.3.30).
        assert report["results"]["parsing_errors"] == [], report["results"]["parsing_errors"]
        for kind in ("passed_checks", "failed_checks"):
            for check in report["results"][kind]:
                suffix = Path(check["file_path"]).parts[-2]
                if kind == "passed_checks":
                    counts[suffix]["passed"] += 1
                else:
                    counts[suffix]["failed"].append((check["check_id"], check["resource"]))
    print(
        "\ncheckov without skips: "
        + ", ".join(f"{s} {c['passed']} passed / {len(c['failed'])} failed" for s, c in counts.items() if s != MUTANT)
    )
    return counts


def unexplained(failed: list[tuple[str, str]], accepted: set[str]) -> list[tuple[str, str]]:
    return sorted((check, resource) for check, resource in failed if check not in set(never_apply()) | accepted)


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_environment_passes_checkov(findings, environments, suffix):
    env = environments[suffix]
    accepted = {check for check, (applies, _) in ACCEPTED.items() if applies(env)}
    assert unexplained(findings[suffix]["failed"], accepted) == []
    assert findings[suffix]["passed"] > 200  # the scan really ran over this stack


def test_prod_fails_only_checks_that_can_never_apply(findings, environments):
    assert {check for check, _ in findings["prod"]["failed"]} <= set(never_apply())
    assert not [check for check, (applies, _) in ACCEPTED.items() if applies(environments["prod"])]


def test_account_stack_passes_checkov(findings):
    assert unexplained(findings[ACCOUNT_KEY]["failed"], set(ACCEPTED_ACCOUNT)) == []
    assert findings[ACCOUNT_KEY]["passed"] > 40


def test_every_skipped_check_has_a_reason():
    lines = [line for line in CONFIG.read_text().splitlines() if re.match(r"\s*- CKV", line)]
    assert lines and len(lines) == len(never_apply())
    for line in lines:
        assert re.fullmatch(r"\s*- CKV2?_AWS_\d+\s+# \S.{15,}", line), f"skip without a one-line reason: {line!r}"


def test_no_accepted_check_is_also_skipped():
    """A check in the skip list would hide the setting-explained findings from every environment."""
    assert not (set(ACCEPTED) | set(ACCEPTED_ACCOUNT)) & set(never_apply())


def test_gate_fails_on_a_new_finding(findings):
    """An unencrypted database (a check nothing accepts) is reported as failed."""
    assert [check for check, _ in unexplained(findings[MUTANT]["failed"], set(ACCEPTED))] == ["CKV_AWS_16"]
