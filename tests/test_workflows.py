"""The GitHub Actions workflows (.github/) and their scripts (scripts/github_api.py, stateful_changes.py,
sticky_comment.py): the workflows parsed as YAML and held to the rules README's "CI/CD" states; the scripts run
against a fake GitHub API. Fast, offline."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml

from config.settings import load_environments
from scripts import stateful_changes, sticky_comment
from scripts.github_api import GitHub, GitHubError

ROOT = Path(__file__).resolve().parent.parent
GITHUB_DIR = ROOT / ".github"
WORKFLOW_FILES = sorted((GITHUB_DIR / "workflows").glob("*.yml"))
ACTION_FILES = sorted((GITHUB_DIR / "actions").glob("*/action.yml"))
ENVIRONMENTS = [env.name for env in load_environments(environ={})]
CONFIGURE_AWS = "aws-actions/configure-aws-credentials"
UPLOAD = "actions/upload-artifact"
# What a workflow may upload: Markdown summaries and the review (addresses and actions, no values). Never tfplan or
# `terraform show -json`: both hold state values, secrets included.
UPLOADABLE = {"summary.md", "review.json", "drift.md"}
PINNED = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+(?:/[A-Za-z0-9_./-]+)?@[0-9a-f]{40}")
LOCAL = ("$/", "./")  # this repository's own actions, at the running commit


def load(path: Path) -> dict[str, Any]:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(document, dict), path
    return document


WORKFLOWS = {path.name: load(path) for path in WORKFLOW_FILES}
ACTIONS = {str(path.relative_to(ROOT)): load(path) for path in ACTION_FILES}


def triggers(workflow: Mapping[str, Any]) -> dict[str, Any]:
    """`on:` (YAML 1.1 reads the bare key as True)."""
    on = workflow.get("on", workflow.get(True))
    if isinstance(on, str):
        return {on: None}
    if isinstance(on, list):
        return dict.fromkeys(on)
    assert isinstance(on, dict)
    return on


def jobs(name: str) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = WORKFLOWS[name]["jobs"]
    return found


def all_jobs() -> Iterator[tuple[str, str, dict[str, Any]]]:
    for file, workflow in WORKFLOWS.items():
        for job_id, job in workflow["jobs"].items():
            yield file, job_id, job


def all_steps() -> Iterator[tuple[str, dict[str, Any]]]:
    """Every step of every workflow job and composite action, with where it is."""
    for file, job_id, job in all_jobs():
        for index, step in enumerate(job.get("steps", [])):
            yield f"{file}:{job_id}[{index}]", step
    for file, action in ACTIONS.items():
        for index, step in enumerate(action["runs"].get("steps", [])):
            yield f"{file}[{index}]", step


def uses(step: Mapping[str, Any], action: str) -> bool:
    return str(step.get("uses", "")).split("@")[0] == action


def job_uses(job: Mapping[str, Any], action: str) -> bool:
    return any(uses(step, action) for step in job.get("steps", []))


def test_the_workflows_are_there():
    assert set(WORKFLOWS) == {"pull-request.yml", "deploy.yml", "drift.yml", "pr-environment.yml", "sweeper.yml"}
    assert "toolchain" in {Path(name).parent.name for name in ACTIONS}


# --- supply chain, credentials, permissions ------------------------------------------------------------------------


def test_every_uses_is_pinned_to_a_commit():
    for where, step in all_steps():
        ref = step.get("uses")
        if ref is None or str(ref).startswith(LOCAL):
            continue
        assert PINNED.fullmatch(ref), f"{where}: {ref!r} is not pinned to a full commit SHA"
    for path in [*WORKFLOW_FILES, *ACTION_FILES]:
        for line in path.read_text(encoding="utf-8").splitlines():
            match = re.match(r"\s*(?:-\s+)?uses:\s*(\S+)(.*)", line)
            if match and not match[1].startswith(LOCAL):
                assert re.fullmatch(r"\s+# v\d+(\.\d+)*", match[2]), f"{path.name}: {line.strip()!r}: no `# vX.Y.Z`"


def test_no_pull_request_target():
    for file, workflow in WORKFLOWS.items():
        assert "pull_request_target" not in triggers(workflow), file
        assert "workflow_run" not in triggers(workflow), file  # the same trap: privileged runs on untrusted code


def test_aws_credentials_come_from_oidc_only():
    for file, job_id, job in all_jobs():
        permissions = job.get("permissions")
        if job_uses(job, CONFIGURE_AWS):
            assert permissions.get("id-token") == "write", f"{file}:{job_id}: OIDC needs id-token: write"
        else:
            assert "id-token" not in (permissions or {}), f"{file}:{job_id}: id-token without AWS credentials"
    for where, step in all_steps():
        if uses(step, CONFIGURE_AWS):
            inputs = step["with"]
            assert re.fullmatch(r"\$\{\{ vars\.AWS_(PLAN|DEPLOY)_ROLE_ARN \}\}", inputs["role-to-assume"]), where
            assert not {"aws-access-key-id", "aws-secret-access-key", "aws-session-token"} & set(inputs), where
    for path in [*WORKFLOW_FILES, *ACTION_FILES]:
        assert "secrets." not in path.read_text(encoding="utf-8"), f"{path.name}: no secrets: OIDC only"


def test_permissions_are_explicit_and_minimal():
    for file, workflow in WORKFLOWS.items():
        assert workflow["permissions"] == {}, f"{file}: top-level `permissions: {{}}`"
    for file, job_id, job in all_jobs():
        permissions = job.get("permissions")
        assert isinstance(permissions, dict), f"{file}:{job_id}: explicit permissions"
        assert set(permissions.values()) <= {"read", "write"}, f"{file}:{job_id}"
        writes = {scope for scope, level in permissions.items() if level == "write"}
        assert writes <= {"id-token", "pull-requests"}, f"{file}:{job_id}: writes {writes}"
    writers = {(file, job_id) for file, job_id, job in all_jobs() if job["permissions"].get("pull-requests") == "write"}
    assert writers == {("pull-request.yml", "comment")}


def test_every_job_has_a_timeout_and_checks_out_without_credentials():
    for file, job_id, job in all_jobs():
        assert isinstance(job.get("timeout-minutes"), int), f"{file}:{job_id}: timeout-minutes"
    checkouts = [(where, step) for where, step in all_steps() if uses(step, "actions/checkout")]
    assert checkouts
    for where, step in checkouts:
        assert step.get("with", {}).get("persist-credentials") is False, f"{where}: persist-credentials: false"


def test_no_expression_inside_run():
    """`${{ }}` in a script is pasted in before the shell parses it (script injection): values go through `env:`."""
    runs = [(where, step["run"]) for where, step in all_steps() if "run" in step]
    assert len(runs) > 10
    for where, script in runs:
        assert "${{" not in script, f"{where}: an expression inside `run:`; pass it in `env:`"


def test_no_step_uploads_a_plan():
    uploads = [(where, step) for where, step in all_steps() if uses(step, UPLOAD)]
    assert uploads
    for where, step in uploads:
        paths = [line.strip() for line in str(step["with"]["path"]).splitlines() if line.strip()]
        for path in paths:
            assert not re.search(r"[*?\[!]", path), f"{where}: {path!r}: name files, no globs or exclusions"
            assert Path(path).name in UPLOADABLE, f"{where}: {path!r} may hold state values (tfplan, plan JSON)"


# --- pull requests -------------------------------------------------------------------------------------------------


def test_pull_request_checks_and_plans_every_environment():
    pr = jobs("pull-request.yml")
    assert list(triggers(WORKFLOWS["pull-request.yml"])) == ["pull_request"]
    for job_id, target in [("lint", "make lint"), ("unit", "make test-unit"), ("synth", "make synth")]:
        assert any(step.get("run") == target for step in pr[job_id]["steps"]), job_id
    plan = pr["plan"]
    assert plan["strategy"]["matrix"]["environment"] == ENVIRONMENTS
    assert plan["strategy"]["fail-fast"] is False
    make_plan = next(step for step in plan["steps"] if "make plan" in step.get("run", ""))
    assert make_plan["run"] == 'make plan ENV="$ENVIRONMENT" OPERATE_ARGS=--no-lock'
    assert make_plan["env"] == {"ALLOW_STATEFUL_CHANGES": "${{ steps.allow.outputs.addresses }}"}
    allow = next(step for step in plan["steps"] if step.get("id") == "allow")
    assert "python3 -m scripts.stateful_changes" in allow["run"] and "--pull-request" in allow["run"]


def test_one_comment_job_gathers_every_summary():
    pr = jobs("pull-request.yml")
    upload = next(step for step in pr["plan"]["steps"] if uses(step, UPLOAD))
    assert upload["with"]["name"] == sticky_comment.ARTIFACT_PREFIX + "${{ matrix.environment }}"
    assert upload["if"] == "${{ !cancelled() }}"  # a refused plan's summary shows what the gate refused
    comment = pr["comment"]
    assert comment["needs"] == "plan"
    assert "!cancelled()" in comment["if"]
    download = next(step for step in comment["steps"] if uses(step, "actions/download-artifact"))
    assert download["with"]["pattern"] == sticky_comment.ARTIFACT_PREFIX + "*"
    assert "merge-multiple" not in download["with"]  # one folder per artifact, as read_summaries expects
    assert [s["run"] for s in comment["steps"] if "run" in s] == [
        'python3 -m scripts.sticky_comment --pull-request "$PR_NUMBER" --summaries "$RUNNER_TEMP/summaries"'
    ]


def test_forks_get_no_credentials():
    fork_check = "github.event.pull_request.head.repo.full_name == github.repository"
    for file in ("pull-request.yml", "pr-environment.yml"):
        for job_id, job in jobs(file).items():
            if job_uses(job, CONFIGURE_AWS) or job["permissions"].get("pull-requests") == "write":
                assert fork_check in job["if"], f"{file}:{job_id}"


# --- deploy --------------------------------------------------------------------------------------------------------


def test_deploy_runs_on_main_in_environment_order():
    deploy = jobs("deploy.yml")
    assert triggers(WORKFLOWS["deploy.yml"]) == {"push": {"branches": ["main"]}}
    expected = [f"{kind}-{env}" for env in ENVIRONMENTS for kind in ("plan", "apply")]
    assert list(deploy) == expected
    for previous, job_id in zip([None, *expected], expected, strict=False):
        needs = deploy[job_id].get("needs")
        assert needs == previous, f"{job_id} needs {needs!r}, expected {previous!r}"


def test_deploy_applies_what_was_reviewed():
    deploy = jobs("deploy.yml")
    for env in ENVIRONMENTS:
        plan, apply = deploy[f"plan-{env}"], deploy[f"apply-{env}"]
        assert "environment" not in plan  # the plan is what reviewers read before approving
        assert apply["environment"] == env
        for job in (plan, apply):
            assert job["concurrency"] == {"group": f"deploy-{env}", "cancel-in-progress": False}
            assert job["env"] == {"ENVIRONMENT": env}
        upload = next(step for step in plan["steps"] if uses(step, UPLOAD))
        assert upload["with"]["name"] == f"plan-{env}"
        assert upload["with"]["path"].split() == [f"plans/{env}/summary.md", f"plans/{env}/review.json"]
        make_plan = next(step for step in plan["steps"] if "make plan" in step.get("run", ""))
        assert make_plan["run"] == 'make plan ENV="$ENVIRONMENT" OPERATE_ARGS=--no-lock'
        allow = next(step for step in plan["steps"] if step.get("id") == "allow")
        assert '--merged-commit "$GITHUB_SHA"' in allow["run"]
        download = next(step for step in apply["steps"] if uses(step, "actions/download-artifact"))
        assert download["with"]["name"] == f"plan-{env}"
        assert download["with"]["path"] == "${{ runner.temp }}/reviewed"
        make_apply = next(step for step in apply["steps"] if "make apply" in step.get("run", ""))
        assert make_apply["run"].splitlines() == [
            'make plan ENV="$ENVIRONMENT"',
            'make apply ENV="$ENVIRONMENT" REVIEWED="$RUNNER_TEMP/reviewed/review.json"',
        ]
        assert make_apply["env"] == {
            "ALLOW_STATEFUL_CHANGES": f"${{{{ needs.plan-{env}.outputs.allow-stateful-changes }}}}"
        }
        roles = [step["with"]["role-to-assume"] for step in apply["steps"] if uses(step, CONFIGURE_AWS)]
        assert roles == ["${{ vars.AWS_DEPLOY_ROLE_ARN }}"]
        roles = [step["with"]["role-to-assume"] for step in plan["steps"] if uses(step, CONFIGURE_AWS)]
        assert roles == ["${{ vars.AWS_PLAN_ROLE_ARN }}"]


def test_summaries_are_published_even_when_the_command_fails():
    for file, job_id, job in all_jobs():
        for index, step in enumerate(job.get("steps", [])):
            if "GITHUB_STEP_SUMMARY" in step.get("run", ""):
                assert step["if"] == "${{ !cancelled() }}", f"{file}:{job_id}[{index}]"


# --- drift, pull-request environments, sweeper ---------------------------------------------------------------------


def test_drift_checks_every_environment_daily_in_its_own_group():
    drift = WORKFLOWS["drift.yml"]
    assert set(triggers(drift)) == {"schedule", "workflow_dispatch"}
    job = jobs("drift.yml")["drift"]
    assert job["strategy"]["matrix"]["environment"] == ENVIRONMENTS
    assert job["concurrency"]["group"] == "drift-${{ matrix.environment }}"
    assert any(step.get("run") == 'make drift ENV="$ENVIRONMENT" OPERATE_ARGS=--no-lock' for step in job["steps"])
    deploy_groups = {j["concurrency"]["group"] for j in jobs("deploy.yml").values()}
    assert not {f"drift-{env}" for env in ENVIRONMENTS} & deploy_groups


def test_pr_environment_follows_the_label():
    workflow = WORKFLOWS["pr-environment.yml"]
    assert triggers(workflow) == {
        "pull_request": {"types": ["labeled", "unlabeled", "synchronize", "reopened", "closed"]}
    }
    deploy, destroy = jobs("pr-environment.yml")["deploy"], jobs("pr-environment.yml")["destroy"]
    assert "contains(github.event.pull_request.labels.*.name, 'pr-environment')" in deploy["if"]
    assert "github.event.pull_request.state == 'open'" in deploy["if"]
    assert "github.event.action == 'closed'" in destroy["if"]
    assert "github.event.action == 'unlabeled' && github.event.label.name == 'pr-environment'" in destroy["if"]
    for job in (deploy, destroy):
        assert job["environment"] == "pr-environments"
        assert job["concurrency"] == {
            "group": "pr-environment-${{ github.event.pull_request.number }}",
            "cancel-in-progress": False,
        }

    def commands(job: Mapping[str, Any]) -> list[str]:
        return [line for step in job["steps"] for line in step.get("run", "").splitlines() if line.startswith("make")]

    assert commands(deploy) == [
        "make install",
        'make plan ENV="pr$PR_NUMBER"',
        'make apply ENV="pr$PR_NUMBER" REVIEWED="plans/pr$PR_NUMBER/review.json"',
    ]
    assert commands(destroy) == ["make install", 'make destroy ENV="pr$PR_NUMBER"']
    for job in (deploy, destroy):  # ExpiresAt: `make plan`'s date default, never a time of day from the workflow
        assert "EXPIRES_AT" not in json.dumps(job)


def test_sweeper_runs_nightly():
    sweeper = WORKFLOWS["sweeper.yml"]
    assert set(triggers(sweeper)) == {"schedule", "workflow_dispatch"}
    job = jobs("sweeper.yml")["sweep"]
    assert job["environment"] == "pr-environments"
    assert [step["run"] for step in job["steps"] if "run" in step][-1] == "make sweep"


# --- a fake GitHub API ---------------------------------------------------------------------------------------------


class FakeGitHub:
    """Answers the scripts' requests from `routes` ((method, path without query) -> (status, JSON)); a list answer is
    paginated as GitHub does (per_page, page). Records every request."""

    def __init__(self, routes: Mapping[tuple[str, str], tuple[int, Any]]) -> None:
        self.routes = dict(routes)
        self.requests: list[tuple[str, str, dict[str, str], Any]] = []

    def __call__(self, method: str, url: str, headers: Mapping[str, str], body: bytes | None) -> tuple[int, bytes]:
        parts = urlsplit(url)
        self.requests.append((method, url, dict(headers), json.loads(body) if body else None))
        status, answer = self.routes.get((method, parts.path), (404, {"message": "Not Found"}))
        query = parse_qs(parts.query)
        if isinstance(answer, list) and "per_page" in query:
            size, page = int(query["per_page"][0]), int(query["page"][0])
            answer = answer[(page - 1) * size : page * size]
        return status, json.dumps(answer).encode()


REPO = "/repos/acme/video-pipeline-infra"
ENVIRON = {"GITHUB_TOKEN": "ghs_fake", "GITHUB_REPOSITORY": "acme/video-pipeline-infra"}


def github(fake: FakeGitHub) -> GitHub:
    return GitHub.from_environment(ENVIRON, fake)


def test_github_api_calls_and_pages():
    comments = [{"id": n} for n in range(1, 251)]
    fake = FakeGitHub({("GET", f"{REPO}/issues/7/comments"): (200, comments)})
    assert [c["id"] for c in github(fake).pages("issues/7/comments")] == list(range(1, 251))
    assert [parse_qs(urlsplit(r[1]).query)["page"] for r in fake.requests] == [["1"], ["2"], ["3"]]
    _, url, headers, _ = fake.requests[0]
    assert url.startswith("https://api.github.com/repos/acme/video-pipeline-infra/issues/7/comments?")
    assert headers["Authorization"] == "Bearer ghs_fake"
    assert "ghs_fake" not in repr(github(fake))
    with pytest.raises(GitHubError, match="HTTP 404"):
        github(fake).call("GET", "pulls/1")
    with pytest.raises(GitHubError, match="GITHUB_TOKEN"):
        GitHub.from_environment({"GITHUB_REPOSITORY": "a/b"})


# --- ALLOW_STATEFUL_CHANGES from a description ---------------------------------------------------------------------

DB = "aws_db_instance.database_instance_1A2B3C4D"
KEY = "aws_kms_key.secrets_key_5E6F7A8B"
BUCKET = 'module.storage.aws_s3_bucket.logs["eu"]'

DESCRIPTION = f"""Replace the database (new engine settings).\r
\r
ALLOW_STATEFUL_CHANGES: {DB}\r
ALLOW_STATEFUL_CHANGES[prod]: {KEY}, {BUCKET}\r
  ALLOW_STATEFUL_CHANGES[staging] = {KEY}\r
Mentioned in prose, ALLOW_STATEFUL_CHANGES: not.a_line does not count.\r
<!-- template: ALLOW_STATEFUL_CHANGES: aws_db_instance.example -->\r
```text\r
ALLOW_STATEFUL_CHANGES[dev]: aws_db_instance.in_a_fence\r
~~~\r
ALLOW_STATEFUL_CHANGES[dev]: aws_db_instance.still_in_the_fence\r
```\r
~~~~\r
ALLOW_STATEFUL_CHANGES: aws_db_instance.tilde_fence\r
~~~~\r
"""


def test_parse_reads_every_line_outside_code_and_comments():
    assert stateful_changes.parse(DESCRIPTION) == [
        stateful_changes.Allowance(None, (DB,)),
        stateful_changes.Allowance("prod", (KEY, BUCKET)),
        stateful_changes.Allowance("staging", (KEY,)),
    ]
    assert stateful_changes.parse(None) == []
    assert stateful_changes.parse("ALLOW_STATEFUL_CHANGES:") == [stateful_changes.Allowance(None, ())]
    assert stateful_changes.parse(f"<!-- unclosed\nALLOW_STATEFUL_CHANGES: {DB}") == []


def test_allowed_for_merges_every_environment_lines_with_its_own():
    allowances = stateful_changes.parse(DESCRIPTION)
    assert stateful_changes.allowed_for(allowances, "prod", ENVIRONMENTS) == [DB, KEY, BUCKET]
    assert stateful_changes.allowed_for(allowances, "staging", ENVIRONMENTS) == [DB, KEY]
    assert stateful_changes.allowed_for(allowances, "dev", ENVIRONMENTS) == [DB]
    twice = stateful_changes.parse(f"ALLOW_STATEFUL_CHANGES: {DB}\nALLOW_STATEFUL_CHANGES[dev]: {DB}")
    assert stateful_changes.allowed_for(twice, "dev", ENVIRONMENTS) == [DB]


@pytest.mark.parametrize(
    "line, message",
    [
        ("ALLOW_STATEFUL_CHANGES: aws_db_instance", "not a Terraform resource address"),
        ("ALLOW_STATEFUL_CHANGES: aws_db_instance.db; rm -rf /", "not a Terraform resource address"),
        ("ALLOW_STATEFUL_CHANGES: $(curl evil)", "not a Terraform resource address"),
        ("ALLOW_STATEFUL_CHANGES[Prod]: aws_db_instance.db", "not an environment name"),
    ],
)
def test_parse_refuses_a_malformed_line(line, message):
    with pytest.raises(stateful_changes.InvalidLine, match=re.escape(message)):
        stateful_changes.parse(line)


def test_allowed_for_refuses_an_unknown_environment():
    typo = stateful_changes.parse(f"ALLOW_STATEFUL_CHANGES[prd]: {DB}")
    with pytest.raises(stateful_changes.InvalidLine, match=r"\[prd\]: no such environment"):
        stateful_changes.allowed_for(typo, "prod", ENVIRONMENTS)
    with pytest.raises(stateful_changes.InvalidLine, match=r"\[qa\]: no such environment"):
        stateful_changes.allowed_for([], "qa", ENVIRONMENTS)


def pull(number: int, body: str | None, merged_sha: str | None = None) -> dict[str, Any]:
    return {"number": number, "body": body, "merged_at": "2026-11-24T00:00:00Z" if merged_sha else None,
            "merge_commit_sha": merged_sha}  # fmt: skip


def test_merged_pull_request_is_the_one_merged_as_the_commit():
    sha = "a" * 40
    fake = FakeGitHub(
        {("GET", f"{REPO}/commits/{sha}/pulls"): (200, [pull(3, "open, contains it"), pull(5, "x", "b" * 40),
                                                         pull(9, "merged as it", sha)])}
    )  # fmt: skip
    assert stateful_changes.merged_pull_request(github(fake), sha)["number"] == 9
    fake.routes[("GET", f"{REPO}/commits/{sha}/pulls")] = (200, [pull(3, "x")])
    assert stateful_changes.merged_pull_request(github(fake), sha) is None


def test_stateful_changes_main_prints_the_addresses(capsys):
    sha = "c" * 40
    fake = FakeGitHub(
        {
            ("GET", f"{REPO}/pulls/42"): (200, pull(42, DESCRIPTION)),
            ("GET", f"{REPO}/commits/{sha}/pulls"): (200, [pull(42, DESCRIPTION, sha)]),
        }
    )
    assert stateful_changes.main(["--environment", "prod", "--pull-request", "42"], ENVIRON, fake) == 0
    assert capsys.readouterr().out == f"{DB},{KEY},{BUCKET}\n"
    assert stateful_changes.main(["--environment", "dev", "--merged-commit", sha], ENVIRON, fake) == 0
    assert capsys.readouterr().out == f"{DB}\n"
    assert stateful_changes.main(["--environment", "prod", "--merged-commit", "d" * 40], ENVIRON, fake) == 2
    assert "HTTP 404" in capsys.readouterr().err  # the API failed: exit 2, the plan does not run
    # pushed without a pull request: nothing allowed
    fake.routes[("GET", f"{REPO}/commits/{'d' * 40}/pulls")] = (200, [])
    assert stateful_changes.main(["--environment", "prod", "--merged-commit", "d" * 40], ENVIRON, fake) == 0
    assert capsys.readouterr().out == "\n"
    fake.routes[("GET", f"{REPO}/pulls/42")] = (200, pull(42, "ALLOW_STATEFUL_CHANGES[prod]: aws_db_instance"))
    assert stateful_changes.main(["--environment", "prod", "--pull-request", "42"], ENVIRON, fake) == 2
    assert "not a Terraform resource address" in capsys.readouterr().err


# --- the sticky comment --------------------------------------------------------------------------------------------

BOT = {"login": "github-actions[bot]", "type": "Bot"}
PERSON = {"login": "someone", "type": "User"}


def comments_route(comments: list[dict[str, Any]]) -> dict[tuple[str, str], tuple[int, Any]]:
    return {("GET", f"{REPO}/issues/42/comments"): (200, comments)}


def test_find_comment_takes_the_bots_marked_comment_only():
    filler = [{"id": n, "user": BOT, "body": "other bot"} for n in range(1, 150)]
    quoted = {"id": 500, "user": PERSON, "body": sticky_comment.MARKER + " quoted by a person"}
    mine = {"id": 777, "user": BOT, "body": sticky_comment.MARKER + "\n## Terraform plans"}
    fake = FakeGitHub(comments_route([*filler, quoted, mine]))
    assert sticky_comment.find_comment(github(fake), 42) == 777  # on the second page
    fake = FakeGitHub(comments_route([quoted, {"id": 9, "user": BOT, "body": "no marker"}]))
    assert sticky_comment.find_comment(github(fake), 42) is None


def test_upsert_updates_the_comment_or_creates_it():
    mine = {"id": 777, "user": BOT, "body": sticky_comment.MARKER + "\nold"}
    fake = FakeGitHub({**comments_route([mine]), ("PATCH", f"{REPO}/issues/comments/777"): (200, mine)})
    assert sticky_comment.upsert(github(fake), 42, "new text") == ("updated", 777)
    assert fake.requests[-1][0] == "PATCH" and fake.requests[-1][3] == {"body": "new text"}
    assert not [r for r in fake.requests if r[0] == "POST"]

    fake = FakeGitHub({**comments_route([]), ("POST", f"{REPO}/issues/42/comments"): (201, {"id": 901})})
    assert sticky_comment.upsert(github(fake), 42, "first text") == ("created", 901)
    assert fake.requests[-1][0] == "POST" and fake.requests[-1][3] == {"body": "first text"}


def test_body_keeps_the_order_says_what_is_missing_and_fits():
    text = sticky_comment.body({"dev": "### Plan for `dev`\n\nNo changes.\n", "staging": None}, "f" * 40, "https://r")
    assert text.startswith(sticky_comment.MARKER + "\n")
    assert f"commit `{'f' * 12}`" in text and "[workflow run](https://r)" in text
    assert text.index("`dev`") < text.index("`staging`")
    assert "No summary: the plan failed before writing one" in text

    long = {env: f"### Plan for `{env}`\n" + "- update `aws_thing.x`\n" * 5000 for env in ENVIRONMENTS}
    text = sticky_comment.body(long, limit=10_000)
    assert len(text) <= 10_000
    assert text.count("_(truncated") == len(ENVIRONMENTS)
    assert all(f"### Plan for `{env}`" in text for env in ENVIRONMENTS)


def test_sticky_comment_main_reads_the_artifacts_and_posts_one_comment(tmp_path, capsys):
    for env in ENVIRONMENTS[:-1]:  # the last plan failed before writing a summary
        folder = tmp_path / f"{sticky_comment.ARTIFACT_PREFIX}{env}"
        folder.mkdir()
        (folder / "summary.md").write_text(f"### Plan for `{env}`\n\nNo changes.\n", encoding="utf-8")
    fake = FakeGitHub({**comments_route([]), ("POST", f"{REPO}/issues/42/comments"): (201, {"id": 31})})
    environ = {**ENVIRON, "GITHUB_SERVER_URL": "https://github.com", "GITHUB_RUN_ID": "99", "HEAD_SHA": "e" * 40}
    assert sticky_comment.main(["--pull-request", "42", "--summaries", str(tmp_path)], environ, fake) == 0
    posted = fake.requests[-1][3]["body"]
    assert "https://github.com/acme/video-pipeline-infra/actions/runs/99" in posted
    assert [line for line in posted.splitlines() if line.startswith("### ")] == [
        f"### Plan for `{env}`" for env in ENVIRONMENTS
    ]
    assert posted.count("No changes.") == len(ENVIRONMENTS) - 1
    assert "No summary" in posted.split(f"`{ENVIRONMENTS[-1]}`")[1]
    assert "created comment 31" in capsys.readouterr().err

    failing = FakeGitHub(comments_route([]))  # POST answers 404
    assert sticky_comment.main(["--pull-request", "42", "--summaries", str(tmp_path)], environ, failing) == 1
