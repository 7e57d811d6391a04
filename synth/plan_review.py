"""A reviewer's summary of a saved Terraform plan (`terraform show -json <planfile>`), and the stateful-change gate.

What `cdktf diff` cannot give: counts of create / update / replace / delete by resource type; every replace or delete
of a stateful resource listed first, with the attributes that force a replacement (`replace_paths`); output changes;
drift seen while refreshing. The gate: in staging and prod, a stateful replace or delete fails the review unless
`ALLOW_STATEFUL_CHANGES` names its address.

    python -m synth.plan_review plan.json --environment prod [--markdown]

Exit status: 0 reviewed, 3 a stateful change not allowed, 2 bad input (an unreadable plan, an unknown address in
ALLOW_STATEFUL_CHANGES)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Resources whose replacement or deletion loses data or breaks what depends on them (issue 14's list).
STATEFUL_TYPES = (
    "aws_db_instance",
    "aws_elasticache_replication_group",
    "aws_efs_file_system",
    "aws_secretsmanager_secret",
    "aws_kms_key",
    "aws_s3_bucket",
    "aws_cloudwatch_log_group",
)
GATED_ENVIRONMENTS = ("staging", "prod")
GATE_FAILED = 3
BAD_INPUT = 2


def action(actions: Sequence[str]) -> str:
    """Terraform's action list as one word: create, update, replace, delete, read, no-op."""
    if sorted(actions) == ["create", "delete"]:
        return "replace"
    if len(actions) == 1:
        return actions[0]
    raise ValueError(f"unknown action list {list(actions)!r}")


def _path(path: Sequence[Any]) -> str:
    """`["engine_version"]`, `["tags", "Name"]`, `["rule", 0, "name"]` -> engine_version, tags.Name, rule[0].name."""
    text = ""
    for step in path:
        text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else str(step))
    return text


@dataclass(frozen=True)
class Change:
    address: str
    type: str
    action: str
    forced_by: tuple[str, ...] = ()  # replace_paths

    @property
    def stateful(self) -> bool:
        return self.type in STATEFUL_TYPES and self.action in ("replace", "delete")


@dataclass(frozen=True)
class Drift:
    address: str
    attributes: tuple[str, ...]  # top-level attributes whose refreshed value differs


@dataclass
class Review:
    changes: list[Change] = field(default_factory=list)
    outputs: dict[str, str] = field(default_factory=dict)  # name -> action
    drift: list[Drift] = field(default_factory=list)

    @property
    def stateful(self) -> list[Change]:
        return [c for c in self.changes if c.stateful]

    def counts(self) -> dict[str, Counter[str]]:
        """resource type -> Counter of actions (no-op and read left out)."""
        by_type: dict[str, Counter[str]] = {}
        for change in self.changes:
            if change.action in ("no-op", "read"):
                continue
            by_type.setdefault(change.type, Counter())[change.action] += 1
        return dict(sorted(by_type.items()))

    @property
    def no_changes(self) -> bool:
        return not self.counts() and not self.outputs

    def blocked(self, gated: bool, allowed: Sequence[str]) -> list[Change]:
        """Stateful replaces and deletes the gate refuses (none where the gate is off)."""
        return [c for c in self.stateful if c.address not in allowed] if gated else []


def _normal(value: Any) -> Any:
    """null, "", [] and {} alike, at any depth: the provider reads an unset argument back as any of them."""
    if isinstance(value, dict):
        value = {k: _normal(v) for k, v in value.items()}
        value = {k: v for k, v in value.items() if v is not None}
    elif isinstance(value, list):
        value = [_normal(v) for v in value]
    return None if value in ("", [], {}) else value


def _changed_attributes(before: Any, after: Any) -> tuple[str, ...]:
    if not isinstance(before, dict) or not isinstance(after, dict):
        return () if before == after else ("(whole object)",)
    return tuple(sorted(k for k in set(before) | set(after) if _normal(before.get(k)) != _normal(after.get(k))))


def _relevant(plan: Mapping[str, Any]) -> dict[str, set[str]]:
    """address -> top-level attributes whose refreshed value feeds a planned change (`relevant_attributes`)."""
    relevant: dict[str, set[str]] = {}
    for item in plan.get("relevant_attributes", []):
        if item.get("attribute"):
            relevant.setdefault(item["resource"], set()).add(str(item["attribute"][0]))
    return relevant


def review(plan: Mapping[str, Any], read_only: Mapping[str, frozenset[str]] | None = None) -> Review:
    """The summary of one `terraform show -json` document.

    Drift: in a plan, what Terraform itself would show, the refreshed attributes a planned change depends on
    (`relevant_attributes`); in a refresh-only plan (`read_only` given: resource type -> the attributes its schema
    only computes, such as aws_db_instance.latest_restorable_time), every attribute a configuration can set that no
    longer has the value the state recorded."""
    result = Review()
    relevant = _relevant(plan) if read_only is None else {}
    for item in plan.get("resource_changes", []):
        if item.get("mode") == "data":
            continue
        change = item["change"]
        result.changes.append(
            Change(
                address=item["address"],
                type=item["type"],
                action=action(change["actions"]),
                forced_by=tuple(_path(p) for p in change.get("replace_paths", [])),
            )
        )
    for name, change in sorted(plan.get("output_changes", {}).items()):
        verb = action(change["actions"])
        if verb != "no-op":
            result.outputs[name] = verb
    for item in plan.get("resource_drift", []):
        change = item["change"]
        attributes = _changed_attributes(change.get("before"), change.get("after"))
        if read_only is None:
            attributes = tuple(a for a in attributes if a in relevant.get(item["address"], ()))
        else:
            attributes = tuple(a for a in attributes if a not in read_only.get(item["type"], ()))
        if attributes or action(change["actions"]) == "delete":
            result.drift.append(Drift(item["address"], attributes or ("(deleted outside Terraform)",)))
    return result


def markdown(
    result: Review,
    environment: str,
    allowed: Sequence[str] = (),
    *,
    gated: bool | None = None,
    title: str = "Plan",
    nothing: str = "No changes.",
) -> str:
    """The summary as a pull-request comment or a CI step summary; the gate is on in GATED_ENVIRONMENTS unless
    `gated` says otherwise."""
    gated = environment in GATED_ENVIRONMENTS if gated is None else gated
    lines = [f"### {title} for `{environment}`", ""]
    blocked = result.blocked(gated, allowed)
    if result.stateful:
        lines += ["**Stateful replacements and deletions**", ""]
        for change in result.stateful:
            forced = f" (forced by {', '.join(f'`{p}`' for p in change.forced_by)})" if change.forced_by else ""
            verdict = " **BLOCKED**" if change in blocked else (" (allowed)" if change.address in allowed else "")
            lines.append(f"- {change.action} `{change.address}`{forced}{verdict}")
        lines.append("")
    counts = result.counts()
    if result.no_changes and not result.drift:
        lines.append(nothing)
    elif result.no_changes:
        lines.append("No changes.")
    else:
        lines += ["| resource type | create | update | replace | delete |", "|---|---|---|---|---|"]
        for type_, counter in counts.items():
            cells = " | ".join(str(counter.get(a, "")) for a in ("create", "update", "replace", "delete"))
            lines.append(f"| `{type_}` | {cells} |")
        total = Counter[str]()
        for counter in counts.values():
            total.update(counter)
        lines.append(
            "| **total** | "
            + " | ".join(str(total.get(a, 0)) for a in ("create", "update", "replace", "delete"))
            + " |"
        )
        if result.outputs:
            lines += ["", "Outputs: " + ", ".join(f"`{name}` ({verb})" for name, verb in result.outputs.items())]
    if result.drift:
        lines += ["", "**Drift seen while refreshing**", ""]
        lines += [f"- `{d.address}`: {', '.join(d.attributes)}" for d in result.drift]
    if blocked:
        lines += [
            "",
            (
                f"The gate refuses {len(blocked)} stateful change(s) in {environment}: name each address in "
                "`ALLOW_STATEFUL_CHANGES` (comma-separated) once you have a backup or a migration."
            ),
        ]
    return "\n".join(lines) + "\n"


def fingerprint(result: Review) -> dict[str, Any]:
    """What a reviewer approved, without any value (a plan's values include secrets): every change's address and
    action, the attributes forcing a replacement, output actions. `make apply REVIEWED=<file>` compares it."""
    return {
        "changes": [
            {"address": c.address, "action": c.action, "forced_by": list(c.forced_by)}
            for c in result.changes
            if c.action not in ("no-op", "read")
        ],
        "outputs": dict(result.outputs),
    }


def allowed_addresses(value: str | None, result: Review) -> list[str]:
    """ALLOW_STATEFUL_CHANGES: addresses separated by commas; each must be a stateful change of this plan (a typo
    would otherwise allow nothing and look like it allowed something)."""
    names = [n.strip() for n in (value or "").split(",") if n.strip()]
    known = {c.address for c in result.stateful}
    for name in names:
        if name not in known:
            raise ValueError(
                f"ALLOW_STATEFUL_CHANGES = {value!r}: {name!r} is not a stateful replace or delete in this plan"
                + (f" (those are: {', '.join(sorted(known))})" if known else " (it has none)")
            )
    return names


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] = os.environ) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("plan_json", type=Path, help="output of `terraform show -json <planfile>`")
    parser.add_argument("--environment", required=True, help="the stack's environment suffix (gated: staging, prod)")
    parser.add_argument("--markdown", type=Path, help="also write the Markdown summary to this file")
    args = parser.parse_args(argv)
    try:
        result = review(json.loads(args.plan_json.read_text(encoding="utf-8")))
        allowed = allowed_addresses(environ.get("ALLOW_STATEFUL_CHANGES"), result)
    except (OSError, ValueError, KeyError) as error:
        sys.stderr.write(f"error: {args.plan_json}: {error}\n")
        return BAD_INPUT
    text = markdown(result, args.environment, allowed)
    sys.stdout.write(text)
    if args.markdown:
        args.markdown.write_text(text, encoding="utf-8")
    return GATE_FAILED if result.blocked(args.environment in GATED_ENVIRONMENTS, allowed) else 0


if __name__ == "__main__":
    sys.exit(main())
