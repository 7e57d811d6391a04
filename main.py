"""Composition root: read the environments, build one stack each, synthesize.

Environment variables:
  ENVIRONMENTS        comma list of named environments (default: every one in config/environments.toml)
  ENVIRONMENT_SUFFIX  one more ad-hoc stack (e.g. pr123) on the `adhoc` profile (dev)
  TF_BACKEND=local    local state instead of the S3 backend (offline experiments and tests)
  TF_STATE_BUCKET, TF_STATE_REGION   state bucket override
  VP_CONFIG           settings file (default config/environments.toml)
  CDKTF_OUTDIR        output folder (default cdktf.out; the cdktf CLI sets it)
"""
from __future__ import annotations

import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Mapping

from config.naming import InvalidSuffix
from config.settings import ConfigError, EnvironmentSettings, load_environments


def log(message: str) -> None:
    # stderr: the cdktf CLI reads the app's stdout; progress belongs beside it.
    print(message, file=sys.stderr, flush=True)


def select_environments(environ: Mapping[str, str]) -> list[EnvironmentSettings]:
    names = environ.get("ENVIRONMENTS")
    selected = [n.strip() for n in names.split(",") if n.strip()] if names else None
    if selected is not None and not selected:
        raise ConfigError(f"ENVIRONMENTS = {names!r}: must name at least one environment")
    suffix = environ.get("ENVIRONMENT_SUFFIX")
    return load_environments(selected, adhoc_suffix=suffix if suffix is not None and suffix != "" else None, environ=environ)


def backend_kind(environ: Mapping[str, str]) -> str:
    kind = environ.get("TF_BACKEND", "s3")
    if kind not in ("s3", "local"):
        raise ConfigError(f"TF_BACKEND = {kind!r}: must be 's3' or 'local'")
    return kind


def build_app(environments: list[EnvironmentSettings], outdir: str, backend: str):
    """Build the App with one stack per environment (imports the AWS bindings on first call)."""
    from cdktf import App

    from stacks.video_pipeline_stack import VideoPipelineStack

    app = App(outdir=outdir, skip_validation=True)
    for settings in environments:
        VideoPipelineStack(app, settings, backend=backend)
    return app


def resource_count(stack_json: dict) -> int:
    return sum(len(items) for items in stack_json.get("resource", {}).values())


def synthesize(environments: list[EnvironmentSettings], outdir: Path, backend: str) -> list[tuple[str, int, str, str]]:
    """Synthesize into a scratch folder and move it into place, so a failure leaves nothing half-written."""
    scratch = outdir.with_name(f".{outdir.name}.tmp-{os.getpid()}")
    shutil.rmtree(scratch, ignore_errors=True)
    try:
        build_app(environments, str(scratch), backend).synth()
        if outdir.exists():
            shutil.rmtree(outdir)
        scratch.rename(outdir)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    rows = []
    for settings in environments:
        folder = outdir / "stacks" / settings.names.stack
        stack_json = json.loads((folder / "cdk.tf.json").read_text())
        state = settings.names.state_key if backend == "s3" else f"local: terraform.{settings.suffix}.tfstate"
        rows.append((settings.names.stack, resource_count(stack_json), state, str(folder)))
    return rows


def print_table(rows: list[tuple[str, int, str, str]]) -> None:
    header = ("stack", "resources", "state key", "output folder")
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(4)]
    for row in [header, tuple("-" * w for w in widths), *rows]:
        log("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)).rstrip())


def main(environ: Mapping[str, str]) -> int:
    started = time.monotonic()
    try:
        environments = select_environments(environ)
        backend = backend_kind(environ)
    except (ConfigError, InvalidSuffix) as error:
        log(f"error: {error}")
        log("nothing was synthesized")
        return 2
    outdir = Path(environ.get("CDKTF_OUTDIR") or "cdktf.out")
    log(f"environments: {', '.join(e.suffix for e in environments)} (backend: {backend})")
    log("loading the AWS provider bindings (a few seconds; ~15 s more if the fast loader falls back)...")
    rows = synthesize(environments, outdir, backend)
    print_table(rows)
    log(f"synthesized {len(rows)} stack(s) in {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(os.environ))
