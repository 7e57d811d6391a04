"""The architecture diagram (synth/diagram.py): README.md's Mermaid block and docs/architecture.dot are what the dev
stack of the session's synth gives (no synth of their own, no Graphviz needed); the graph counts every resource once,
draws what the JSON references, and carries no environment suffix."""

from __future__ import annotations

import json
import re
import stat
from pathlib import Path

import pytest

from config.naming import PROJECT
from synth import diagram
from tests.conftest import tree
from tests.helpers import address, find, find_all, referenced, role_statements

ROOT = Path(__file__).resolve().parents[1]
STALE = "is not what the dev stack gives: run `make diagram` and commit the result"

# The plain Mermaid subset the generator keeps to: [A-Za-z0-9_] ids, quoted labels, no markup but <br/>.
_ID = r"[A-Za-z0-9_]+"
_LABEL = r'"[^"<>]*(?:<br/>[^"<>]*)*"'
MERMAID_LINE = re.compile(
    rf"flowchart LR|  subgraph {_ID}\[{_LABEL}\]|    {_ID}\[{_LABEL}\]|  end|  {_ID} (?:-->|-\.->) {_ID}"
)
NODE_LINE = re.compile(rf'    (?P<id>{_ID})\["(?P<label>[^"]*)"\]')
EDGE_LINE = re.compile(rf"  (?P<source>{_ID}) (?P<arrow>-->|-\.->) (?P<target>{_ID})")
COUNTED = re.compile(r"(?P<type>[a-z0-9_]+)(?: \((?P<count>[0-9]+)\))?")


@pytest.fixture(scope="module")
def dev_suffix(environments) -> str:
    return next(suffix for suffix, env in environments.items() if env.names.stack == diagram.DEV_STACK)


@pytest.fixture(scope="module")
def dev(stacks, dev_suffix) -> dict:
    return stacks[dev_suffix]


@pytest.fixture(scope="module")
def graph(dev) -> diagram.Graph:
    return diagram.build(dev)


@pytest.fixture(scope="module")
def mermaid(graph) -> str:
    return diagram.mermaid(graph)


def _edge(graph: diagram.Graph, stack: dict, source: dict, target: dict) -> tuple[str, str]:
    """The arrow from the node counting block `source` to the node counting block `target`."""
    return graph.node_of(address(stack, source)).id, graph.node_of(address(stack, target)).id


# --------------------------------------------------------------------------------------------------------------------
# The committed copies
# --------------------------------------------------------------------------------------------------------------------
def test_readme_diagram_is_the_dev_stacks(graph):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert diagram.current_block(readme) == diagram.readme_block(graph), f"README.md's architecture diagram {STALE}"


def test_dot_file_is_the_dev_stacks(graph):
    committed = (ROOT / "docs" / "architecture.dot").read_text(encoding="utf-8")
    assert committed == diagram.dot(graph), f"docs/architecture.dot {STALE}"


def test_readme_section_sits_before_hardening_and_links_the_svg():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.index("## Architecture diagram\n")
    assert section < readme.index(diagram.START_MARKER) < readme.index(diagram.END_MARKER)
    assert readme.index(diagram.END_MARKER) < readme.index("## Hardening (AWS Foundational Security Best Practices)")
    assert "](docs/architecture.svg)" in readme[section : readme.index(diagram.START_MARKER)]
    assert (ROOT / "docs" / "architecture.svg").read_text(encoding="utf-8").lstrip().startswith("<?xml")


# --------------------------------------------------------------------------------------------------------------------
# What the graph shows
# --------------------------------------------------------------------------------------------------------------------
def test_every_resource_is_counted_in_exactly_one_node(dev, graph):
    resources = sorted(f"{t}.{name}" for t, items in dev["resource"].items() for name in items)
    members = sorted(member for node in graph.nodes for member in node.members)
    assert members == resources
    for node in graph.nodes:
        assert {graph.node_of(member).id for member in node.members} == {node.id}


def test_the_labels_add_up_to_the_stacks_resources(dev, mermaid):
    """What a reader sees: each node's type with its count, and its `+` line of folded types with theirs."""
    total = 0
    for match in NODE_LINE.finditer(mermaid):
        head, *rest = match["label"].split("<br/>")
        folded = next((i for i, line in enumerate(rest) if line.startswith("+ ")), len(rest))
        items = [head, *", ".join(rest[folded:]).removeprefix("+ ").split(", ")] if rest[folded:] else [head]
        for item in items:
            counted = COUNTED.fullmatch(item)
            assert counted, f"{match['id']}: {item!r} is not `<type>` or `<type> (<count>)`"
            total += int(counted["count"] or 1)
    assert total == sum(len(items) for items in dev["resource"].values())


def test_modules_are_boxes_in_the_order_the_architecture_reads(graph, stacks, mermaid):
    expected = ["network", "keys (encryption)", "secrets", "database", "cache", "storage"]
    expected += ["notifications", "compute", "workflow", "api"]
    assert [title for _, title, _ in graph.modules] == expected
    assert re.findall(r'  subgraph [A-Za-z0-9_]+\["([^"]+)"\]', mermaid) == expected
    # Every module of every environment has its place (staging's and prod's web ACL too): none is appended by id.
    for suffix, stack in stacks.items():
        placed = [module for module, _, _ in diagram.build(stack).modules]
        assert set(placed) <= set(diagram.MODULES), suffix


def test_the_workflows_role_is_drawn_with_the_workflow(dev, graph):
    """It keeps its first release's address (`workflow-role/role`), but the workflow creates it."""
    role = find(dev, "aws_iam_role", name=lambda n: n.startswith("sfn-workflow"))
    assert role["//"]["metadata"]["path"].split("/")[1] == "workflow-role"
    assert graph.node_of(address(dev, role)).module == "workflow"


def test_the_database_is_in_its_security_group_and_subnets(dev, graph, mermaid):
    db = find(dev, "aws_db_instance")
    [group] = [referenced(dev, ref, "id") for ref in db["vpc_security_group_ids"]]
    subnet_group = referenced(dev, db["db_subnet_group_name"], "name")
    subnet = referenced(dev, subnet_group["subnet_ids"][0], "id")
    for source in (group, subnet):
        assert _edge(graph, dev, source, db) in graph.edges
    assert "  network__security_group --> database__db_instance\n" in mermaid
    # The subnet group is folded into the instance: no arrow of its own.
    assert graph.node_of(address(dev, subnet_group)) == graph.node_of(address(dev, db))


def test_the_task_reads_the_stores_and_the_state_machine_runs_it(dev, graph):
    task = find(dev, "aws_ecs_task_definition")
    machine = find(dev, "aws_sfn_state_machine")
    definition = json.dumps(task)
    for store_type in ("aws_db_instance", "aws_efs_file_system", "aws_elasticache_replication_group"):
        store = find(dev, store_type)
        assert f"${{{address(dev, store)}." in definition  # the JSON really references it
        assert _edge(graph, dev, store, task) in graph.edges
    assert _edge(graph, dev, task, machine) in graph.edges
    assert _edge(graph, dev, find(dev, "aws_ecs_cluster"), machine) in graph.edges
    # The state machine starts the task in the ECS tasks' group, in the private subnets.
    ecs_group = find(dev, "aws_security_group", name=lambda n: n.startswith("ecs-"))
    assert _edge(graph, dev, ecs_group, machine) in graph.edges


def test_policy_documents_count_for_what_they_grant_not_for_their_principals(dev, graph):
    """The topics' policies name the workflow's role as their only publisher; the role's own policy grants the
    publish. One arrow, topic -> role; none back."""
    role = find(dev, "aws_iam_role", name=lambda n: n.startswith("sfn-workflow"))
    topic = find_all(dev, "aws_sns_topic")[0]
    topic_policy = find(dev, "aws_sns_topic_policy", arn=f"${{{address(dev, topic)}.arn}}")
    assert f"${{{address(dev, role)}.arn}}" in json.dumps(referenced(dev, topic_policy["policy"], "json"))
    assert any(f"${{{address(dev, topic)}.arn}}" in s["resources"] for s in role_statements(dev, role["name"]).values())
    assert _edge(graph, dev, topic, role) in graph.edges
    assert _edge(graph, dev, role, topic) not in graph.edges


def test_no_two_nodes_point_at_each_other(graph):
    edges = set(graph.edges)
    assert not [(a, b) for a, b in edges if (b, a) in edges]
    assert all(a != b for a, b in edges)
    assert len(edges) == len(graph.edges)  # deduplicated


def test_arrows_from_a_kms_key_are_dashed(graph, mermaid):
    keys = {node.id for node in graph.nodes if node.type == "aws_kms_key"}
    arrows = [m.groupdict() for m in EDGE_LINE.finditer(mermaid)]
    assert len(arrows) == len(graph.edges)
    assert {a["arrow"] for a in arrows if a["source"] in keys} == {"-.->"}
    assert {a["arrow"] for a in arrows if a["source"] not in keys} == {"-->"}


# --------------------------------------------------------------------------------------------------------------------
# Text properties
# --------------------------------------------------------------------------------------------------------------------
def test_mermaid_keeps_to_the_plain_subset(mermaid):
    lines = mermaid.splitlines()
    assert lines[0] == "flowchart LR"
    assert [line for line in lines if not MERMAID_LINE.fullmatch(line)] == []
    ids = re.findall(rf"^ +({_ID})\[", mermaid, re.MULTILINE)
    assert len(ids) == len(set(ids)), "node and subgraph ids must be distinct"
    assert "end" not in {i.lower() for i in ids}


def test_no_environment_suffix_in_the_output(stacks, environments, dev_suffix):
    """Names come from types and construct ids: every environment's drawing is free of its suffix and stack name,
    and the ad-hoc stack (dev's profile under other names) draws exactly dev's picture."""
    texts = {}
    for suffix, stack in stacks.items():
        graph = diagram.build(stack)
        texts[suffix] = diagram.mermaid(graph) + diagram.dot(graph)
        for word in (suffix, PROJECT, environments[suffix].names.stack):
            assert not re.search(rf"(?<![A-Za-z0-9]){re.escape(word)}(?![A-Za-z0-9])", texts[suffix]), (suffix, word)
    adhoc = next(suffix for suffix, env in environments.items() if env.adhoc)
    assert environments[adhoc].name == environments[dev_suffix].name
    assert texts[adhoc] == texts[dev_suffix]


def test_the_output_does_not_depend_on_the_jsons_order(dev, graph):
    def reversed_order(value):
        if isinstance(value, dict):
            return {k: reversed_order(value[k]) for k in reversed(list(value))}
        return value

    again = diagram.build(reversed_order(dev))
    assert diagram.mermaid(again) == diagram.mermaid(graph)
    assert diagram.dot(again) == diagram.dot(graph)


# --------------------------------------------------------------------------------------------------------------------
# The command
# --------------------------------------------------------------------------------------------------------------------
def _readme(block: str) -> str:
    return f"# title\n\ntext before\n\n{diagram.START_MARKER}{block}{diagram.END_MARKER}\n\ntext after\n"


@pytest.fixture
def workspace(tmp_path, synth_dir, dev_suffix):
    (tmp_path / "README.md").write_text(_readme("\nold\n"))
    stack_json = synth_dir / "stacks" / f"{PROJECT}-{dev_suffix}" / "cdk.tf.json"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    args = ["--stack-json", str(stack_json), "--readme", str(tmp_path / "README.md")]
    args += ["--dot", str(tmp_path / "docs" / "architecture.dot"), "--svg", str(tmp_path / "docs" / "architecture.svg")]
    return tmp_path, bin_dir, args


def _fake_dot(bin_dir: Path) -> None:
    """A `dot` that reads its input and draws a fixed SVG: the command's own path, without Graphviz."""
    script = bin_dir / "dot"
    script.write_text("#!/bin/sh\ncat > /dev/null\necho '<svg>fake</svg>'\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)


def test_the_command_writes_the_readme_block_the_dot_and_the_svg(workspace, graph, capsys):
    folder, bin_dir, args = workspace
    _fake_dot(bin_dir)
    assert diagram.main(args, environ={"PATH": str(bin_dir)}) == 0
    readme = (folder / "README.md").read_text()
    assert readme == _readme(diagram.readme_block(graph))  # the text around the markers kept
    assert (folder / "docs" / "architecture.dot").read_text() == diagram.dot(graph)
    assert (folder / "docs" / "architecture.svg").read_text() == "<svg>fake</svg>\n"
    assert f"{len(graph.nodes)} nodes" in capsys.readouterr().err
    # A second run changes nothing.
    before = tree(folder)
    assert diagram.main(args, environ={"PATH": str(bin_dir)}) == 0
    assert tree(folder) == before


def test_without_graphviz_nothing_is_written(workspace, capsys):
    folder, bin_dir, args = workspace
    before = tree(folder)
    assert diagram.main(args, environ={"PATH": str(bin_dir)}) == diagram.BAD_INPUT
    err = capsys.readouterr().err
    assert "`dot` is not on PATH" in err
    assert "apt-get install graphviz" in err
    assert "nothing was written" in err
    assert tree(folder) == before


@pytest.mark.parametrize(
    "readme, message",
    [
        pytest.param("no markers\n", "must hold", id="none"),
        pytest.param(
            f"{diagram.START_MARKER}\n{diagram.START_MARKER}\n{diagram.END_MARKER}\n", "must hold", id="twice"
        ),
        pytest.param(f"{diagram.END_MARKER}\n{diagram.START_MARKER}\n", "comes before", id="reversed"),
    ],
)
def test_a_readme_without_its_markers_is_refused(workspace, readme, message, capsys):
    folder, bin_dir, args = workspace
    _fake_dot(bin_dir)
    (folder / "README.md").write_text(readme)
    before = tree(folder)
    assert diagram.main(args, environ={"PATH": str(bin_dir)}) == diagram.BAD_INPUT
    assert message in capsys.readouterr().err
    assert tree(folder) == before


def test_a_missing_stack_asks_for_a_synth(workspace, capsys):
    folder, bin_dir, args = workspace
    _fake_dot(bin_dir)
    args[1] = str(folder / "nowhere" / "cdk.tf.json")
    before = tree(folder)
    assert diagram.main(args, environ={"PATH": str(bin_dir)}) == diagram.BAD_INPUT
    assert "run `make synth`" in capsys.readouterr().err
    assert tree(folder) == before


def test_the_default_stack_is_the_dev_stack_under_the_output_folder():
    assert diagram.default_stack_json({}) == ROOT / "cdktf.out" / "stacks" / diagram.DEV_STACK / "cdk.tf.json"
    assert diagram.default_stack_json({"CDKTF_OUTDIR": "/x/out"}) == Path(
        "/x/out/stacks", diagram.DEV_STACK, "cdk.tf.json"
    )
