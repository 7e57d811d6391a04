"""Composition root: read the environments, build one stack each, synthesize.

Environment variables:
  ENVIRONMENTS        comma list of named environments and `account` (the account stack); unset: the account stack
                      and every environment in config/environments.toml; set but empty: none (only the
                      ENVIRONMENT_SUFFIX stack)
  ENVIRONMENT_SUFFIX  one more ad-hoc stack (e.g. pr123) on the [adhoc] profile (dev)
  EXPIRES_AT          the ad-hoc stack's ExpiresAt tag (2026-12-01 or 2026-12-01T18:00:00Z; `make plan` sets it)
  TF_BACKEND=local    local state in <repository>/.state instead of the S3 backend (offline experiments)
  TF_STATE_BUCKET, TF_STATE_REGION   the environments' state bucket override (never the account stack's)
  VP_CONFIG           settings file (default config/environments.toml)
  CDKTF_OUTDIR        output folder (default cdktf.out; the cdktf CLI sets it); replaced only if this app wrote it

Everything is checked before the AWS bindings load; bad input exits 2 and writes nothing.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from config import quotas
from config.naming import ACCOUNT, InvalidSuffix
from config.settings import (
    AccountSettings,
    ConfigError,
    EnvironmentSettings,
    Selection,
    load_environments,
    load_selection,
    parse_selection,
)
from synth.output import OutputFolderError, check_output_folder, replace_output
from synth.providers import place_lock_file
from synth.terraform_tests import ACCOUNT_TESTS, place_terraform_tests

if TYPE_CHECKING:
    from cdktf import App

ROOT = Path(__file__).resolve().parent
LOCAL_STATE_DIR = ROOT / ".state"  # git-ignored; TF_BACKEND=local keeps every stack's state here


def log(message: str) -> None:
    # stderr: the cdktf CLI reads the app's stdout; progress belongs beside it.
    print(message, file=sys.stderr, flush=True)


def select_stacks(environ: Mapping[str, str]) -> Selection:
    suffix = environ.get("ENVIRONMENT_SUFFIX") or None
    return load_selection(parse_selection(environ.get("ENVIRONMENTS")), adhoc_suffix=suffix, environ=environ)


def quota_warnings(environ: Mapping[str, str]) -> list[str]:
    """Over every environment of the file plus the ad-hoc one, whatever ENVIRONMENTS selects: they share the quotas."""
    return quotas.warnings(
        load_environments(None, adhoc_suffix=environ.get("ENVIRONMENT_SUFFIX") or None, environ=environ)
    )


def backend_kind(environ: Mapping[str, str]) -> str:
    kind = environ.get("TF_BACKEND", "s3")
    if kind not in ("s3", "local"):
        raise ConfigError(f"TF_BACKEND = {kind!r}: must be 's3' or 'local'")
    return kind


def output_folder(environ: Mapping[str, str]) -> Path:
    return check_output_folder(environ.get("CDKTF_OUTDIR") or "cdktf.out", protected=[ROOT], state_dir=LOCAL_STATE_DIR)


def build_app(
    environments: list[EnvironmentSettings], outdir: str, backend: str, account: AccountSettings | None = None
) -> App:
    """Build the App with the account stack (if given) and one stack per environment (imports the AWS bindings on
    first call)."""
    from cdktf import App

    from stacks.account_stack import AccountStack
    from stacks.video_pipeline_stack import VideoPipelineStack

    app = App(outdir=outdir, skip_validation=True)
    if account is not None:
        AccountStack(app, account, backend=backend, local_state_dir=LOCAL_STATE_DIR)
    for settings in environments:
        VideoPipelineStack(app, settings, backend=backend, local_state_dir=LOCAL_STATE_DIR)
    return app


def resource_count(stack_json: dict[str, Any]) -> int:
    return sum(len(items) for items in stack_json.get("resource", {}).values())


def state_location(settings: EnvironmentSettings | AccountSettings, backend: str) -> str:
    return settings.names.state_key if backend == "s3" else str(LOCAL_STATE_DIR / settings.names.state_key)


def synthesize(
    environments: list[EnvironmentSettings],
    outdir: Path,
    backend: str,
    *,
    account: AccountSettings | None = None,
    under_cdktf_cli: bool = False,
) -> list[tuple[str, int, str, str]]:
    """Synthesize into a scratch folder and swap it in whole (synth/output.py), with the provider lock file in every
    stack folder. The account stack, if given, comes first."""
    selected: list[EnvironmentSettings | AccountSettings] = [*([account] if account else []), *environments]
    stacks = [settings.names.stack for settings in selected]
    rows: list[tuple[str, int, str, str]] = []

    def build(scratch: Path) -> None:
        build_app(environments, str(scratch), backend, account).synth()
        place_lock_file([scratch / "stacks" / stack for stack in stacks])
        place_terraform_tests([scratch / "stacks" / s.names.stack for s in environments])
        if account is not None:
            place_terraform_tests([scratch / "stacks" / account.names.stack], source=ACCOUNT_TESTS)
        if under_cdktf_cli:
            # The CLI lists <outdir>/stacks/* before running the app and deletes afterwards those the synth did not
            # produce, failing (ENOENT) on any that is gone: leave it an empty folder to delete.
            previous = {p.name for p in (outdir / "stacks").glob("*") if p.is_dir()} if outdir.is_dir() else set()
            for stack in sorted(previous - set(stacks)):
                (scratch / "stacks" / stack).mkdir()
        # Read here: once the lock is released, another synth may swap the folder.
        for settings, stack in zip(selected, stacks, strict=True):
            stack_json = json.loads((scratch / "stacks" / stack / "cdk.tf.json").read_text())
            rows.append(
                (stack, resource_count(stack_json), state_location(settings, backend), str(outdir / "stacks" / stack))
            )

    replace_output(outdir, build, log)
    return rows


def print_table(rows: list[tuple[str, int, str, str]]) -> None:
    header = ("stack", "resources", "state", "output folder")
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(4)]
    for row in [header, tuple("-" * w for w in widths), *rows]:
        log("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


def main(environ: Mapping[str, str]) -> int:
    started = time.monotonic()
    try:
        selection = select_stacks(environ)
        backend = backend_kind(environ)
        outdir = output_folder(environ)
        quota_lines = quota_warnings(environ)
    except (ConfigError, InvalidSuffix, OutputFolderError) as error:
        log(f"error: {error}")
        log("nothing was synthesized")
        return 2
    account = selection.account if selection.with_account else None
    names = [*([ACCOUNT] if account else []), *(e.suffix for e in selection.environments)]
    log(f"stacks: {', '.join(names)} (backend: {backend})")
    for line in quota_lines:
        log(f"warning: {line}")
    log("loading the AWS provider bindings (a few seconds; ~15 s more if the fast loader falls back)...")
    try:
        rows = synthesize(
            selection.environments,
            outdir,
            backend,
            account=account,
            under_cdktf_cli="CDKTF_CONTEXT_JSON" in environ,
        )
    except OutputFolderError as error:  # the folder changed between the check and the lock
        log(f"error: {error}")
        log("nothing was synthesized")
        return 2
    print_table(rows)
    from modules import _bindings  # loaded by the synth

    log(f"synthesized {len(rows)} stack(s) in {time.monotonic() - started:.1f} s ({_bindings.mode} bindings loader)")
    return 0


if __name__ == "__main__":
    sys.exit(main(os.environ))
