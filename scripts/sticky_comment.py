"""One pull-request comment holding every environment's plan summary, updated in place on each run.

The comment starts with a hidden marker (`<!-- video-pipeline-plan -->`); a run finds the comment a bot (the
workflow's GITHUB_TOKEN posts as github-actions[bot]) wrote starting with it and rewrites it, or creates it the first
time, so the conversation keeps one current plan comment.

    python3 -m scripts.sticky_comment --pull-request 42 --summaries DIR

DIR holds the plan jobs' artifacts as actions/download-artifact lays them out, one folder per artifact:
DIR/plan-summary-<environment>/summary.md, the summary `make plan` wrote (plans/<environment>/summary.md). Sections
follow the settings file's environments, in its order; one without a summary (its plan failed before writing one) says
so. Environment: GITHUB_TOKEN (the job needs `pull-requests: write`), GITHUB_REPOSITORY, and for the header
GITHUB_SERVER_URL, GITHUB_RUN_ID and HEAD_SHA (the pull request's head commit). Exit 1 when the comment could not be
written."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from scripts.github_api import GitHub, GitHubError, Send, urllib_send
from scripts.stateful_changes import environment_names

MARKER = "<!-- video-pipeline-plan -->"
ARTIFACT_PREFIX = "plan-summary-"  # the plan jobs upload plans/<env>/summary.md as artifact plan-summary-<env>
LIMIT = 65_536  # GitHub's maximum comment body, in characters
TRUNCATED = "\n\n_(truncated: the whole summary is in the plan job's step summary and artifact)_\n"


def missing(environment: str, run_url: str | None) -> str:
    where = f" ([workflow run]({run_url}))" if run_url else ""
    return (
        f"### Plan for `{environment}`\n\n"
        f"No summary: the plan failed before writing one (bad input or a Terraform error); see its job's log{where}.\n"
    )


def _cut(section: str, share: int) -> str:
    """`section` in at most `share` characters: whole lines, then the truncation note."""
    if len(section) <= share:
        return section
    kept = section[: max(share - len(TRUNCATED), 0)]
    return kept[: kept.rfind("\n") + 1] + TRUNCATED


def body(
    summaries: Mapping[str, str | None], head_sha: str | None = None, run_url: str | None = None, limit: int = LIMIT
) -> str:
    """The comment: marker, header, then each environment's summary in the given order (None: no summary written).
    Longer than `limit`: each section gets an equal share and is cut at a line end."""
    header = [MARKER, "## Terraform plans", ""]
    facts = [f"commit `{head_sha[:12]}`" if head_sha else "", f"[workflow run]({run_url})" if run_url else ""]
    if any(facts):
        header += [" · ".join(f for f in facts if f), ""]
    head = "\n".join(header) + "\n"
    sections = [text.rstrip("\n") + "\n" if text else missing(env, run_url) for env, text in summaries.items()]
    text = head + "\n".join(sections)
    if len(text) <= limit:
        return text
    share = (limit - len(head) - max(len(sections) - 1, 0)) // max(len(sections), 1)
    return head + "\n".join(_cut(section, share) for section in sections)


def find_comment(github: GitHub, pull_request: int, marker: str = MARKER) -> int | None:
    """The id of the first comment a bot wrote that starts with the marker (a person quoting it is left alone)."""
    for comment in github.pages(f"issues/{pull_request}/comments"):
        user = comment.get("user") or {}
        if user.get("type") == "Bot" and str(comment.get("body") or "").startswith(marker):
            return int(comment["id"])
    return None


def upsert(github: GitHub, pull_request: int, text: str, marker: str = MARKER) -> tuple[str, int]:
    """Update the sticky comment, or create it: ("updated" | "created", the comment's id)."""
    existing = find_comment(github, pull_request, marker)
    if existing is not None:
        github.call("PATCH", f"issues/comments/{existing}", {"body": text})
        return "updated", existing
    created = github.call("POST", f"issues/{pull_request}/comments", {"body": text})
    return "created", int(created["id"])


def read_summaries(directory: Path, environments: Sequence[str]) -> dict[str, str | None]:
    """Each environment's summary.md from the downloaded artifacts (None where there is none)."""
    summaries: dict[str, str | None] = {}
    for environment in environments:
        path = directory / f"{ARTIFACT_PREFIX}{environment}" / "summary.md"
        summaries[environment] = path.read_text(encoding="utf-8") if path.is_file() else None
    return summaries


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] = os.environ, send: Send = urllib_send) -> int:
    parser = argparse.ArgumentParser(
        prog="python3 -m scripts.sticky_comment", description=(__doc__ or "").split("\n\n")[0]
    )
    parser.add_argument("--pull-request", type=int, required=True)
    parser.add_argument("--summaries", type=Path, required=True, help="the downloaded artifacts folder")
    args = parser.parse_args(argv)
    run_url = None
    if environ.get("GITHUB_SERVER_URL") and environ.get("GITHUB_REPOSITORY") and environ.get("GITHUB_RUN_ID"):
        run_url = "/".join(
            [environ["GITHUB_SERVER_URL"], environ["GITHUB_REPOSITORY"], "actions/runs", environ["GITHUB_RUN_ID"]]
        )
    try:
        text = body(read_summaries(args.summaries, environment_names()), environ.get("HEAD_SHA"), run_url)
        verb, comment = upsert(GitHub.from_environment(environ, send), args.pull_request, text)
    except (OSError, GitHubError) as error:
        sys.stderr.write(f"error: {error}\n")
        return 1
    sys.stderr.write(f"{verb} comment {comment} on pull request #{args.pull_request}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
