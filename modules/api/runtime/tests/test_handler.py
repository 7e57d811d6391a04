"""Handler tests against moto's in-process Step Functions mock."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from modules.api.runtime import handler as api

REGION = "ap-northeast-1"
DEFINITION = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}})


@pytest.fixture
def sfn(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SECURITY_TOKEN": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "ENVIRONMENT": "dev",
    }.items():
        monkeypatch.setenv(key, value)
    for key in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SFN", "AWS_PROFILE", "SERVICE_VERSION", "SERVICE_NAME"):
        monkeypatch.delenv(key, raising=False)
    # The client is cached at module level; each test needs one bound to its own mock.
    monkeypatch.setattr(api, "_client", None)
    with mock_aws():
        client = boto3.client("stepfunctions", region_name=REGION)
        arn = client.create_state_machine(
            name="video-pipeline-dev",
            definition=DEFINITION,
            roleArn="arn:aws:iam::123456789012:role/sfn-role",
        )["stateMachineArn"]
        monkeypatch.setenv("STATE_MACHINE_ARN", arn)
        yield client


def event(
    method: str,
    resource: str,
    *,
    body: Any = None,
    path_params: dict[str, str] | None = None,
    base64_body: bool = False,
) -> dict[str, Any]:
    path = resource
    for key, value in (path_params or {}).items():
        path = path.replace("{" + key + "}", value)
    return {
        "httpMethod": method,
        "resource": resource,
        "path": path,
        "pathParameters": path_params,
        "body": body,
        "isBase64Encoded": base64_body,
    }


def call(evt: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    response = api.handler(evt, None)
    assert response["headers"]["Content-Type"] == "application/json"
    return response["statusCode"], json.loads(response["body"])


def post(video_id: Any) -> tuple[int, dict[str, Any]]:
    return call(event("POST", "/videos", body=json.dumps({"videoId": video_id})))


def get(video_id: str) -> tuple[int, dict[str, Any]]:
    return call(event("GET", "/videos/{videoId}", path_params={"videoId": video_id}))


def test_post_starts_execution(sfn: Any) -> None:
    status, body = post("vid_01-a")
    assert status == 202
    assert body["videoId"] == "vid_01-a"
    assert body["startDate"]
    execution = sfn.describe_execution(executionArn=body["executionArn"])
    assert json.loads(execution["input"]) == {"videoId": "vid_01-a"}
    assert execution["status"] == "RUNNING"


def test_execution_names_are_valid_and_unique() -> None:
    video_id = "x" * 128
    names = {api.execution_name(video_id) for _ in range(50)}
    assert len(names) == 50
    for name in names:
        assert len(name) <= 80 and api.VIDEO_ID_PATTERN.fullmatch(name)
        assert api.is_execution_of(name, video_id)
        assert not api.is_execution_of(name, "x" * 127)


def test_get_returns_newest_execution(sfn: Any) -> None:
    _, first = post("abc")
    time.sleep(0.01)  # moto timestamps have millisecond resolution
    _, second = post("abc")
    status, body = get("abc")
    assert status == 200
    assert body["executionArn"] == second["executionArn"] != first["executionArn"]
    assert body["videoId"] == "abc"
    assert body["status"] == "RUNNING"
    assert body["startDate"] == second["startDate"]
    assert "stopDate" not in body


def test_get_does_not_mix_videos_sharing_a_prefix(sfn: Any) -> None:
    _, abc = post("abc")
    time.sleep(0.01)
    _, abc_1 = post("abc-1")
    time.sleep(0.01)
    _, abc__x = post("abc--x")
    assert get("abc")[1]["executionArn"] == abc["executionArn"]
    assert get("abc-1")[1]["executionArn"] == abc_1["executionArn"]
    assert get("abc--x")[1]["executionArn"] == abc__x["executionArn"]
    assert get("ab")[0] == 404


def test_get_reports_stop_date(sfn: Any) -> None:
    _, started = post("stopped")
    sfn.stop_execution(executionArn=started["executionArn"])
    status, body = get("stopped")
    assert status == 200
    assert body["status"] == "ABORTED"
    assert body["stopDate"]


def test_get_paginates(sfn: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    _, target = post("first")
    for i in range(3):
        post(f"other{i}")
    client = api._sfn()
    paginator = client.get_paginator("list_executions")
    original = paginator.paginate
    monkeypatch.setattr(client, "get_paginator", lambda _name: paginator)
    monkeypatch.setattr(paginator, "paginate", lambda **kw: original(**kw, PaginationConfig={"PageSize": 1}))
    status, body = get("first")
    assert status == 200 and body["executionArn"] == target["executionArn"]


def test_get_404_when_no_execution(sfn: Any) -> None:
    status, body = get("nothing-here")
    assert status == 404
    assert "error" in body


def test_metadata(sfn: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    assert call(event("GET", "/metadata")) == (
        200,
        {"service": "video-pipeline", "environment": "dev", "version": "1.0.0"},
    )
    monkeypatch.setenv("SERVICE_VERSION", "2.3.4")
    assert call(event("GET", "/metadata"))[1]["version"] == "2.3.4"


@pytest.mark.parametrize(
    "body, message",
    [
        ("{not json", "not valid JSON"),
        (None, "required"),
        ('["abc"]', "JSON object"),
        ('"abc"', "JSON object"),
        ("{}", "videoId is required"),
        (json.dumps({"video": "abc"}), "videoId is required"),
        (json.dumps({"videoId": "x" * 129}), "videoId must be"),
        (json.dumps({"videoId": "bad id!"}), "videoId must be"),
        (json.dumps({"videoId": "a/b"}), "videoId must be"),
        (json.dumps({"videoId": "abc\n"}), "videoId must be"),
        (json.dumps({"videoId": ""}), "videoId must be"),
        (json.dumps({"videoId": 123}), "videoId must be"),
        (json.dumps({"videoId": None}), "videoId must be"),
    ],
    ids=[
        "not-json",
        "no-body",
        "array",
        "string",
        "empty-object",
        "missing",
        "too-long",
        "bad-chars",
        "slash",
        "trailing-newline",
        "empty",
        "number",
        "null",
    ],
)
def test_post_bad_input_is_400(sfn: Any, body: str | None, message: str) -> None:
    status, payload = call(event("POST", "/videos", body=body))
    assert status == 400
    assert message in payload["error"]
    assert sfn.list_executions(stateMachineArn=api.os.environ["STATE_MACHINE_ARN"])["executions"] == []


def test_post_accepts_max_length_video_id(sfn: Any) -> None:
    status, body = post("v" * 128)
    assert status == 202
    assert get("v" * 128)[1]["executionArn"] == body["executionArn"]


@pytest.mark.parametrize("video_id", ["x" * 129, "bad id", "a.b", ""])
def test_get_bad_path_parameter_is_400(sfn: Any, video_id: str) -> None:
    status, body = get(video_id)
    assert status == 400
    assert "videoId must be" in body["error"]


def test_get_missing_path_parameters_is_400(sfn: Any) -> None:
    status, _ = call(event("GET", "/videos/{videoId}"))
    assert status == 400


def test_base64_body_is_decoded(sfn: Any) -> None:
    encoded = base64.b64encode(json.dumps({"videoId": "b64"}).encode()).decode()
    status, body = call(event("POST", "/videos", body=encoded, base64_body=True))
    assert status == 202 and body["videoId"] == "b64"


def test_invalid_base64_body_is_400(sfn: Any) -> None:
    status, body = call(event("POST", "/videos", body="%%%not-base64", base64_body=True))
    assert status == 400 and "not valid JSON" in body["error"]


def test_unknown_route_is_404(sfn: Any) -> None:
    status, body = call(event("GET", "/nope"))
    assert status == 404 and body == {"error": "not found"}


@pytest.mark.parametrize(
    "method, resource, allow",
    [
        ("GET", "/videos", "POST"),
        ("DELETE", "/videos/{videoId}", "GET"),
        ("POST", "/metadata", "GET"),
    ],
)
def test_wrong_method_is_405(sfn: Any, method: str, resource: str, allow: str) -> None:
    response = api.handler(event(method, resource, path_params={"videoId": "abc"}), None)
    assert response["statusCode"] == 405
    assert response["headers"] == {"Content-Type": "application/json", "Allow": allow}
    assert json.loads(response["body"]) == {"error": "method not allowed"}


def test_missing_state_machine_is_502_without_details(
    sfn: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    missing = f"arn:aws:states:{REGION}:123456789012:stateMachine:does-not-exist"
    monkeypatch.setenv("STATE_MACHINE_ARN", missing)
    for evt in (
        event("POST", "/videos", body=json.dumps({"videoId": "abc"})),
        event("GET", "/videos/{videoId}", path_params={"videoId": "abc"}),
    ):
        response = api.handler(evt, None)
        assert response["statusCode"] == 502
        assert json.loads(response["body"]) == {"error": "upstream service error"}
        assert "does-not-exist" not in response["body"]
    assert "does-not-exist" in caplog.text  # the details are logged instead


def test_client_error_is_502(sfn: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    class Failing:
        def start_execution(self, **_: Any) -> None:
            raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "secret arn"}}, "StartExecution")

    monkeypatch.setattr(api, "_client", Failing())
    response = api.handler(event("POST", "/videos", body=json.dumps({"videoId": "abc"})), None)
    assert response["statusCode"] == 502
    assert "secret" not in response["body"] and "AccessDenied" not in response["body"]


def test_client_is_cached(sfn: Any) -> None:
    assert api._sfn() is api._sfn()
