"""The architecture diagram, generated from a synthesized stack (the dev stack's `cdk.tf.json`).

    python -m synth.diagram [--stack-json PATH] [--readme README.md] [--dot docs/architecture.dot]
                            [--svg docs/architecture.svg]

writes the Mermaid flowchart into README.md between `<!-- architecture-diagram:start -->` and
`<!-- architecture-diagram:end -->`, the same graph as Graphviz DOT, and the SVG that `dot -Tsvg` draws from it.
`make diagram` synthesizes first; tests/test_diagram.py fails when the README's copy or the DOT file no longer match
the stack. Exit status 2, and nothing written, on bad input or when Graphviz's `dot` is missing.

What the picture shows, and why (about 110 resources would be unreadable one by one on GitHub):

- **Boxes are modules**: the construct below the stack that created a resource (`"//": {"metadata": {"path":
  "video-pipeline-dev/<module>/..."}}`), in the order the architecture reads (`MODULES`). A part the code keeps at
  the address of an earlier release is drawn with the module that creates it now (`workflow-role/` with workflow).
- **Nodes are resource types within a module**, with the count and, for up to four, the construct ids
  (`security_group (4)`, `sg-ecs, sg-efs, ...`). What only configures or attaches to another resource of the module
  is folded into it and listed on a `+` line (`FOLDED`): IAM role policies into the role, key policies and aliases
  into the key, routes and route-table associations into the route table, security-group rules into the group, the
  REST API's resources, methods, integrations, models, validators and deployment into the REST API, a store's subnet
  and parameter groups into the store. Every resource of the stack is counted in exactly one node.
- **An arrow A --> B: B refers to A** (a `${<type>.<name>.<attribute>}` token in B's arguments, or in an IAM policy
  document B uses), so the picture flows from the network and the key to the API. Arrows are deduplicated; arrows
  inside one node are dropped. `depends_on` and `lifecycle` are ordering, not use, and are left out.
- **Data sources are not nodes.** An `aws_iam_policy_document` is glue: its references count as those of the role
  or resource policy that uses it, but only the resources its statements name; principals and conditions (who may
  act, in which context) are left out: a resource policy names the roles whose own policies already hold the grant
  (ARCHITECTURE.md: owners grant both sides), and drawing both would give every grant a second arrow back. The
  account, partition and zone lookups are read by nearly everything and would only add noise.

Resource types, module ids and construct ids carry no environment suffix, so every environment of one profile gives
the same text (the ad-hoc stack's equals dev's), and the output is sorted, so it changes only when the stack does.
"""

from __future__ import annotations

import argparse
import html
import json
import os
import re
import shutil
import subprocess
import sys
from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from config.naming import PROJECT

ROOT = Path(__file__).resolve().parents[1]
BAD_INPUT = 2
START_MARKER = "<!-- architecture-diagram:start -->"
END_MARKER = "<!-- architecture-diagram:end -->"
DEV_STACK = f"{PROJECT}-dev"

# Modules (construct ids below the stack) in the order the architecture reads (stacks/video_pipeline_stack.py):
# the network and the data key everything is encrypted under, the data tier, the processing tier, the API and its web
# ACL. Title per module: its file in modules/ where that differs from the construct id. A module missing here is drawn
# after these, by id.
MODULES: dict[str, str] = {
    "network": "network",
    "encryption": "keys (encryption)",
    "secrets": "secrets",
    "database": "database",
    "cache": "cache",
    "storage": "storage",
    "notifications": "notifications",
    "compute": "compute",
    "workflow": "workflow",
    "api": "api",
    "firewall": "firewall",
}
# Construct ids the code keeps at the address of an earlier release, and the module that creates them now.
PLACED: dict[str, str] = {"workflow-role": "workflow"}
STACK_LEVEL = "stack"  # the group of a resource created directly in the stack (none today)

# Resource types folded into another type's node of the same module (if the module has one): policies, aliases,
# rules, attachments and configuration that belong to one resource and would otherwise double the picture.
FOLDED: dict[str, str] = {
    "aws_route": "aws_route_table",
    "aws_route_table_association": "aws_route_table",
    "aws_vpc_security_group_ingress_rule": "aws_security_group",
    "aws_vpc_security_group_egress_rule": "aws_security_group",
    "aws_security_group_rule": "aws_security_group",
    "aws_default_security_group": "aws_vpc",
    "aws_eip": "aws_nat_gateway",
    "aws_iam_role_policy": "aws_iam_role",
    "aws_iam_role_policy_attachment": "aws_iam_role",
    "aws_kms_alias": "aws_kms_key",
    "aws_kms_key_policy": "aws_kms_key",
    "aws_sns_topic_policy": "aws_sns_topic",
    "aws_sns_topic_subscription": "aws_sns_topic",
    "aws_sqs_queue_policy": "aws_sqs_queue",
    "aws_efs_file_system_policy": "aws_efs_file_system",
    "aws_efs_backup_policy": "aws_efs_file_system",
    "aws_db_subnet_group": "aws_db_instance",
    "aws_db_parameter_group": "aws_db_instance",
    "aws_elasticache_subnet_group": "aws_elasticache_replication_group",
    "aws_elasticache_user_group": "aws_elasticache_replication_group",
    "aws_elasticache_user": "aws_elasticache_replication_group",
    "aws_ecs_cluster_capacity_providers": "aws_ecs_cluster",
    "aws_lambda_permission": "aws_lambda_function",
    "aws_api_gateway_resource": "aws_api_gateway_rest_api",
    "aws_api_gateway_method": "aws_api_gateway_rest_api",
    "aws_api_gateway_integration": "aws_api_gateway_rest_api",
    "aws_api_gateway_model": "aws_api_gateway_rest_api",
    "aws_api_gateway_request_validator": "aws_api_gateway_rest_api",
    "aws_api_gateway_gateway_response": "aws_api_gateway_rest_api",
    "aws_api_gateway_deployment": "aws_api_gateway_rest_api",
    "aws_api_gateway_method_settings": "aws_api_gateway_stage",
    "aws_api_gateway_usage_plan_key": "aws_api_gateway_usage_plan",
    "aws_wafv2_web_acl_association": "aws_wafv2_web_acl",
    "aws_wafv2_web_acl_logging_configuration": "aws_wafv2_web_acl",
}
# A `terraform_data` is a trigger: it is folded into the type of the resource whose `replace_triggered_by` names it.
TRIGGER = "terraform_data"
POLICY_DOCUMENT = "aws_iam_policy_document"
# Not arguments: cdktf's metadata, and ordering (`depends_on`, `lifecycle`) rather than use.
NOT_ARGUMENTS = frozenset({"//", "depends_on", "lifecycle", "provider", "provisioner", "connection"})
# Inside a policy document: who may act and in which context, not what the policy uses (see the module docstring).
NOT_USED = frozenset({"principals", "not_principals", "condition"})
# The same for resources that are a resource policy of their own: a Lambda permission names who may invoke the
# function (the REST API, which already refers to the function through its integrations).
NOT_USED_BY_TYPE: dict[str, frozenset[str]] = {
    "aws_lambda_permission": frozenset({"principal", "source_arn", "source_account", "principal_org_id"}),
}
# Arrows from a KMS key (what is encrypted under it, or may use it) are drawn dashed: every store and log group uses
# the environment's data key, and solid arrows from it would hide the data flow.
KEY_TYPE = "aws_kms_key"
MAX_NAMES = 4  # construct ids shown on a node; more are only counted
LINE_WIDTH = 40  # the `+` line of a node wraps here

# `${ ... }` expressions, and the block addresses inside them: `aws_x.name[.attr]`, `data.aws_x.name[.attr]` (what
# is not a block of the stack, `var.x` or `each.value`, is dropped later).
_EXPRESSION = re.compile(r"\$\{(.*?)\}", re.DOTALL)
_ADDRESS = re.compile(r"(?<![\w.])(data\.)?([a-z][a-z0-9_]*)\.([A-Za-z0-9_-]+)(?![A-Za-z0-9_-])")


@dataclass(frozen=True)
class Resource:
    address: str  # <type>.<logical id>
    type: str
    module: str
    name: str  # the construct path below the module (`sg-rds`), no suffix
    references: frozenset[str]  # addresses of the stack's resources it uses


@dataclass(frozen=True)
class Node:
    id: str  # [A-Za-z0-9_]: <module>__<short type>
    module: str
    type: str
    names: tuple[str, ...]  # construct ids of the node's resources of `type`, sorted
    folded: tuple[tuple[str, int], ...]  # (folded type, count), sorted
    members: tuple[str, ...]  # addresses of every resource counted in the node, sorted

    @property
    def count(self) -> int:
        return len(self.names)


@dataclass(frozen=True)
class Graph:
    modules: tuple[tuple[str, str, tuple[Node, ...]], ...]  # (module id, title, nodes) in MODULES order
    edges: tuple[tuple[str, str], ...]  # (from node id, to node id): the second refers to the first

    @property
    def nodes(self) -> tuple[Node, ...]:
        return tuple(node for _, _, nodes in self.modules for node in nodes)

    def node_of(self, address: str) -> Node:
        """The node that counts the resource at `address` (`<type>.<logical id>`)."""
        found = [node for node in self.nodes if address in node.members]
        if len(found) != 1:
            raise KeyError(f"{address}: in {len(found)} nodes")
        return found[0]


class DiagramError(Exception):
    """Bad input: the message names what and why."""


# --------------------------------------------------------------------------------------------------------------------
# Reading the stack
# --------------------------------------------------------------------------------------------------------------------
def _strings(value: Any, skip: frozenset[str]) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            if key not in skip:
                yield from _strings(item, skip)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item, skip)


def _addresses(value: Any, skip: frozenset[str]) -> set[str]:
    """Block addresses named in `${...}` expressions: `aws_x.name` for resources, `data.aws_x.name` for data."""
    found = set()
    for text in _strings(value, skip):
        for expression in _EXPRESSION.findall(text):
            for data, type_, name in _ADDRESS.findall(expression):
                found.add(f"{data}{type_}.{name}")
    return found


def _path(block: Mapping[str, Any], address: str) -> list[str]:
    try:
        path = block["//"]["metadata"]["path"]
    except (KeyError, TypeError):
        raise DiagramError(
            f"{address}: no construct path in its `//` metadata (not a cdktf-synthesized stack?)"
        ) from None
    parts = str(path).split("/")
    if len(parts) < 2:
        raise DiagramError(f"{address}: construct path {path!r} has no part below the stack")
    return parts


def resources(stack: Mapping[str, Any]) -> list[Resource]:
    """The stack's resources, each with its module, construct name and the resources it references (IAM policy
    documents followed to what their statements name)."""
    blocks = stack.get("resource")
    if not isinstance(blocks, Mapping) or not blocks:
        raise DiagramError("no `resource` blocks: not a synthesized stack")
    documents = stack.get("data", {}).get(POLICY_DOCUMENT, {})

    def document_uses(name: str, seen: frozenset[str] = frozenset()) -> set[str]:
        """What one policy document names, other documents it includes (`source_policy_documents`) followed."""
        if name in seen or name not in documents:
            return set()
        found = set()
        for address in _addresses(documents[name], NOT_USED):
            if address.startswith(f"data.{POLICY_DOCUMENT}."):
                found |= document_uses(address.split(".")[2], seen | {name})
            else:
                found.add(address)
        return found

    result = []
    for type_, items in blocks.items():
        for logical_id, block in items.items():
            address = f"{type_}.{logical_id}"
            parts = _path(block, address)
            top = PLACED.get(parts[1], parts[1])
            module, name = (top, "/".join(parts[2:])) if len(parts) > 2 else (STACK_LEVEL, parts[1])
            used: set[str] = set()
            for ref in _addresses(block, NOT_ARGUMENTS | NOT_USED_BY_TYPE.get(type_, frozenset())):
                if ref.startswith(f"data.{POLICY_DOCUMENT}."):
                    used |= document_uses(ref.split(".")[2])
                elif not ref.startswith("data."):  # account, partition, zones: context, not resources
                    used.add(ref)
            known = {ref for ref in used if ref.partition(".")[2] in blocks.get(ref.partition(".")[0], {})}
            result.append(Resource(address, type_, module, name, frozenset(known - {address})))
    return sorted(result, key=lambda r: r.address)


def _triggered(stack: Mapping[str, Any]) -> dict[str, str]:
    """terraform_data address -> type of the resource whose lifecycle.replace_triggered_by names it."""
    owners: dict[str, set[str]] = defaultdict(set)
    for type_, items in stack["resource"].items():
        for block in items.values():
            for ref in block.get("lifecycle", {}).get("replace_triggered_by", []):
                if isinstance(ref, str) and ref.startswith(f"{TRIGGER}."):
                    owners[".".join(ref.split(".")[:2])].add(type_)
    return {address: min(types) for address, types in owners.items()}


# --------------------------------------------------------------------------------------------------------------------
# The graph
# --------------------------------------------------------------------------------------------------------------------
def short_type(type_: str) -> str:
    return type_.removeprefix("aws_")


def _folded_name(type_: str, owner: str) -> str:
    """A folded type named after what it adds to its owner: what follows the owner's type in it
    (aws_vpc_security_group_ingress_rule under aws_security_group -> `ingress_rule`), else what follows the words they
    share (aws_kms_alias under aws_kms_key -> `alias`; aws_eip under aws_nat_gateway -> `eip`)."""
    after = f"_{short_type(type_)}".partition(f"_{short_type(owner)}_")[2]
    if after:
        return after
    words, owner_words = type_.split("_"), owner.split("_")
    common = 0
    while common < min(len(words) - 1, len(owner_words)) and words[common] == owner_words[common]:
        common += 1
    return "_".join(words[common:])


def _safe_id(text: str) -> str:
    """An id of [A-Za-z0-9_] only: what Mermaid's and DOT's plain ids accept."""
    return re.sub(r"[^A-Za-z0-9_]", "_", text)


def _node_id(module: str, type_: str) -> str:
    return _safe_id(f"{module}__{short_type(type_)}")


def _module_key(module: str) -> tuple[int, str]:
    order = list(MODULES)
    return (order.index(module), "") if module in order else (len(order), module)


def build(stack: Mapping[str, Any]) -> Graph:
    """The graph of a synthesized stack (its parsed cdk.tf.json)."""
    found = resources(stack)
    triggered = _triggered(stack)
    types_in: dict[str, set[str]] = defaultdict(set)
    for r in found:
        types_in[r.module].add(r.type)

    def owner(r: Resource) -> str:
        trigger_of = triggered.get(r.address)
        type_ = trigger_of if r.type == TRIGGER and trigger_of in types_in[r.module] else r.type
        seen = {type_}
        while FOLDED.get(type_) in types_in[r.module] and FOLDED[type_] not in seen:
            type_ = FOLDED[type_]
            seen.add(type_)
        return type_

    node_of = {r.address: _node_id(r.module, owner(r)) for r in found}
    groups: dict[tuple[str, str], list[Resource]] = defaultdict(list)
    for r in found:
        groups[(r.module, owner(r))].append(r)
    if len(set(node_of.values())) != len(groups):
        raise DiagramError("two nodes would share an id: module ids differ only in characters outside [A-Za-z0-9_]")

    by_module: dict[str, list[Node]] = defaultdict(list)
    for (module, type_), members in groups.items():
        folded = Counter(_folded_name(r.type, type_) for r in members if r.type != type_)
        by_module[module].append(
            Node(
                id=_node_id(module, type_),
                module=module,
                type=type_,
                names=tuple(sorted(r.name for r in members if r.type == type_)),
                folded=tuple(sorted(folded.items())),
                members=tuple(sorted(r.address for r in members)),
            )
        )
    modules = tuple(
        (module, MODULES.get(module, module), tuple(sorted(by_module[module], key=lambda n: n.id)))
        for module in sorted(by_module, key=_module_key)
    )
    position = {node.id: i for i, node in enumerate(n for _, _, nodes in modules for n in nodes)}
    edges = {(node_of[ref], node_of[r.address]) for r in found for ref in r.references}
    ordered = sorted((e for e in edges if e[0] != e[1]), key=lambda e: (position[e[0]], position[e[1]]))
    return Graph(modules, tuple(ordered))


def _label_lines(node: Node) -> tuple[str, str | None, list[str]]:
    """(type with count, construct ids or None, the `+` lines of folded types)."""
    head = short_type(node.type) + (f" ({node.count})" if node.count > 1 else "")
    names = ", ".join(node.names) if node.count <= MAX_NAMES and node.names != (short_type(node.type),) else None
    items = [f"{name} ({count})" if count > 1 else name for name, count in node.folded]
    lines: list[str] = []
    for item in items:
        if lines and len(lines[-1]) + len(item) + 2 <= LINE_WIDTH:
            lines[-1] += f", {item}"
        else:
            lines.append(f"+ {item}" if not lines else item)
    return head, names, lines


# --------------------------------------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------------------------------------
def _key_nodes(graph: Graph) -> set[str]:
    return {node.id for node in graph.nodes if node.type == KEY_TYPE}


def _mermaid_text(text: str) -> str:
    """Label text inside `"..."`: Mermaid's entity codes for what would end the string or open markup."""
    return text.replace("&", "#amp;").replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")


def mermaid(graph: Graph) -> str:
    """A `flowchart LR` with one subgraph per module; only ids of [A-Za-z0-9_] and quoted labels."""
    lines = ["flowchart LR"]
    for module, title, nodes in graph.modules:
        lines.append(f'  subgraph {_safe_id("m__" + module)}["{_mermaid_text(title)}"]')
        for node in nodes:
            head, names, folded = _label_lines(node)
            parts = [head, *([names] if names else []), *folded]
            lines.append(f'    {node.id}["{"<br/>".join(_mermaid_text(p) for p in parts)}"]')
        lines.append("  end")
    keys = _key_nodes(graph)
    lines += [f"  {source} {'-.->' if source in keys else '-->'} {target}" for source, target in graph.edges]
    return "\n".join(lines) + "\n"


def _dot_id(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def dot(graph: Graph) -> str:
    """The same graph as Graphviz DOT: a cluster per module, HTML-like labels (folded types in small print)."""
    lines = [
        "// Generated by `make diagram` (synth/diagram.py); do not edit.",
        "digraph architecture {",
        '  graph [rankdir=LR, newrank=true, fontname="Helvetica", fontsize=12, nodesep=0.2, ranksep=0.7];',
        '  node [shape=box, style="rounded,filled", fillcolor="white", fontname="Helvetica", fontsize=10];',
        '  edge [color="#5f6b7a", arrowsize=0.6];',
    ]
    for module, title, nodes in graph.modules:
        lines.append(f"  subgraph {_dot_id('cluster_' + module)} {{")
        lines.append(
            f'    label={_dot_id(title)}; style="rounded,filled"; fillcolor="#f3f5f8"; color="#9aa5b1"; labeljust=l;'
        )
        for node in nodes:
            head, names, folded = _label_lines(node)
            label = f"<B>{html.escape(head)}</B>"
            if names:
                label += f"<BR/>{html.escape(names)}"
            for line in folded:
                label += f'<BR/><FONT POINT-SIZE="8" COLOR="#5f6b7a">{html.escape(line)}</FONT>'
            lines.append(f"    {_dot_id(node.id)} [label=<{label}>];")
        lines.append("  }")
    keys = _key_nodes(graph)
    dashed = ' [style=dashed, color="#9aa5b1"]'
    lines += [
        f"  {_dot_id(source)} -> {_dot_id(target)}{dashed if source in keys else ''};" for source, target in graph.edges
    ]
    lines.append("}")
    return "\n".join(lines) + "\n"


def readme_block(graph: Graph) -> str:
    """What stands between the README's markers (the markers excluded)."""
    return f"\n```mermaid\n{mermaid(graph)}```\n"


def replace_block(readme: str, block: str) -> str:
    """`readme` with `block` between its markers; a DiagramError unless each marker appears once, in order."""
    if readme.count(START_MARKER) != 1 or readme.count(END_MARKER) != 1:
        raise DiagramError(f"must hold {START_MARKER} and {END_MARKER} once each")
    start = readme.index(START_MARKER) + len(START_MARKER)
    end = readme.index(END_MARKER)
    if end < start:
        raise DiagramError(f"{END_MARKER} comes before {START_MARKER}")
    return readme[:start] + block + readme[end:]


def current_block(readme: str) -> str:
    """What stands between the README's markers now."""
    return readme[readme.index(START_MARKER) + len(START_MARKER) : readme.index(END_MARKER)]


def svg(dot_source: str, dot_command: str) -> str:
    """`dot -Tsvg` of the DOT source."""
    done = subprocess.run(  # noqa: S603 - fixed argv; the command is the `dot` found on PATH
        [dot_command, "-Tsvg"], input=dot_source, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise DiagramError(f"`dot -Tsvg` failed (exit {done.returncode}): {done.stderr.strip()}")
    return done.stdout


# --------------------------------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------------------------------
def default_stack_json(environ: Mapping[str, str]) -> Path:
    outdir = Path(environ.get("CDKTF_OUTDIR") or "cdktf.out")
    return (outdir if outdir.is_absolute() else ROOT / outdir) / "stacks" / DEV_STACK / "cdk.tf.json"


def _write(path: Path, text: str) -> None:
    """Replace `path` with `text` in one step (a temporary file beside it, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = path.with_name(f".{path.name}.tmp")
    scratch.write_text(text, encoding="utf-8")
    scratch.replace(path)


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] = os.environ) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--stack-json", type=Path, help=f"synthesized stack (default: the {DEV_STACK} stack's)")
    parser.add_argument("--readme", type=Path, default=ROOT / "README.md", help="README holding the markers")
    parser.add_argument("--dot", type=Path, default=ROOT / "docs" / "architecture.dot", help="Graphviz source")
    parser.add_argument("--svg", type=Path, default=ROOT / "docs" / "architecture.svg", help="drawn by `dot -Tsvg`")
    args = parser.parse_args(argv)
    stack_json: Path = args.stack_json or default_stack_json(environ)
    dot_command = shutil.which("dot", path=environ.get("PATH", os.defpath))
    try:
        if dot_command is None:
            raise DiagramError(
                f"{args.svg}: Graphviz's `dot` is not on PATH; install it (Debian/Ubuntu: `apt-get install graphviz`, "
                "macOS: `brew install graphviz`)"
            )
        try:
            stack = json.loads(stack_json.read_text(encoding="utf-8"))
        except OSError as error:
            raise DiagramError(
                f"{stack_json}: {error.strerror or error} (run `make synth`, with dev among ENVIRONMENTS if set)"
            ) from None
        except ValueError as error:
            raise DiagramError(f"{stack_json}: not JSON ({error})") from None
        try:
            readme = args.readme.read_text(encoding="utf-8")
        except OSError as error:
            raise DiagramError(f"{args.readme}: {error.strerror or error}") from None
        graph = build(stack)
        try:
            new_readme = replace_block(readme, readme_block(graph))
        except DiagramError as error:
            raise DiagramError(f"{args.readme}: {error}") from None
        dot_source = dot(graph)
        drawing = svg(dot_source, dot_command)
    except DiagramError as error:
        sys.stderr.write(f"error: {error}\nnothing was written\n")
        return BAD_INPUT
    _write(args.readme, new_readme)
    _write(args.dot, dot_source)
    _write(args.svg, drawing)
    edges = len(graph.edges)
    sys.stderr.write(
        f"{stack_json}: {sum(len(n.members) for n in graph.nodes)} resources in {len(graph.nodes)} nodes, "
        f"{len(graph.modules)} modules, {edges} edges -> {args.readme}, {args.dot}, {args.svg}\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
