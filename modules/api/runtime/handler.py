"""Video pipeline API: start and inspect the Step Functions execution of a video's processing run.

Entry point ``handler.handler`` for an API Gateway REST API (AWS_PROXY, payload v1).
Deployed as this folder on its own (see ``routes.py`` for the routes), so only stdlib + boto3.

Each (videoId, run) has exactly one execution, whose name is derived from the pair (``execution_name``): Step
Functions' name uniqueness is the only store this API needs. A GET is one DescribeExecution; a POST is a
DescribeExecution, then a StartExecution if there is nothing yet (and one more DescribeExecution if a concurrent
request won the race). See README.md for the contract.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import math
import os
import re
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, NoReturn

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

try:
    from . import routes  # imported as a package: tests, the infrastructure
except ImportError:  # Lambda: the package's folder is the root of sys.path
    import routes  # type: ignore[no-redef, import-not-found]

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions import SFNClient
    from mypy_boto3_stepfunctions.type_defs import DescribeExecutionOutputTypeDef

logger = logging.getLogger(__name__)
logger.setLevel(logging.INFO)

VIDEO_ID_PATTERN = re.compile(routes.VIDEO_ID_PATTERN)  # API Gateway's request model checks the same pattern
VIDEO_ID_RULE = routes.VIDEO_ID_RULE

# A video may be processed again by asking for the next run (routes.MAX_RUN: the request model's bound too).
MAX_RUN = routes.MAX_RUN
RUN_RULE = routes.RUN_RULE
_RUN_TEXT = re.compile(r"[0-9]{1,4}")  # the query parameter's form (ASCII digits only; str.isdigit takes more)

# Execution name: "<videoId[:32]>-<sha256(videoId)[:24]>-r<run>" (at most 32 + 1 + 24 + 2 + 4 = 63 of the 80
# characters Step Functions allows). The full videoId (up to 128 chars) does not fit, so the digest identifies the
# video and the readable prefix is for humans only; the digest and "r<run>" are fixed-form and contain no '-', so
# no two (videoId, run) pairs share a name even when a videoId contains '-' (barring a 96-bit digest collision).
_READABLE_LEN = 32
_DIGEST_LEN = 24

# Statuses after which an execution never runs again by itself (a FAILED one may be redriven by an operator).
TERMINAL_STATUSES = frozenset({"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"})

# Error codes AWS uses for throttling (botocore's standard retry mode treats the same codes as throttling).
THROTTLING_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "SlowDown",
    }
)
RETRY_AFTER_SECONDS = 2

# Request bodies are a few dozen bytes; the bound keeps parsing cheap whatever a caller sends (413 above it).
MAX_BODY_CHARS = 1024 * 1024
MAX_NUMBER_DIGITS = 20  # longer integer literals are rejected before Python converts them

# The function's timeout is 10 s. One attempt plus one retry (standard mode: backoff with jitter, throttling
# included) with 1 s to connect and 2 s to read is at most ~7 s for one call; a GET makes one call.
CLIENT_CONFIG = Config(
    retries={"mode": "standard", "total_max_attempts": 2},
    connect_timeout=1,
    read_timeout=2,
)

_client: SFNClient | None = None  # cached across warm invocations


def _sfn() -> SFNClient:
    """Step Functions client, created on first use (boto3 honours AWS_ENDPOINT_URL)."""
    global _client
    if _client is None:
        _client = boto3.client("stepfunctions", config=CLIENT_CONFIG)
    return _client


class BadRequest(Exception):
    """Client error whose message is safe to return as-is."""

    status = 400


class TooLarge(BadRequest):
    status = 413


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


def execution_name(video_id: str, run: int) -> str:
    """The one execution name of (videoId, run); the same on every call."""
    return f"{video_id[:_READABLE_LEN]}-{_video_digest(video_id)}-r{run}"


def execution_arn(state_machine_arn: str, name: str) -> str:
    """`arn:<partition>:states:<region>:<account>:execution:<machine>:<name>` for an unqualified machine ARN."""
    parts = state_machine_arn.split(":")
    if len(parts) != 7 or parts[2] != "states" or parts[5] != "stateMachine":
        raise RuntimeError(f"STATE_MACHINE_ARN is not an unqualified state machine ARN: {state_machine_arn!r}")
    return ":".join([*parts[:5], "execution", parts[6], name])


def _validate_video_id(value: Any) -> str:
    if not isinstance(value, str) or not VIDEO_ID_PATTERN.fullmatch(value):
        raise BadRequest(VIDEO_ID_RULE)
    return value


def _validate_run(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_RUN:
        raise BadRequest(RUN_RULE)
    return value


def _reject_constant(name: str) -> NoReturn:
    raise BadRequest(f"request body must not contain {name}")


def _parse_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_NUMBER_DIGITS:
        raise BadRequest(f"request body has a number longer than {MAX_NUMBER_DIGITS} digits")
    return int(text)


def _parse_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise BadRequest("request body has a number out of range")
    return value


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise BadRequest("request body has a duplicate key")
    return result


def _json_body(event: dict[str, Any]) -> dict[str, Any]:
    raw = event.get("body")
    if raw is None:
        raise BadRequest("request body is required")
    if not isinstance(raw, str):
        raise BadRequest("request body is not valid JSON")
    if len(raw) > MAX_BODY_CHARS:
        raise TooLarge(f"request body is larger than {MAX_BODY_CHARS} characters")
    try:
        text = base64.b64decode(raw, validate=True).decode() if event.get("isBase64Encoded") else raw
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise BadRequest("request body is not valid JSON (not valid base64 of UTF-8 text)") from None
    try:
        body = json.loads(
            text,
            parse_int=_parse_int,
            parse_float=_parse_float,
            parse_constant=_reject_constant,
            object_pairs_hook=_unique_keys,
        )
    except ValueError:
        raise BadRequest("request body is not valid JSON") from None
    except RecursionError:
        raise BadRequest("request body is nested too deeply") from None
    if not isinstance(body, dict):
        raise BadRequest("request body must be a JSON object")
    return body


def _query_run(event: dict[str, Any]) -> int:
    """`?run=N` (default 1); given twice is an error rather than a guess."""
    values = (event.get("multiValueQueryStringParameters") or {}).get("run")
    if isinstance(values, list) and len(values) > 1:
        raise BadRequest("run must be given once")
    text = (event.get("queryStringParameters") or {}).get("run")
    if text is None:
        return 1
    if not isinstance(text, str) or not _RUN_TEXT.fullmatch(text):
        raise BadRequest(RUN_RULE)
    return _validate_run(int(text))


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _describe(arn: str) -> DescribeExecutionOutputTypeDef | None:
    try:
        return _sfn().describe_execution(executionArn=arn)
    except ClientError as exc:
        if _error_code(exc) == "ExecutionDoesNotExist":
            return None
        raise


def _execution_body(video_id: str, run: int, execution: DescribeExecutionOutputTypeDef) -> dict[str, Any]:
    body: dict[str, Any] = {
        "videoId": video_id,
        "run": run,
        "executionArn": execution["executionArn"],
        "status": execution["status"],
        "startDate": _iso(execution["startDate"]),
    }
    if execution.get("stopDate"):
        body["stopDate"] = _iso(execution.get("stopDate"))
    # FAILED (and sometimes TIMED_OUT, ABORTED) executions carry the error and cause of the failure.
    for key in ("error", "cause"):
        if execution.get(key):
            body[key] = execution.get(key)
    return body


def _existing(video_id: str, run: int, execution: DescribeExecutionOutputTypeDef) -> dict[str, Any]:
    """POST for a run that has an execution already: 200 while it runs, 409 once it has ended."""
    body = _execution_body(video_id, run, execution)
    if execution["status"] not in TERMINAL_STATUSES:
        return _response(200, body)
    if run < MAX_RUN:
        again = f'POST {{"videoId": "{video_id}", "run": {run + 1}}} to process the video again'
        body["nextRun"] = run + 1
    else:
        again = f"run {MAX_RUN} is the last run allowed"
    message = f"run {run} of video {video_id} has ended ({execution['status']}); {again}"
    return _response(409, {"error": message, **body})


def start_video(event: dict[str, Any]) -> dict[str, Any]:
    body = _json_body(event)
    if "videoId" not in body:
        raise BadRequest("videoId is required")
    video_id = _validate_video_id(body["videoId"])
    run = _validate_run(body.get("run", 1))
    machine = os.environ["STATE_MACHINE_ARN"]
    name = execution_name(video_id, run)
    arn = execution_arn(machine, name)
    existing = _describe(arn)
    if existing is None:
        try:
            # Same name and input while RUNNING: Step Functions returns that execution (a concurrent POST's).
            started = _sfn().start_execution(
                stateMachineArn=machine, name=name, input=json.dumps({"videoId": video_id})
            )
        except ClientError as exc:
            # The name is taken by an execution that has ended meanwhile, or was started with another input.
            if _error_code(exc) != "ExecutionAlreadyExists":
                raise
            existing = _describe(arn)
            if existing is None:
                raise
        else:
            return _response(
                202,
                {
                    "videoId": video_id,
                    "run": run,
                    "executionArn": started["executionArn"],
                    "status": "RUNNING",
                    "startDate": _iso(started["startDate"]),
                },
            )
    return _existing(video_id, run, existing)


def get_video(event: dict[str, Any]) -> dict[str, Any]:
    video_id = _validate_video_id((event.get("pathParameters") or {}).get("videoId"))
    run = _query_run(event)
    execution = _describe(execution_arn(os.environ["STATE_MACHINE_ARN"], execution_name(video_id, run)))
    if execution is None:
        return _error(404, f"no execution for run {run} of video {video_id}")
    return _response(200, _execution_body(video_id, run, execution))


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


def _throttled(exc: ClientError) -> bool:
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return _error_code(exc) in THROTTLING_CODES or status == 429


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
        return _error(exc.status, str(exc))
    except ClientError as exc:
        if _throttled(exc):
            # Still throttled after the client's own retry: the caller backs off instead.
            logger.warning("Step Functions throttled %s %s: %s", event.get("httpMethod"), resource, _error_code(exc))
            return _error(429, "too many requests, retry later", {"Retry-After": str(RETRY_AFTER_SECONDS)})
        # Details go to the logs only; callers must not see AWS internals.
        logger.exception("AWS call failed for %s %s", event.get("httpMethod"), resource)
        return _error(502, "upstream service error")
    except BotoCoreError:
        logger.exception("AWS call failed for %s %s", event.get("httpMethod"), resource)
        return _error(502, "upstream service error")
    except Exception:
        logger.exception("unhandled error for %s %s", event.get("httpMethod"), resource)
        return _error(500, "internal error")
