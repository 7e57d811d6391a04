"""ALLOW_STATEFUL_CHANGES for one environment's plan, read from a pull request's description.

The stateful-change gate (synth/plan_review.py) refuses a replace or delete of a database, cache, file system, secret,
KMS key, bucket or log group in staging and prod unless ALLOW_STATEFUL_CHANGES names its address, and it refuses (bad
input, no summary) an address that is not such a change in that environment's plan. So the description says, one line
each, at the start of a line:

    ALLOW_STATEFUL_CHANGES: aws_db_instance.database_instance_1A2B3C4D            <- every environment
    ALLOW_STATEFUL_CHANGES[prod]: aws_kms_key.secrets_key_5E6F7A8B, aws_s3_bucket.x <- prod only

Addresses are separated by commas; an environment gets the every-environment lines and its own, so name a change that
does not happen in every environment on per-environment lines. Lines in fenced code blocks and in HTML comments do not
count, so a pull request template may show the syntax. An empty value allows nothing.

    python3 -m scripts.stateful_changes --environment prod --pull-request 42      # an open pull request
    python3 -m scripts.stateful_changes --environment prod --merged-commit SHA    # the one merged as commit SHA

Both read the description through the GitHub API (GITHUB_TOKEN, GITHUB_REPOSITORY; the job needs `pull-requests:
read`), so a re-run sees an edited description; a commit pushed without a pull request allows nothing. Prints the
comma-separated addresses for that environment (empty: none) for the workflow to pass to `make plan` in `env:`; what
it found goes to stderr. Exit 2: a malformed line (an address Terraform would not print, an environment the settings
file does not define), or the API failed."""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from scripts.github_api import GitHub, GitHubError, Send, urllib_send

KEY = "ALLOW_STATEFUL_CHANGES"
BAD_INPUT = 2

_LINE = re.compile(rf"[ \t]*{KEY}(?:\[(?P<environment>[^\]]*)\])?[ \t]*[:=](?P<value>.*)")
_ENVIRONMENT = re.compile(r"[a-z][a-z0-9-]*")
# A Terraform resource address as `terraform show -json` prints it: modules, data sources, count and for_each keys.
_NAME = r"[A-Za-z_][A-Za-z0-9_-]*"
_INDEX = r'(?:\[(?:[0-9]+|"[^"\\,]*")\])?'
_ADDRESS = re.compile(rf"(?:module\.{_NAME}{_INDEX}\.)*(?:data\.)?{_NAME}\.{_NAME}{_INDEX}")
# CommonMark: a fence is 3+ backticks or tildes (up to 3 spaces in); it closes with the same character, at least as
# many. An HTML comment runs to `-->` or, unclosed, to the end of the text (GitHub hides all of it).
_FENCE = re.compile(r" {0,3}(?P<fence>`{3,}|~{3,})")
_COMMENT = re.compile(r"<!--.*?(?:-->|\Z)", re.DOTALL)


class InvalidLine(ValueError):
    pass


@dataclass(frozen=True)
class Allowance:
    environment: str | None  # None: every environment
    addresses: tuple[str, ...]


def _visible_lines(description: str) -> list[str]:
    """The description's lines outside HTML comments and fenced code blocks."""
    lines = []
    fence: str | None = None
    for line in _COMMENT.sub("", description).splitlines():
        opening = _FENCE.match(line)
        if fence is None and opening:
            fence = opening["fence"]
        elif fence is not None:
            if opening and opening["fence"][0] == fence[0] and len(opening["fence"]) >= len(fence):
                fence = None
        else:
            lines.append(line)
    return lines


def parse(description: str | None) -> list[Allowance]:
    """Every ALLOW_STATEFUL_CHANGES line of a description, in order (InvalidLine for a malformed one)."""
    found = []
    for line in _visible_lines(description or ""):
        match = _LINE.fullmatch(line)
        if match is None:
            continue
        environment = match["environment"]
        if environment is not None:
            environment = environment.strip()
            if not _ENVIRONMENT.fullmatch(environment):
                raise InvalidLine(f"{line.strip()!r}: {environment!r} is not an environment name")
        addresses = [name.strip() for name in match["value"].split(",") if name.strip()]
        for name in addresses:
            if not _ADDRESS.fullmatch(name):
                raise InvalidLine(f"{line.strip()!r}: {name!r} is not a Terraform resource address")
        found.append(Allowance(environment, tuple(addresses)))
    return found


def allowed_for(allowances: Sequence[Allowance], environment: str, known: Collection[str]) -> list[str]:
    """The addresses allowed in `environment`: every-environment lines and its own, in order, each once. Every
    environment named (the one asked for included) must be one of `known`: a typo would otherwise allow nothing."""
    for name in [environment, *(a.environment for a in allowances if a.environment is not None)]:
        if name not in known:
            raise InvalidLine(f"{KEY}[{name}]: no such environment (the settings file has {', '.join(known)})")
    addresses: dict[str, None] = {}
    for allowance in allowances:
        if allowance.environment in (None, environment):
            addresses.update(dict.fromkeys(allowance.addresses))
    return list(addresses)


def merged_pull_request(github: GitHub, sha: str) -> dict[str, Any] | None:
    """The pull request whose merge (merge commit, squash or rebase) produced commit `sha`, if any; a pull request
    that merely contains the commit (one merging main into a release branch) does not count."""
    for pull in github.pages(f"commits/{sha}/pulls"):
        if pull.get("merged_at") and pull.get("merge_commit_sha") == sha:
            return dict(pull)
    return None


def environment_names() -> list[str]:
    from config.settings import load_environments  # the app's settings: standard library only

    return [env.name for env in load_environments(environ={})]


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] = os.environ, send: Send = urllib_send) -> int:
    parser = argparse.ArgumentParser(
        prog="python3 -m scripts.stateful_changes", description=(__doc__ or "").split("\n\n")[0]
    )
    parser.add_argument("--environment", required=True, help="the environment whose plan this is for")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--pull-request", type=int, help="an open pull request's number")
    source.add_argument("--merged-commit", help="a commit on the default branch (the pushed GITHUB_SHA)")
    args = parser.parse_args(argv)
    try:
        github = GitHub.from_environment(environ, send)
        if args.pull_request is not None:
            pull: dict[str, Any] | None = github.call("GET", f"pulls/{args.pull_request}")
        else:
            pull = merged_pull_request(github, args.merged_commit)
        if pull is None:
            sys.stderr.write(f"{KEY}: commit {args.merged_commit} was not merged from a pull request\n")
        description = str(pull.get("body") or "") if pull else ""
        addresses = allowed_for(parse(description), args.environment, environment_names())
    except (GitHubError, InvalidLine) as error:
        sys.stderr.write(f"error: {error}\n")
        return BAD_INPUT
    origin = f" (pull request #{pull['number']})" if pull else ""
    sys.stderr.write(f"{KEY} for {args.environment}{origin}: {', '.join(addresses) or 'none'}\n")
    sys.stdout.write(",".join(addresses) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
