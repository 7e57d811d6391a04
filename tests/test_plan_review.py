"""The plan review (synth/plan_review.py) on `terraform show -json` documents shaped as Terraform 1.11 writes them."""

from __future__ import annotations

import json

import pytest

from synth.plan_review import BAD_INPUT, GATE_FAILED, action, main, markdown, review

DB = "aws_db_instance.database_instance_D7FC2283"
LOGS = "aws_cloudwatch_log_group.workflow_logs_9A6C825C"


def resource(address: str, actions: list[str], replace_paths: list | None = None, mode: str = "managed") -> dict:
    type_ = address.split(".")[-2] if mode == "data" else address.split(".")[0]
    change: dict = {"actions": actions, "before": {}, "after": {}}
    if replace_paths:
        change["replace_paths"] = replace_paths
    return {"address": address, "mode": mode, "type": type_, "name": address.split(".")[-1], "change": change}


PLAN = {
    "format_version": "1.2",
    "resource_changes": [
        resource(DB, ["delete", "create"], [["kms_key_id"]]),
        resource(LOGS, ["update"]),
        resource("aws_ecs_task_definition.compute_task_EC0E96B6", ["create", "delete"], [["container_definitions"]]),
        resource("aws_kms_key.encryption_key_EEB70057", ["create"]),
        resource("aws_subnet.network_subnet-private-1_5017AFE3", ["no-op"]),
        resource("data.aws_iam_policy_document.x_1", ["read"], mode="data"),
    ],
    "output_changes": {"api_key_id": {"actions": ["update"]}, "vpc_id": {"actions": ["no-op"]}},
    "resource_drift": [
        {
            "address": DB,
            "type": "aws_db_instance",
            "change": {
                "actions": ["update"],
                "before": {"instance_class": "db.t3.medium", "tags": None, "latest_restorable_time": "10:00"},
                "after": {"instance_class": "db.t3.large", "tags": {}, "latest_restorable_time": "10:05"},
            },
        },
        {
            # refreshed after create, as every route table is: its routes are resources of their own
            "address": "aws_route_table.network_rt-private-1_44C228D3",
            "type": "aws_route_table",
            "change": {"actions": ["update"], "before": {"route": []}, "after": {"route": [{"cidr_block": "0/0"}]}},
        },
    ],
    # Terraform's own rule for which drift a plan shows: the refreshed attributes a planned change depends on
    "relevant_attributes": [{"resource": DB, "attribute": ["instance_class"]}],
}
READ_ONLY = {"aws_db_instance": frozenset({"latest_restorable_time"})}


def test_actions_are_one_word():
    assert [action(a) for a in (["create"], ["update"], ["delete", "create"], ["create", "delete"])] == [
        "create",
        "update",
        "replace",
        "replace",
    ]


def test_counts_by_type_leave_out_no_ops_and_reads():
    counts = review(PLAN).counts()
    assert {t: dict(c) for t, c in counts.items()} == {
        "aws_cloudwatch_log_group": {"update": 1},
        "aws_db_instance": {"replace": 1},
        "aws_ecs_task_definition": {"replace": 1},
        "aws_kms_key": {"create": 1},
    }


def test_stateful_replacements_name_the_attributes_that_force_them():
    (change,) = review(PLAN).stateful
    assert (change.address, change.action, change.forced_by) == (DB, "replace", ("kms_key_id",))


def test_nested_replace_paths_read_as_terraform_writes_them():
    plan = {"resource_changes": [resource(LOGS, ["delete", "create"], [["name"], ["tags", "Name"], ["rule", 0, "id"]])]}
    assert review(plan).stateful[0].forced_by == ("name", "tags.Name", "rule[0].id")


def test_outputs_and_drift_are_reported():
    result = review(PLAN)
    assert result.outputs == {"api_key_id": "update"}
    assert [(d.address, d.attributes) for d in result.drift] == [(DB, ("instance_class",))]


def test_markdown_lists_stateful_changes_first_and_blocks_them_in_prod():
    text = markdown(review(PLAN), "prod")
    assert text.index(DB) < text.index("| resource type |")
    assert f"- replace `{DB}` (forced by `kms_key_id`) **BLOCKED**" in text
    assert "| `aws_db_instance` |  |  | 1 |  |" in text
    assert "| **total** | 1 | 1 | 2 | 0 |" in text
    assert "- `aws_db_instance.database_instance_D7FC2283`: instance_class" in text


def test_an_unchanged_plan_says_so():
    plan = {"resource_changes": [resource("aws_vpc.network_vpc_1", ["no-op"])], "output_changes": {}}
    assert "No changes." in markdown(review(plan), "prod")


@pytest.mark.parametrize(
    "environment, allowed, status",
    [("prod", None, GATE_FAILED), ("staging", None, GATE_FAILED), ("dev", None, 0), ("prod", DB, 0)],
)
def test_the_gate(tmp_path, capsys, environment, allowed, status):
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps(PLAN))
    environ = {"ALLOW_STATEFUL_CHANGES": allowed} if allowed else {}
    assert main([str(plan), "--environment", environment, "--markdown", str(tmp_path / "s.md")], environ) == status
    assert (tmp_path / "s.md").read_text() == capsys.readouterr().out


def test_an_unknown_allowed_address_is_bad_input(tmp_path, capsys):
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps(PLAN))
    status = main([str(plan), "--environment", "prod"], {"ALLOW_STATEFUL_CHANGES": f"{DB},aws_db_instance.typo"})
    assert status == BAD_INPUT
    assert "'aws_db_instance.typo' is not a stateful replace or delete in this plan" in capsys.readouterr().err


def test_an_unreadable_plan_is_bad_input(tmp_path, capsys):
    (tmp_path / "plan.json").write_text("not json")
    assert main([str(tmp_path / "plan.json"), "--environment", "prod"], {}) == BAD_INPUT
    assert "error:" in capsys.readouterr().err


def test_plan_drift_is_what_a_planned_change_depends_on():
    assert [(d.address, d.attributes) for d in review(PLAN).drift] == [(DB, ("instance_class",))]


def test_refresh_only_drift_leaves_out_read_only_attributes_and_unset_values():
    drift = review(PLAN, READ_ONLY).drift
    assert [(d.address, d.attributes) for d in drift] == [
        (DB, ("instance_class",)),  # not tags (null and {} alike), not latest_restorable_time (computed only)
        ("aws_route_table.network_rt-private-1_44C228D3", ("route",)),
    ]


def test_drift_summary_says_no_drift_when_nothing_changed():
    plan = {
        "resource_drift": [
            {**PLAN["resource_drift"][0], "change": {"actions": ["update"], "before": {"a": None}, "after": {"a": ""}}}
        ]
    }
    text = markdown(review(plan, READ_ONLY), "dev", title="Drift", nothing="No drift.")
    assert "### Drift for `dev`" in text and "No drift." in text and "**Drift seen" not in text
