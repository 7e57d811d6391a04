"""`make sweep`: destroy every ad-hoc stack past its time to live (the nightly CI job runs it).

    python -m synth.sweeper [--dry-run] [--now 2026-12-01T00:00:00Z]

It lists the state objects under the ad-hoc prefix (video-pipeline/adhoc/<suffix>/terraform.tfstate) in the bucket
the [adhoc] profile's state goes to, and reads each stack's expiry from its state: the ExpiresAt tag `make plan` puts
on every resource; a stack deployed without one expires [adhoc] ttl_days after its state object last changed. An
expired stack is destroyed with `synth/operate.py destroy` (synth, init, destroy, state empty, state object deleted);
one whose state is locked (an apply or plan running) is left for the next night. Nothing outside the prefix is read,
and only keys of exactly that shape with a valid ad-hoc suffix count; everything else there is reported and left alone.

Exit status: 0 every expired stack destroyed (or none), 1 one or more could not be, 2 bad input.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from config.naming import ADHOC_STATE_PREFIX, InvalidSuffix, validate_suffix
from config.settings import ConfigError, EnvironmentSettings, load_selection, parse_expires_at
from main import log
from synth import operate

STATE_KEY = re.compile(re.escape(ADHOC_STATE_PREFIX) + r"([^/]+)/terraform\.tfstate")


@dataclass(frozen=True)
class Stack:
    suffix: str
    key: str
    expires: dt.datetime
    source: str  # where `expires` comes from
    locked: bool

    def expired(self, now: dt.datetime) -> bool:
        return now >= self.expires


def expires_tag(state: Mapping[str, Any]) -> str | None:
    """The ExpiresAt tag of the state's resources (the latest, should an apply have stopped half-way)."""
    values = {
        instance.get("attributes", {}).get("tags_all", {}).get("ExpiresAt")
        for resource in state.get("resources", [])
        if resource.get("mode") == "managed"
        for instance in resource.get("instances", [])
        if isinstance(instance.get("attributes", {}).get("tags_all"), dict)
    } - {None}
    return max(values) if values else None


def _moment(value: str, name: str = "ExpiresAt") -> dt.datetime:
    return dt.datetime.fromisoformat(parse_expires_at(value, name))


def stacks(s3: Any, bucket: str, ttl_days: int, report: list[str]) -> Iterator[Stack]:
    objects: dict[str, dict[str, Any]] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=ADHOC_STATE_PREFIX):
        for item in page.get("Contents", []):
            objects[item["Key"]] = item
    for key, item in sorted(objects.items()):
        match = STATE_KEY.fullmatch(key)
        if not match:
            if not (key.endswith(".tflock") and key.removesuffix(".tflock") in objects):
                report.append(f"ignored s3://{bucket}/{key}: not a stack's state object")
            continue
        suffix = match.group(1)
        try:
            validate_suffix(suffix)
        except InvalidSuffix as error:
            report.append(f"ignored s3://{bucket}/{key}: {error}")
            continue
        state = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
        tag = expires_tag(state)
        expires: dt.datetime | None = None
        source = "ExpiresAt tag"
        try:
            expires = _moment(tag) if tag else None
        except ConfigError:
            report.append(f"{suffix}: ExpiresAt tag {tag!r} is not a UTC time; using its last deploy instead")
        if expires is None:
            expires = item["LastModified"].astimezone(dt.UTC) + dt.timedelta(days=ttl_days)
            source = f"last deploy + {ttl_days} days"
        yield Stack(suffix, key, expires, source, locked=f"{key}.tflock" in objects)


def sweep(environ: Mapping[str, str], now: dt.datetime, *, dry_run: bool, plans_dir: Path) -> int:
    import boto3  # the AWS SDK only when sweeping

    selection = load_selection(None, environ={k: v for k, v in environ.items() if k != "EXPIRES_AT"})
    profile: EnvironmentSettings = next(e for e in selection.environments if e.name == selection.adhoc.profile)
    bucket, region = profile.state_bucket, profile.state_region
    log(f"sweep: ad-hoc stacks in s3://{bucket}/{ADHOC_STATE_PREFIX} at {now:%Y-%m-%dT%H:%M:%SZ}")
    report: list[str] = []
    failed = []
    found = list(stacks(boto3.client("s3", region_name=region), bucket, selection.adhoc.ttl_days, report))
    for stack in found:
        when = f"expires {stack.expires:%Y-%m-%dT%H:%M:%SZ} ({stack.source})"
        if not stack.expired(now):
            report.append(f"{stack.suffix}: kept: {when}")
        elif stack.locked:
            report.append(f"{stack.suffix}: expired, but its state is locked (a run in progress): left for next time")
        elif dry_run:
            report.append(f"{stack.suffix}: would destroy: {when}")
        else:
            log(f"sweep: {stack.suffix}: {when}: destroying")
            status = operate.main(["destroy", stack.suffix, "--plans-dir", str(plans_dir)], environ)
            if status == 0:
                report.append(f"{stack.suffix}: destroyed: {when}")
            else:
                failed.append(stack.suffix)
                report.append(f"{stack.suffix}: destroy FAILED (exit {status}): {when}")
    for line in report or ["no ad-hoc stacks"]:
        log(f"sweep: {line}")
    return 1 if failed else 0


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] = os.environ) -> int:
    parser = argparse.ArgumentParser(prog="python -m synth.sweeper", description=__doc__.split("\n\n")[0])
    parser.add_argument("--dry-run", action="store_true", help="say what would be destroyed, destroy nothing")
    parser.add_argument("--now", help="sweep as if it were this UTC time (e.g. to see what goes next week)")
    parser.add_argument("--plans-dir", type=Path, default=operate.PLANS_DIR, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        now = _moment(args.now, "--now") if args.now else dt.datetime.now(dt.UTC)
        return sweep(environ, now, dry_run=args.dry_run, plans_dir=args.plans_dir)
    except (ConfigError, InvalidSuffix) as error:
        log(f"error: {error}")
        log("nothing was done")
        return 2


if __name__ == "__main__":
    sys.exit(main())
