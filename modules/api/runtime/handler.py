"""Video pipeline API: start and inspect Step Functions executions per video.

Entry point ``handler.handler`` for an API Gateway REST API (AWS_PROXY, payload v1).
Deployed as this folder on its own (see ``routes.py`` for the routes), so only stdlib + boto3.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import os
import re
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

try:
    from . import routes  # imported as a package: tests, the infrastructure
except ImportError:  # Lambda: the package's folder is the root of sys.path
    import routes  # type: ignore[no-redef, import-not-found]

logger = logging.getLogger(__name__)
logger.setLevel(logging.INFO)

VIDEO_ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,128}")
VIDEO_ID_RULE = "videoId must be 1-128 characters of A-Z, a-z, 0-9, '_' or '-'"

# Execution name scheme: "<videoId[:32]>-<sha256(videoId)[:24]>-<uuid4 hex[:12]>" (<= 70 chars).
# The full videoId (up to 128 chars) does not fit in the 80-char name limit, and it may
# itself contain '-' or '--', so a plain prefix match would mix "abc" with "abc-1".
# The digest and suffix are fixed-width hex without '-', so rsplit("-", 2) recovers the
# digest exactly whatever the videoId contains; the readable prefix is for humans only.
_READABLE_LEN = 32
_DIGEST_LEN = 24  # 96 bits: collisions are not a practical concern
_SUFFIX_LEN = 12

_client: Any = None  # cached across warm invocations


def _sfn() -> Any:
    """Step Functions client, created on first use (boto3 honours AWS_ENDPOINT_URL)."""
    global _client
    if _client is None:
        _client = boto3.client("stepfunctions")
    return _client


class BadRequest(Exception):
    """Client error whose message is safe to return as-is."""


def _response(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json", **(headers or {})},
        "body": json.dumps(body),
    }


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    return _response(status, {"error": message}, headers)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _video_digest(video_id: str) -> str:
    return hashlib.sha256(video_id.encode()).hexdigest()[:_DIGEST_LEN]


def execution_name(video_id: str) -> str:
    suffix = uuid.uuid4().hex[:_SUFFIX_LEN]
    return f"{video_id[:_READABLE_LEN]}-{_video_digest(video_id)}-{suffix}"


def is_execution_of(name: str, video_id: str) -> bool:
    parts = name.rsplit("-", 2)
    return len(parts) == 3 and parts[1] == _video_digest(video_id)


def _validate_video_id(value: Any) -> str:
    if not isinstance(value, str) or not VIDEO_ID_PATTERN.fullmatch(value):
        raise BadRequest(VIDEO_ID_RULE)
    return value


def _json_body(event: dict[str, Any]) -> dict[str, Any]:
    raw = event.get("body")
    if raw is None:
        raise BadRequest("request body is required")
    try:
        text = base64.b64decode(raw, validate=True).decode() if event.get("isBase64Encoded") else raw
        body = json.loads(text)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise BadRequest("request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise BadRequest("request body must be a JSON object")
    return body


def start_video(event: dict[str, Any]) -> dict[str, Any]:
    body = _json_body(event)
    if "videoId" not in body:
        raise BadRequest("videoId is required")
    video_id = _validate_video_id(body["videoId"])
    result = _sfn().start_execution(
        stateMachineArn=os.environ["STATE_MACHINE_ARN"],
        name=execution_name(video_id),
        input=json.dumps({"videoId": video_id}),
    )
    return _response(
        202,
        {"videoId": video_id, "executionArn": result["executionArn"], "startDate": _iso(result["startDate"])},
    )


def get_video(event: dict[str, Any]) -> dict[str, Any]:
    video_id = _validate_video_id((event.get("pathParameters") or {}).get("videoId"))
    latest: dict[str, Any] | None = None
    pages = _sfn().get_paginator("list_executions").paginate(stateMachineArn=os.environ["STATE_MACHINE_ARN"])
    for page in pages:
        for execution in page["executions"]:
            # Strict ">" keeps the first of equal timestamps; AWS lists newest first.
            if is_execution_of(execution["name"], video_id) and (
                latest is None or execution["startDate"] > latest["startDate"]
            ):
                latest = execution
    if latest is None:
        return _error(404, f"no execution found for video {video_id}")
    body = {
        "videoId": video_id,
        "executionArn": latest["executionArn"],
        "status": latest["status"],
        "startDate": _iso(latest["startDate"]),
    }
    if latest.get("stopDate"):
        body["stopDate"] = _iso(latest["stopDate"])
    return _response(200, body)


def get_metadata(event: dict[str, Any]) -> dict[str, Any]:
    return _response(
        200,
        {
            "service": os.environ.get("SERVICE_NAME", "video-pipeline"),
            "environment": os.environ.get("ENVIRONMENT", ""),
            "version": os.environ.get("SERVICE_VERSION", routes.SERVICE_VERSION),
        },
    )


Action = Callable[[dict[str, Any]], dict[str, Any]]
ACTIONS: dict[str, Action] = {"start_video": start_video, "get_video": get_video, "get_metadata": get_metadata}


def handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    # REST API proxy events carry the matched resource template; fall back to the raw path.
    resource = event.get("resource") or event.get("path") or ""
    methods = routes.ROUTES.get(resource)
    if methods is None:
        return _error(404, "not found")
    name = methods.get(str(event.get("httpMethod", "")).upper())
    if name is None:
        return _error(405, "method not allowed", {"Allow": ", ".join(methods)})
    action = ACTIONS[name]
    try:
        return action(event)
    except BadRequest as exc:
        return _error(400, str(exc))
    except (ClientError, BotoCoreError):
        # Details go to the logs only; callers must not see AWS internals.
        logger.exception("AWS call failed for %s %s", event.get("httpMethod"), resource)
        return _error(502, "upstream service error")
    except Exception:
        logger.exception("unhandled error for %s %s", event.get("httpMethod"), resource)
        return _error(500, "internal error")
