"""`make plan|apply|drift|destroy ENV=<suffix>`: one stack at a time, reviewed before anything changes.

    python -m synth.operate plan <suffix> [--gated] [--no-lock]
    python -m synth.operate apply <suffix> [--reviewed <review.json>]
    python -m synth.operate drift <suffix>
    python -m synth.operate destroy <suffix>

<suffix> is an environment of the settings file, `account` (the account stack) or an ad-hoc suffix such as pr123.

plan     Synthesize that stack (skipped when nothing it is built from changed since the last synth here), `terraform
         init` (only when the backend or the provider lock changed), `plan -out`, `show -json`; the review of
         synth/plan_review.py goes to stdout and plans/<suffix>/summary.md, what was reviewed (addresses and actions,
         no values) to plans/<suffix>/review.json. In staging, prod, the account stack and any protect_stateful
         environment (or with --gated) a replace or delete of a stateful resource fails the review unless
         ALLOW_STATEFUL_CHANGES=<address,...> names it (elsewhere the list is not read). --no-lock: a review plan
         that does not wait behind an apply and writes nothing to the state bucket (Terraform refuses to apply a plan
         whose state has moved on).
apply    Apply exactly plans/<suffix>/tfplan; with --reviewed, only if its changes are those of that review.json.
drift    `plan -refresh-only -detailed-exitcode` with the same summary (plans/<suffix>/drift.md); --no-lock too.
destroy  Ad-hoc stacks only: destroy, check the state is empty, delete the state object.

Ad-hoc stacks get EXPIRES_AT (default: today + [adhoc] ttl_days, UTC midnight) as their ExpiresAt tag at plan time, so
a stack lives ttl_days after its last deploy (`make sweep` destroys it then).

Exit status: 0 done; 1 Terraform failed; 2 bad input (nothing done) or, for drift, drift found; 3 the gate refused.
Working files: plans/<suffix>/ (git-ignored). tfplan holds state values, secrets included: never publish it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from config.naming import ACCOUNT, InvalidSuffix
from config.settings import AccountSettings, ConfigError, EnvironmentSettings, load_selection
from main import LOCAL_STATE_DIR, ROOT, backend_kind, log, synthesize
from synth.output import OutputFolderError, check_output_folder
from synth.plan_review import (
    GATE_FAILED,
    GATED_ENVIRONMENTS,
    Review,
    allowed_addresses,
    fingerprint,
    markdown,
    review,
)
from synth.terraform_cli import terraform

PLANS_DIR = ROOT / "plans"
# What a stack is built from: a change to any of these synthesizes again.
SYNTH_INPUTS = (
    "main.py",
    "config",
    "modules",
    "stacks",
    "synth",
    "tests/terraform",
    ".terraform.lock.hcl",
    "Pipfile.lock",
    "package-lock.json",
)
DRIFT = 2
FAILED = 1
BAD_INPUT = 2
LOCK_TIMEOUT = "-lock-timeout=300s"  # behind a running apply (CI's concurrency groups make that rare)


class OperateError(RuntimeError):
    def __init__(self, message: str, status: int = FAILED) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Target:
    """One stack and where its working files go."""

    suffix: str
    settings: EnvironmentSettings | AccountSettings
    gated: bool
    root: Path  # plans/<suffix>

    @property
    def adhoc(self) -> bool:
        return isinstance(self.settings, EnvironmentSettings) and self.settings.adhoc

    @property
    def outdir(self) -> Path:
        return self.root / "cdktf.out"

    @property
    def stack_dir(self) -> Path:
        return self.outdir / "stacks" / self.settings.names.stack

    @property
    def data_dir(self) -> Path:
        # Outside the output folder, which every synth replaces whole: init survives a synth.
        return self.root / "terraform.d"

    @property
    def planfile(self) -> Path:
        return self.root / "tfplan"


def today_plus(days: int, today: dt.date | None = None) -> str:
    """UTC midnight `days` after today: one value all day long, so a re-plan the same day changes no tag."""
    day = (today or dt.datetime.now(dt.UTC).date()) + dt.timedelta(days=days)
    return f"{day.isoformat()}T00:00:00Z"


def resolve(suffix: str, environ: Mapping[str, str], *, plans_dir: Path, gated: bool = False) -> Target:
    """The stack `suffix` names, its settings checked (ConfigError/InvalidSuffix on bad input)."""
    without_expiry = {k: v for k, v in environ.items() if k != "EXPIRES_AT"}
    everything = load_selection(None, environ=without_expiry)
    named = {env.name: env for env in everything.environments}
    settings: EnvironmentSettings | AccountSettings
    if suffix == ACCOUNT:
        settings, gated = everything.account, True
    elif suffix in named:
        settings = load_selection([suffix], environ=environ).environments[0]
        gated = gated or settings.name in GATED_ENVIRONMENTS or settings.protect_stateful
    else:
        adhoc_environ = dict(environ)
        adhoc_environ.setdefault("EXPIRES_AT", today_plus(everything.adhoc.ttl_days))
        settings = load_selection([], adhoc_suffix=suffix, environ=adhoc_environ).environments[0]
        gated = gated or settings.protect_stateful
    root = check_output_folder(str(plans_dir / suffix / "cdktf.out"), protected=[ROOT], state_dir=LOCAL_STATE_DIR)
    return Target(suffix, settings, gated, root.parent)


def _files(root: Path, names: Sequence[str]) -> list[Path]:
    found = []
    for name in names:
        path = root / name
        if path.is_file():
            found.append(path)
        elif path.is_dir():
            found += [p for p in path.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    return sorted(found)


def inputs_digest(target: Target, backend: str) -> str:
    """Everything the synthesized JSON depends on: the project's sources, the resolved settings, the backend."""
    digest = hashlib.sha256()
    for path in _files(ROOT, SYNTH_INPUTS):
        digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes() + b"\0")
    digest.update(f"{target.settings!r}\0{backend}\0{sys.version}".encode())
    return digest.hexdigest()


class Workspace:
    """Synthesize, init and run Terraform for one target."""

    def __init__(self, target: Target, environ: Mapping[str, str]) -> None:
        self.target = target
        self.backend = backend_kind(environ)
        self.env = {
            **environ,
            "TF_DATA_DIR": str(target.data_dir),
            "TF_IN_AUTOMATION": "1",
            "TF_INPUT": "0",
            "CHECKPOINT_DISABLE": "1",
        }
        self.plugin_dir = environ.get("TF_PLUGIN_DIR") or None

    def _stamp(self, name: str) -> Path:
        return self.target.root / name

    def synth(self) -> None:
        t = self.target
        digest = inputs_digest(t, self.backend)
        stamp = self._stamp("synth.sha256")
        if (t.stack_dir / "cdk.tf.json").is_file() and stamp.is_file() and stamp.read_text() == digest:
            log(f"{t.suffix}: synth: nothing it is built from changed; reusing {t.stack_dir}")
            return
        log(f"{t.suffix}: synthesizing {t.settings.names.stack}")
        stamp.unlink(missing_ok=True)
        if isinstance(t.settings, AccountSettings):
            synthesize([], t.outdir, self.backend, account=t.settings)
        else:
            synthesize([t.settings], t.outdir, self.backend)
        stamp.write_text(digest)

    def init(self) -> None:
        t = self.target
        stack = json.loads((t.stack_dir / "cdk.tf.json").read_text(encoding="utf-8"))
        digest = hashlib.sha256(
            json.dumps(stack["terraform"], sort_keys=True).encode()
            + (t.stack_dir / ".terraform.lock.hcl").read_bytes()
            + str(self.plugin_dir).encode()
        ).hexdigest()
        stamp = self._stamp("init.sha256")
        if (t.data_dir / "terraform.tfstate").is_file() and stamp.is_file() and stamp.read_text() == digest:
            return
        stamp.unlink(missing_ok=True)
        plugin = [f"-plugin-dir={self.plugin_dir}"] if self.plugin_dir else []
        self.terraform("init", "-input=false", "-reconfigure", *plugin)
        stamp.write_text(digest)

    def prepare(self) -> None:
        self.target.root.mkdir(parents=True, exist_ok=True)
        self.target.root.chmod(0o700)  # plans hold state values
        self.synth()
        self.init()

    def terraform(self, *args: str, ok: tuple[int, ...] = (0,), echo: bool = True) -> tuple[int, str]:
        """Terraform in the stack folder; its output goes to stderr as it comes (stdout carries the summary)."""
        log(f"{self.target.suffix}: terraform {' '.join(args)}")
        code, output = terraform(*args, cwd=self.target.stack_dir, env=self.env, echo=echo)
        if code not in ok:
            raise OperateError(f"`terraform {' '.join(args)}` in {self.target.stack_dir} exited {code}")
        return code, output

    def show(self, planfile: Path, read_only: Mapping[str, frozenset[str]] | None = None) -> Review:
        _, text = self.terraform("show", "-json", str(planfile), echo=False)
        result: Review = review(json.loads(text), read_only)
        return result

    def read_only_attributes(self) -> dict[str, frozenset[str]]:
        """resource type -> attributes the provider's schema computes and no configuration sets (they change by
        themselves: latest_restorable_time, number_of_mount_targets); cached per provider lock file."""
        lock = hashlib.sha256((self.target.stack_dir / ".terraform.lock.hcl").read_bytes()).hexdigest()[:16]
        cache = self.target.root.parent / f".read-only-attributes-{lock}.json"
        if not cache.is_file():
            _, text = self.terraform("providers", "schema", "-json", echo=False)
            found = {
                type_: sorted(
                    name
                    for name, attribute in schema["block"].get("attributes", {}).items()
                    if attribute.get("computed") and not attribute.get("optional") and not attribute.get("required")
                )
                for provider in json.loads(text)["provider_schemas"].values()
                for type_, schema in provider.get("resource_schemas", {}).items()
            }
            cache.write_text(json.dumps(found, sort_keys=True), encoding="utf-8")
        return {k: frozenset(v) for k, v in json.loads(cache.read_text(encoding="utf-8")).items()}


def _verdict(result: Review) -> str:
    if result.no_changes:
        return "no changes"
    totals: dict[str, int] = {}
    for counter in result.counts().values():
        for verb, count in counter.items():
            totals[verb] = totals.get(verb, 0) + count
    parts = [f"{totals[v]} to {v}" for v in ("create", "update", "replace", "delete") if totals.get(v)]
    if result.outputs:
        parts.append(f"{len(result.outputs)} output(s) change")
    return ", ".join(parts)


def plan(ws: Workspace, environ: Mapping[str, str], *, lock: bool = True) -> int:
    t = ws.target
    ws.prepare()
    code, _ = ws.terraform(
        "plan",
        "-input=false",
        "-detailed-exitcode",
        f"-out={t.planfile}",
        *([LOCK_TIMEOUT] if lock else ["-lock=false"]),
        ok=(0, 2),
    )
    t.planfile.chmod(0o600)
    # Exit 0: no change to any resource or output, hence no drift a change depends on: nothing for `show -json` (~3 s,
    # it loads the provider's schemas) to add to "No changes."
    result = ws.show(t.planfile) if code == 2 else Review()
    try:
        # Checked only where the gate is on: one allowance line may serve staging and prod while dev has no such change.
        allowed = allowed_addresses(environ.get("ALLOW_STATEFUL_CHANGES"), result) if t.gated else []
    except ValueError as error:
        t.planfile.unlink()
        raise OperateError(str(error), BAD_INPUT) from None
    text = markdown(result, t.suffix, allowed, gated=t.gated)
    (t.root / "summary.md").write_text(text, encoding="utf-8")
    (t.root / "review.json").write_text(json.dumps(fingerprint(result), indent=2) + "\n", encoding="utf-8")
    sys.stdout.write(text)
    sys.stdout.flush()
    blocked = result.blocked(t.gated, allowed)
    log(f"{t.suffix}: plan: {_verdict(result)}; saved as {t.planfile}")
    if blocked:
        t.planfile.unlink()  # a refused plan must not be applied by accident
        log(
            f"{t.suffix}: the stateful-change gate refuses {', '.join(c.address for c in blocked)}: name each in "
            "ALLOW_STATEFUL_CHANGES once there is a backup or a migration"
        )
        return GATE_FAILED
    return 0


def apply(ws: Workspace, reviewed: Path | None = None) -> int:
    t = ws.target
    if not t.planfile.is_file():
        raise OperateError(f"{t.planfile} does not exist: run `make plan ENV={t.suffix}` first", BAD_INPUT)
    if reviewed is not None:
        try:
            approved = json.loads(reviewed.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise OperateError(f"--reviewed {reviewed}: {error}", BAD_INPUT) from None
        planned = json.loads((t.root / "review.json").read_text(encoding="utf-8"))
        if approved != planned:
            raise OperateError(
                f"{t.planfile} differs from the reviewed plan {reviewed}: plan again and have it reviewed", BAD_INPUT
            )
    if not (t.stack_dir / "cdk.tf.json").is_file() or not (t.data_dir / "terraform.tfstate").is_file():
        ws.prepare()
    ws.terraform("apply", "-input=false", LOCK_TIMEOUT, str(t.planfile))
    t.planfile.unlink()  # applied: Terraform would refuse it again anyway
    # The state records each resource as it read it right after creating it: a route table before its routes, a
    # role before its policies, a key before its key policy. Recording the refreshed state now makes it the baseline
    # `make drift` compares with, so that only a later change made outside Terraform counts as drift.
    ws.terraform("apply", "-refresh-only", "-auto-approve", "-input=false", LOCK_TIMEOUT)
    log(f"{t.suffix}: applied {t.planfile.name}; the refreshed state is the drift baseline")
    return 0


def drift(ws: Workspace, *, lock: bool = True) -> int:
    t = ws.target
    ws.prepare()
    planfile = t.root / "drift.tfplan"
    code, _ = ws.terraform(
        "plan",
        "-refresh-only",
        "-input=false",
        "-detailed-exitcode",
        f"-out={planfile}",
        *([LOCK_TIMEOUT] if lock else ["-lock=false"]),
        ok=(0, 2),
    )
    planfile.chmod(0o600)
    result = ws.show(planfile, ws.read_only_attributes())
    planfile.unlink()  # a refresh-only plan is for reading; `terraform apply -refresh-only` accepts drift on purpose
    text = markdown(result, t.suffix, title="Drift", nothing="No drift.")
    (t.root / "drift.md").write_text(text, encoding="utf-8")
    sys.stdout.write(text)
    sys.stdout.flush()
    if not result.drift and not result.outputs:
        # Terraform's exit 2 may stand for read-only attributes alone (latest_restorable_time moves every few minutes)
        log(f"{t.suffix}: drift: none" + (" (only attributes no configuration sets changed)" if code else ""))
        return 0
    for item in result.drift:
        log(f"{t.suffix}: drift: {item.address}: {', '.join(item.attributes)}")
    if result.outputs:
        log(f"{t.suffix}: drift: outputs {', '.join(result.outputs)}")
    return DRIFT


def destroy(ws: Workspace) -> int:
    """An ad-hoc stack, all of it, then its state object (the nightly sweeper and a closed pull request call this)."""
    t = ws.target
    if not t.adhoc:
        raise OperateError(
            f"destroy {t.suffix}: only ad-hoc stacks (ENVIRONMENT_SUFFIX's kind, e.g. pr123) are destroyed this way; "
            f"{t.suffix} is {'the account stack' if t.suffix == ACCOUNT else 'an environment of the settings file'}",
            BAD_INPUT,
        )
    ws.prepare()
    ws.terraform("destroy", "-auto-approve", "-input=false", LOCK_TIMEOUT)
    _, listed = ws.terraform("state", "list", echo=False)
    if listed.strip():
        raise OperateError(f"{t.suffix}: the state still lists resources after destroy:\n{listed}")
    if ws.backend == "s3":
        delete_state_object(t.settings)
    log(f"{t.suffix}: destroyed")
    return 0


def delete_state_object(settings: EnvironmentSettings | AccountSettings) -> None:
    import boto3  # only destroy needs the AWS SDK

    assert isinstance(settings, EnvironmentSettings) and settings.adhoc  # noqa: S101 - destroy checked it
    key = settings.names.state_key
    boto3.client("s3", region_name=settings.state_region).delete_object(Bucket=settings.state_bucket, Key=key)
    log(f"{settings.suffix}: deleted s3://{settings.state_bucket}/{key} (the bucket keeps old versions a while)")


COMMANDS = ("plan", "apply", "drift", "destroy")


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] = os.environ) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m synth.operate", description=__doc__.split("\n\n")[0], allow_abbrev=False
    )
    parser.add_argument("command", choices=COMMANDS)
    parser.add_argument("suffix", help="dev, staging, prod, account, or an ad-hoc suffix such as pr123")
    parser.add_argument("--gated", action="store_true", help="plan: the staging/prod gate, whatever the stack")
    parser.add_argument("--no-lock", action="store_true", help="plan, drift: do not take the state lock")
    parser.add_argument("--reviewed", type=Path, help="apply: the review.json the plan must match")
    parser.add_argument("--plans-dir", type=Path, default=PLANS_DIR, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        target = resolve(args.suffix, environ, plans_dir=args.plans_dir, gated=args.gated)
        ws = Workspace(target, environ)
    except (ConfigError, InvalidSuffix, OutputFolderError) as error:
        log(f"error: {error}")
        log("nothing was done")
        return BAD_INPUT
    try:
        if args.command == "plan":
            return plan(ws, environ, lock=not args.no_lock)
        if args.command == "apply":
            return apply(ws, args.reviewed)
        if args.command == "drift":
            return drift(ws, lock=not args.no_lock)
        return destroy(ws)
    except OperateError as error:
        log(f"error: {error}")
        return error.status
    except (ConfigError, InvalidSuffix, OutputFolderError) as error:
        log(f"error: {error}")
        return BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())
