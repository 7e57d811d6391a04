"""Read synthesized Terraform JSON by resource type and properties, never by cdktf's generated logical ids.

A block is found by what it is (`find(stack, "aws_security_group", name="rds-dev")`); a reference another block holds
(`${aws_security_group.<id>.id}`) is followed to the block it names (`referenced`), or compared with the reference to a
block found by its properties (`reference_to`). Logical ids stay opaque: Terraform's reference grammar is written down
here, once, and nowhere else in the tests.
"""

from __future__ import annotations

import json
import re
from typing import Any

# Terraform's address of a block: `<type>.<name>` (a resource) or `data.<type>.<name>` (a data source).
ADDRESS = r"(?P<data>data\.)?(?P<type>[a-z0-9_]+)\.(?P<name>[A-Za-z0-9_-]+)"
# A reference to one attribute of a block: `${<address>.<attribute>}`, the attribute possibly indexed
# (`master_user_secret[0].secret_arn`). Function calls (`${element(...)}`) are not references.
REFERENCE = re.compile(
    r"\$\{" + ADDRESS + r"\.(?P<attribute>[A-Za-z0-9_]+(?:\[[0-9]+\])?(?:\.[A-Za-z0-9_]+(?:\[[0-9]+\])?)*)\}"
)

# Properties that tell blocks of one type apart, for assertion messages.
_IDENTIFYING = (
    "name",
    "tags",
    "function_name",
    "identifier",
    "replication_group_id",
    "family",
    "path_part",
    "http_method",
    "description",
    "cidr_block",
    "key_type",
)


def _blocks(stack: dict, type_: str) -> dict[str, dict]:
    """Blocks of one type by logical id: `aws_subnet` for resources, `data.aws_partition` for data sources."""
    if type_.startswith("data."):
        return stack.get("data", {}).get(type_.removeprefix("data."), {})
    return stack.get("resource", {}).get(type_, {})


def _matches(actual: Any, expected: Any) -> bool:
    """A dict matches if every expected key matches (others may exist); a callable is a predicate; else equality."""
    if callable(expected):
        return bool(expected(actual))
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(k in actual and _matches(actual[k], v) for k, v in expected.items())
    return actual == expected


def _summary(block: dict) -> str:
    shown = {k: block[k] for k in _IDENTIFYING if k in block} or block
    text = json.dumps(shown, sort_keys=True)
    return text if len(text) <= 160 else text[:157] + "..."


def find_all(stack: dict, type_: str, **properties: Any) -> list[dict]:
    """Every block of `type_` whose properties match, in the stack's order. A property given as a dict matches a
    subset (`tags={"Tier": "private"}`); given as a callable, it is a predicate on the value."""
    return [block for block in _blocks(stack, type_).values() if _matches(block, properties)]


def find(stack: dict, type_: str, **properties: Any) -> dict:
    """The one block of `type_` whose properties match (see `find_all`); with no properties, the only one."""
    found = find_all(stack, type_, **properties)
    if len(found) != 1:
        wanted = ", ".join(f"{k}={v!r}" for k, v in properties.items()) or "any properties"
        candidates = "\n  ".join(_summary(b) for b in _blocks(stack, type_).values()) or "(none)"
        raise AssertionError(
            f"expected one {type_} with {wanted}, found {len(found)}; the stack's {type_} blocks:\n  {candidates}"
        )
    return found[0]


def referenced(stack: dict, ref: str, attribute: str | None = None) -> dict:
    """The block a reference such as `${aws_ecs_cluster.X.name}` or `${data.aws_iam_policy_document.X.json}` names;
    with `attribute`, the reference must be to that attribute."""
    match = REFERENCE.fullmatch(ref) if isinstance(ref, str) else None
    if match is None:
        raise AssertionError(f"{ref!r} is not a Terraform reference like ${{<type>.<name>.<attribute>}}")
    if attribute is not None and match["attribute"] != attribute:
        raise AssertionError(f"{ref!r} refers to {match['attribute']!r}, expected {attribute!r}")
    type_ = f"data.{match['type']}" if match["data"] else match["type"]
    block = _blocks(stack, type_).get(match["name"])
    if block is None:
        raise AssertionError(f"{ref!r} names no {type_} of this stack")
    return block


def address(stack: dict, block: dict) -> str:
    """Terraform's address of `block` (as `depends_on` lists it); `block` is one that find/referenced returned."""
    for kind, prefix in (("resource", ""), ("data", "data.")):
        for type_, items in stack.get(kind, {}).items():
            for name, candidate in items.items():
                if candidate is block:
                    return f"{prefix}{type_}.{name}"
    raise AssertionError(f"not a block of this stack: {_summary(block)}")


def reference_to(stack: dict, block: dict, attribute: str) -> str:
    """The reference to `attribute` of `block`, exactly as another block of the stack would hold it."""
    ref = f"${{{address(stack, block)}.{attribute}}}"
    assert REFERENCE.fullmatch(ref), ref
    return ref


# --------------------------------------------------------------------------------------------------------------------
# The stack's own vocabulary
# --------------------------------------------------------------------------------------------------------------------
def policy_statements(stack: dict, ref: str) -> list[dict]:
    """The statements of the policy document a `${data.aws_iam_policy_document.X.json}` reference names."""
    document = referenced(stack, ref, "json")
    assert any(d is document for d in find_all(stack, "data.aws_iam_policy_document")), (
        f"{ref!r}: not a policy document"
    )
    return document["statement"]


def role_statements(stack: dict, role_name: str) -> dict[str, dict]:
    """The inline policy statements of the IAM role whose `name` is `role_name`, by Sid."""
    role = find(stack, "aws_iam_role", name=role_name)
    policy = find(stack, "aws_iam_role_policy", role=reference_to(stack, role, "id"))
    statements = policy_statements(stack, policy["policy"])
    by_sid = {s.get("sid"): s for s in statements}
    assert None not in by_sid and len(by_sid) == len(statements), f"{role_name}: statements need distinct Sids"
    return by_sid


def trust_conditions(stack: dict, role_name: str) -> dict[str, tuple[str, list[str]]]:
    """The conditions of the one trust statement of the IAM role whose `name` is `role_name`: variable -> (test,
    values)."""
    [trust] = policy_statements(stack, find(stack, "aws_iam_role", name=role_name)["assume_role_policy"])
    return {c["variable"]: (c["test"], c["values"]) for c in trust.get("condition", [])}


def subnets(stack: dict, tier: str) -> list[dict]:
    """The subnets of one tier (`tags.Tier`: public, private, isolated), by their Name tag (AZ order)."""
    return sorted(find_all(stack, "aws_subnet", tags={"Tier": tier}), key=lambda s: s["tags"]["Name"])


def kms_key(stack: dict, alias: str) -> dict:
    """The KMS key an alias (`alias/notifications-dev`) points to."""
    return referenced(stack, find(stack, "aws_kms_alias", name=alias)["target_key_id"], "key_id")


def arn(stack: dict, service: str, region: str, resource: str, account: str | None = None) -> str:
    """An ARN the stack builds itself from its partition data source and, unless `account` is given (`aws` for a
    managed policy), its caller-identity data source."""
    partition = reference_to(stack, find(stack, "data.aws_partition"), "partition")
    if account is None:
        account = reference_to(stack, find(stack, "data.aws_caller_identity"), "account_id")
    return f"arn:{partition}:{service}:{region}:{account}:{resource}"
