"""The few GitHub REST calls the workflows make (.github/workflows), with the job's GITHUB_TOKEN; standard library only,
so a job runs them without installing the app.

The transport is a parameter: the tests answer requests from a dictionary and never reach the network."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

API_VERSION = "2022-11-28"
PAGE_SIZE = 100

# method, URL, headers, body -> status, body
Send = Callable[[str, str, Mapping[str, str], bytes | None], tuple[int, bytes]]


class GitHubError(RuntimeError):
    pass


def urllib_send(method: str, url: str, headers: Mapping[str, str], body: bytes | None) -> tuple[int, bytes]:
    if not url.startswith("https://"):
        raise GitHubError(f"refusing a non-HTTPS GitHub API URL: {url}")
    request = urllib.request.Request(url, data=body, headers=dict(headers), method=method)  # noqa: S310 - https only
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - https only (checked above)
            return int(response.status), bytes(response.read())
    except urllib.error.HTTPError as error:
        return error.code, error.read()
    except (urllib.error.URLError, TimeoutError) as error:  # no answer at all (DNS, connection, timeout)
        raise GitHubError(f"{method} {url}: {error}") from None


@dataclass(frozen=True)
class GitHub:
    token: str = field(repr=False)  # never in a log line
    repository: str  # owner/name
    api_url: str = "https://api.github.com"
    send: Send = urllib_send

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ, send: Send = urllib_send) -> GitHub:
        """From what every Actions job has (GITHUB_REPOSITORY, GITHUB_API_URL) and the GITHUB_TOKEN a step passes."""
        missing = [name for name in ("GITHUB_TOKEN", "GITHUB_REPOSITORY") if not environ.get(name)]
        if missing:
            raise GitHubError(f"{' and '.join(missing)} must be set (a workflow step passes them in `env:`)")
        api_url = environ.get("GITHUB_API_URL") or cls.api_url
        return cls(environ["GITHUB_TOKEN"], environ["GITHUB_REPOSITORY"], api_url.rstrip("/"), send)

    def call(self, method: str, path: str, payload: Mapping[str, Any] | None = None) -> Any:
        """One request to `path` (relative to the repository unless it starts with `/`); the decoded JSON answer."""
        url = f"{self.api_url}{path if path.startswith('/') else f'/repos/{self.repository}/{path}'}"
        headers = {
            "Accept": "application/vnd.github+json",
            "Authorization": f"Bearer {self.token}",
            "X-GitHub-Api-Version": API_VERSION,
            "User-Agent": "video-pipeline-infra-ci",
        }
        body = None
        if payload is not None:
            body = json.dumps(payload).encode()
            headers["Content-Type"] = "application/json"
        status, answer = self.send(method, url, headers, body)
        if not 200 <= status < 300:
            raise GitHubError(f"{method} {url}: HTTP {status}: {answer[:500].decode(errors='replace')}")
        return json.loads(answer) if answer else None

    def pages(self, path: str) -> Iterator[Any]:
        """Every item of a list endpoint, page by page (a short page is the last)."""
        separator = "&" if "?" in path else "?"
        page = 1
        while True:
            items = self.call("GET", f"{path}{separator}per_page={PAGE_SIZE}&page={page}")
            if not isinstance(items, list):
                raise GitHubError(f"GET {path}: expected a list, got {type(items).__name__}")
            yield from items
            if len(items) < PAGE_SIZE:
                return
            page += 1
