"""Handler tests against moto's in-process Step Functions mock.

One moto session serves the whole module and every test gets a state machine of its own: a new mock (and so a new
boto3 session) per test costs ~0.3 s of client creation, which the unit tier's budget cannot spare. Tests of input
that must be refused before any AWS call use a client that fails on any call instead of moto.
"""

from __future__ import annotations

import base64
import itertools
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.stepfunctions.models import stepfunctions_backends

from modules.api.runtime import handler as api
from modules.api.runtime import routes

REGION = "ap-northeast-1"
DEFINITION = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}})
FAKE_MACHINE = f"arn:aws:states:{REGION}:123456789012:stateMachine:video-pipeline-test"
EXECUTION_NAME = re.compile(r"[A-Za-z0-9_-]{1,80}")
_machines = itertools.count()


@pytest.fixture(scope="module")
def aws() -> Iterator[tuple[Any, Any]]:
    """moto for the module: a client for the tests' own calls and the handler's client (created by `_sfn()`)."""
    with pytest.MonkeyPatch.context() as patch:
        for key, value in {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SECURITY_TOKEN": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": REGION,
        }.items():
            patch.setenv(key, value)
        for key in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SFN", "AWS_PROFILE", "AWS_REGION"):
            patch.delenv(key, raising=False)
        patch.setattr(api, "_client", None)
        with mock_aws():
            yield boto3.client("stepfunctions", region_name=REGION), api._sfn()


@pytest.fixture
def sfn(aws: tuple[Any, Any], monkeypatch: pytest.MonkeyPatch) -> Any:
    """The tests' client; STATE_MACHINE_ARN names a state machine made for this test only."""
    client, handler_client = aws
    monkeypatch.setattr(api, "_client", handler_client)
    arn = client.create_state_machine(
        name=f"video-pipeline-{next(_machines)}",
        definition=DEFINITION,
        roleArn="arn:aws:iam::123456789012:role/sfn-role",
    )["stateMachineArn"]
    monkeypatch.setenv("STATE_MACHINE_ARN", arn)
    monkeypatch.setenv("ENVIRONMENT", "dev")
    for key in ("SERVICE_VERSION", "SERVICE_NAME"):
        monkeypatch.delenv(key, raising=False)
    return client


class NoCalls:
    """A Step Functions client for requests that must be refused before any call (a call makes the handler 500)."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"unexpected Step Functions call: {name}")


@pytest.fixture
def no_sfn(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(api, "_client", NoCalls())
    monkeypatch.setenv("STATE_MACHINE_ARN", FAKE_MACHINE)


@pytest.fixture
def calls(sfn: Any) -> Iterator[list[str]]:
    """The names of the Step Functions operations the handler's client calls during the test."""
    names: list[str] = []
    events = api._sfn().meta.events

    def record(model: Any, **_: Any) -> None:
        names.append(model.name)

    events.register("before-call.sfn.*", record, unique_id="test-call-count")
    yield names
    events.unregister("before-call.sfn.*", unique_id="test-call-count")


def event(
    method: str,
    resource: str,
    *,
    body: Any = None,
    path_params: dict[str, str] | None = None,
    query: dict[str, list[str]] | None = None,
    base64_body: bool = False,
) -> dict[str, Any]:
    """A REST API proxy event (payload v1); `query` as API Gateway sends it (the last value in the single form)."""
    path = resource
    for key, value in (path_params or {}).items():
        path = path.replace("{" + key + "}", value)
    return {
        "httpMethod": method,
        "resource": resource,
        "path": path,
        "pathParameters": path_params,
        "queryStringParameters": {k: v[-1] for k, v in query.items()} if query else None,
        "multiValueQueryStringParameters": query,
        "body": body,
        "isBase64Encoded": base64_body,
    }


def call(evt: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    response = api.handler(evt, None)
    assert response["headers"]["Content-Type"] == "application/json"
    return response["statusCode"], json.loads(response["body"])


def post(video_id: Any, run: Any = None) -> tuple[int, dict[str, Any]]:
    body = {"videoId": video_id} if run is None else {"videoId": video_id, "run": run}
    return call(event("POST", "/videos", body=json.dumps(body)))


def get(video_id: str, run: str | None = None) -> tuple[int, dict[str, Any]]:
    query = {"run": [run]} if run is not None else None
    return call(event("GET", "/videos/{videoId}", path_params={"videoId": video_id}, query=query))


def executions(sfn: Any) -> list[dict[str, Any]]:
    return sfn.list_executions(stateMachineArn=api.os.environ["STATE_MACHINE_ARN"])["executions"]


# --- execution names ------------------------------------------------------------------------------------------------
def test_execution_names_are_valid_deterministic_and_distinct() -> None:
    video_ids = ["a", "-", "_", "abc", "abc-1", "abc--x", "x" * 128, "x" * 127, "x" * 32, "x" * 32 + "a"]
    video_ids += ["p" * 32 + tail for tail in ("a", "b", "-", "_", "a" * 96)]  # one 32-char readable prefix
    runs = [1, 2, 10, 11, 100, api.MAX_RUN]
    names = {(v, r): api.execution_name(v, r) for v in video_ids for r in runs}
    assert len(set(names.values())) == len(names)  # per video and per run
    for (video_id, run), name in names.items():
        assert len(name) <= 80 and EXECUTION_NAME.fullmatch(name), name
        assert api.execution_name(video_id, run) == name  # the same on every call: no randomness
        assert name.startswith(video_id[:32]) and name.endswith(f"-r{run}")
    assert max(len(name) for name in names.values()) == len(api.execution_name("x" * 128, api.MAX_RUN)) == 63


def test_execution_arn_is_built_from_the_state_machine_arn() -> None:
    machine = "arn:aws-cn:states:cn-north-1:123456789012:stateMachine:video-processing-workflow-dev"
    execution = "arn:aws-cn:states:cn-north-1:123456789012:execution:video-processing-workflow-dev:n"
    assert api.execution_arn(machine, "n") == execution
    for wrong in (machine + ":alias", "arn:aws:states:::x", machine.replace("stateMachine", "activity")):
        with pytest.raises(RuntimeError):
            api.execution_arn(wrong, "n")


# --- POST -----------------------------------------------------------------------------------------------------------
def test_post_starts_execution(sfn: Any, calls: list[str]) -> None:
    status, body = post("vid_01-a")
    assert status == 202
    assert body["videoId"] == "vid_01-a" and body["run"] == 1 and body["status"] == "RUNNING"
    assert body["startDate"]
    assert calls == ["DescribeExecution", "StartExecution"]
    execution = sfn.describe_execution(executionArn=body["executionArn"])
    assert execution["name"] == api.execution_name("vid_01-a", 1)
    assert json.loads(execution["input"]) == {"videoId": "vid_01-a"}
    assert execution["status"] == "RUNNING"


def test_post_while_running_answers_that_execution(sfn: Any, calls: list[str]) -> None:
    _, first = post("abc")
    calls.clear()
    status, second = post("abc", 1)
    assert status == 200
    assert second == first  # same execution, run, status and start date
    assert calls == ["DescribeExecution"]
    assert len(executions(sfn)) == 1


def test_post_after_terminal_is_409_with_the_next_run(sfn: Any) -> None:
    _, started = post("abc")
    sfn.stop_execution(executionArn=started["executionArn"])
    status, body = post("abc")
    assert status == 409
    assert body["executionArn"] == started["executionArn"]
    assert body["status"] == "ABORTED" and body["stopDate"] and body["run"] == 1 and body["nextRun"] == 2
    assert '"run": 2' in body["error"] and "ABORTED" in body["error"]
    assert len(executions(sfn)) == 1


def test_post_next_run_starts_a_new_execution(sfn: Any) -> None:
    _, first = post("abc")
    sfn.stop_execution(executionArn=first["executionArn"])
    status, second = post("abc", 2)
    assert status == 202 and second["run"] == 2
    assert second["executionArn"] != first["executionArn"]
    assert second["executionArn"].endswith(":" + api.execution_name("abc", 2))
    assert post("abc", 2)[0] == 200  # run 2 is running now
    assert get("abc", "2")[1]["executionArn"] == second["executionArn"]
    assert get("abc")[1]["status"] == "ABORTED"  # run 1 by default
    assert len(executions(sfn)) == 2


def test_post_last_run_has_no_next_run(sfn: Any) -> None:
    _, started = post("abc", api.MAX_RUN)
    sfn.stop_execution(executionArn=started["executionArn"])
    status, body = post("abc", api.MAX_RUN)
    assert status == 409 and "nextRun" not in body and "last run" in body["error"]


class RacingClient:
    """The handler's client, except that DescribeExecution answers "does not exist" once: what a POST sees when a
    concurrent POST starts the same run between its DescribeExecution and its StartExecution."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.raced = False

    def describe_execution(self, **kwargs: Any) -> Any:
        if not self.raced:
            self.raced = True
            error = {"Error": {"Code": "ExecutionDoesNotExist", "Message": "raced"}}
            raise ClientError(error, "DescribeExecution")  # type: ignore[arg-type]
        return self._client.describe_execution(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def test_concurrent_posts_while_running_start_one_execution(sfn: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    _, first = post("abc")
    monkeypatch.setattr(api, "_client", RacingClient(api._sfn()))
    status, second = post("abc")
    # StartExecution with the same name and input returns the running execution instead of starting another.
    assert status == 202 and second["executionArn"] == first["executionArn"]
    assert len(executions(sfn)) == 1


def test_concurrent_post_after_the_run_ended_is_409(
    sfn: Any, calls: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, first = post("abc")
    sfn.stop_execution(executionArn=first["executionArn"])
    monkeypatch.setattr(api, "_client", RacingClient(api._sfn()))
    calls.clear()
    status, body = post("abc")
    # StartExecution fails ExecutionAlreadyExists (the name is closed), the second DescribeExecution tells why.
    assert status == 409 and body["executionArn"] == first["executionArn"] and body["status"] == "ABORTED"
    assert calls == ["StartExecution", "DescribeExecution"]  # plus the raced DescribeExecution: three in all
    assert len(executions(sfn)) == 1


def test_post_accepts_max_length_video_id(sfn: Any) -> None:
    status, body = post("v" * 128)
    assert status == 202
    assert get("v" * 128)[1]["executionArn"] == body["executionArn"]


def test_base64_body_is_decoded(sfn: Any) -> None:
    encoded = base64.b64encode(json.dumps({"videoId": "b64", "run": 3}).encode()).decode()
    status, body = call(event("POST", "/videos", body=encoded, base64_body=True))
    assert status == 202 and body["videoId"] == "b64" and body["run"] == 3


def nested_object(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


@pytest.mark.parametrize(
    "body, message",
    [
        pytest.param("{not json", "not valid JSON", id="not-json"),
        pytest.param(None, "required", id="no-body"),
        pytest.param("", "not valid JSON", id="empty-body"),
        pytest.param('["abc"]', "JSON object", id="array"),
        pytest.param('"abc"', "JSON object", id="string"),
        pytest.param("12", "JSON object", id="number"),
        pytest.param("null", "JSON object", id="json-null"),
        pytest.param("[" * 100_000, "nested too deeply", id="deep-array"),
        pytest.param(nested_object(10_000), "nested too deeply", id="deep-object"),
        pytest.param('{"videoId": "a", "run": ' + "9" * 5000 + "}", "longer than", id="huge-int"),
        pytest.param('{"videoId": "a", "size": -' + "9" * 21 + "}", "longer than", id="huge-int-elsewhere"),
        pytest.param('{"videoId": "a", "run": 1e400}', "out of range", id="float-overflow"),
        pytest.param('{"videoId": "a", "run": NaN}', "NaN", id="nan"),
        pytest.param('{"videoId": "a", "x": Infinity}', "Infinity", id="infinity"),
        pytest.param('{"videoId": "a", "x": [-Infinity]}', "-Infinity", id="minus-infinity"),
        pytest.param('{"videoId": "a", "videoId": "b"}', "duplicate key", id="duplicate-key"),
        pytest.param('{"videoId": "a", "x": {"k": 1, "k": 2}}', "duplicate key", id="nested-duplicate-key"),
        pytest.param("{}", "videoId is required", id="empty-object"),
        pytest.param(json.dumps({"video": "abc"}), "videoId is required", id="missing"),
        pytest.param(json.dumps({"videoId": "x" * 129}), "videoId must be", id="too-long"),
        pytest.param(json.dumps({"videoId": "bad id!"}), "videoId must be", id="bad-chars"),
        pytest.param(json.dumps({"videoId": "a/b"}), "videoId must be", id="slash"),
        pytest.param(json.dumps({"videoId": "abc\n"}), "videoId must be", id="trailing-newline"),
        pytest.param(json.dumps({"videoId": ""}), "videoId must be", id="empty"),
        pytest.param(json.dumps({"videoId": 123}), "videoId must be", id="video-number"),
        pytest.param(json.dumps({"videoId": None}), "videoId must be", id="video-null"),
        pytest.param(json.dumps({"videoId": "a", "run": 0}), "run must be", id="run-0"),
        pytest.param(json.dumps({"videoId": "a", "run": -1}), "run must be", id="run-negative"),
        pytest.param(json.dumps({"videoId": "a", "run": api.MAX_RUN + 1}), "run must be", id="run-too-big"),
        pytest.param(json.dumps({"videoId": "a", "run": True}), "run must be", id="run-bool"),
        pytest.param(json.dumps({"videoId": "a", "run": "2"}), "run must be", id="run-string"),
        pytest.param(json.dumps({"videoId": "a", "run": 2.0}), "run must be", id="run-float"),
        pytest.param(json.dumps({"videoId": "a", "run": None}), "run must be", id="run-null"),
    ],
)
@pytest.mark.usefixtures("no_sfn")
def test_post_bad_body_is_400_without_calling_aws(body: str | None, message: str) -> None:
    status, payload = call(event("POST", "/videos", body=body))
    assert (status, message in payload["error"]) == (400, True), payload


@pytest.mark.parametrize(
    "body, message",
    [
        pytest.param("%%%not-base64", "not valid base64", id="not-base64"),
        pytest.param("eyJ2aWRlb0lkIjoiYSJ9a", "not valid base64", id="bad-padding"),
        pytest.param("eyJ2aWRl!b0lkIjoiYSJ9", "not valid base64", id="junk-char"),  # decodes when not validated
        pytest.param(base64.b64encode(b'{"videoId": "\xff"}').decode(), "not valid base64", id="not-utf8"),
        pytest.param("é", "not valid base64", id="not-ascii"),
        pytest.param(base64.b64encode(b"[" * 100_000).decode(), "nested too deeply", id="deep"),
    ],
)
@pytest.mark.usefixtures("no_sfn")
def test_post_bad_base64_body_is_400(body: str, message: str) -> None:
    status, payload = call(event("POST", "/videos", body=body, base64_body=True))
    assert (status, message in payload["error"]) == (400, True), payload


@pytest.mark.usefixtures("no_sfn")
def test_post_huge_body_is_413() -> None:
    body = json.dumps({"videoId": "a", "padding": "x" * api.MAX_BODY_CHARS})
    status, payload = call(event("POST", "/videos", body=body))
    assert status == 413 and "larger than" in payload["error"]


# --- GET ------------------------------------------------------------------------------------------------------------
def test_get_with_1000_unrelated_executions_makes_one_call(sfn: Any, calls: list[str]) -> None:
    target = "t" * 40
    _, first = post(target)
    sfn.stop_execution(executionArn=first["executionArn"])
    _, second = post(target, 2)
    # Created in moto's backend directly: 1,000 StartExecution calls through a client take ~2.4 s, this ~0.1 s.
    backend = stepfunctions_backends[DEFAULT_ACCOUNT_ID][REGION]
    machine = api.os.environ["STATE_MACHINE_ARN"]
    unrelated = [f"video-{i}" for i in range(990)] + ["t" * 32 + tail for tail in "abcde"] + ["t" * 39] * 5
    for i, video_id in enumerate(unrelated):
        backend.start_execution(machine, api.execution_name(video_id, 1 + i % 7), json.dumps({"videoId": video_id}))
    assert len(backend.describe_state_machine(machine).executions) == 1002
    calls.clear()
    status, body = get(target, "2")
    assert calls == ["DescribeExecution"]
    assert status == 200 and body["executionArn"] == second["executionArn"] and body["status"] == "RUNNING"
    calls.clear()
    status, body = get(target)
    assert calls == ["DescribeExecution"]
    assert status == 200 and body["executionArn"] == first["executionArn"] and body["status"] == "ABORTED"
    calls.clear()
    assert get(target, "3")[0] == 404
    assert calls == ["DescribeExecution"]


def test_get_reports_the_run(sfn: Any) -> None:
    _, started = post("abc")
    status, body = get("abc", "1")
    assert status == 200
    assert body == {
        "videoId": "abc",
        "run": 1,
        "executionArn": started["executionArn"],
        "status": "RUNNING",
        "startDate": started["startDate"],
    }


def test_get_does_not_mix_videos_sharing_a_prefix(sfn: Any) -> None:
    arns = {video_id: post(video_id)[1]["executionArn"] for video_id in ("abc", "abc-1", "abc--x", "abc-r1")}
    assert len(set(arns.values())) == 4
    for video_id, arn in arns.items():
        assert get(video_id)[1]["executionArn"] == arn
    assert get("ab")[0] == 404


def test_get_reports_stop_date(sfn: Any) -> None:
    _, started = post("stopped")
    sfn.stop_execution(executionArn=started["executionArn"])
    status, body = get("stopped")
    assert status == 200
    assert body["status"] == "ABORTED"
    assert body["stopDate"]


def test_get_reports_failure(sfn: Any) -> None:
    machine = api.os.environ["STATE_MACHINE_ARN"]
    arn = api.execution_arn(machine, api.execution_name("broken", 1))
    described = {
        "executionArn": arn,
        "stateMachineArn": machine,
        "name": api.execution_name("broken", 1),
        "status": "FAILED",
        "startDate": datetime(2026, 1, 1, tzinfo=UTC),
        "stopDate": datetime(2026, 1, 1, 0, 5, tzinfo=UTC),
        "error": "VideoProcessingFailed",
        "cause": "The processing task failed; see the error notification",
    }
    with Stubber(api._sfn()) as stubber:
        stubber.add_response("describe_execution", described, {"executionArn": arn})
        status, body = get("broken")
    assert status == 200
    assert body["status"] == "FAILED" and body["error"] == "VideoProcessingFailed" and "failed" in body["cause"]
    assert (body["startDate"], body["stopDate"]) == ("2026-01-01T00:00:00+00:00", "2026-01-01T00:05:00+00:00")


def test_get_404_when_no_execution(sfn: Any) -> None:
    assert post("abc")[0] == 202
    for video_id, run in (("nothing-here", None), ("abc", "2")):
        status, body = get(video_id, run)
        assert status == 404
        assert "error" in body


@pytest.mark.parametrize("video_id", ["x" * 129, "bad id", "a.b", ""])
@pytest.mark.usefixtures("no_sfn")
def test_get_bad_path_parameter_is_400(video_id: str) -> None:
    status, body = get(video_id)
    assert status == 400
    assert "videoId must be" in body["error"]


@pytest.mark.usefixtures("no_sfn")
def test_get_missing_path_parameters_is_400() -> None:
    status, _ = call(event("GET", "/videos/{videoId}"))
    assert status == 400


@pytest.mark.parametrize("run", ["0", "1001", "-1", "abc", "1.0", "", " 1", "1 ", "\u00b2", "12345"])
@pytest.mark.usefixtures("no_sfn")
def test_get_bad_run_is_400(run: str) -> None:
    status, body = get("abc", run)
    assert status == 400 and "run must be" in body["error"]


@pytest.mark.usefixtures("no_sfn")
def test_get_run_given_twice_is_400() -> None:
    evt = event("GET", "/videos/{videoId}", path_params={"videoId": "abc"}, query={"run": ["1", "2"]})
    status, body = call(evt)
    assert status == 400 and "once" in body["error"]


# --- AWS errors -----------------------------------------------------------------------------------------------------
NOT_FOUND = ("describe_execution", "ExecutionDoesNotExist", 400)


@pytest.mark.parametrize(
    "method, errors",
    [
        pytest.param("GET", [("describe_execution", "ThrottlingException", 400)], id="get"),
        pytest.param("GET", [("describe_execution", "TooManyRequestsException", 429)], id="get-429"),
        pytest.param("GET", [("describe_execution", "UnmodeledError", 429)], id="get-http-429-only"),
        pytest.param("POST", [("describe_execution", "ThrottlingException", 400)], id="post-describe"),
        pytest.param("POST", [NOT_FOUND, ("start_execution", "ThrottlingException", 400)], id="post-start"),
    ],
)
def test_throttling_is_429_with_retry_after(sfn: Any, method: str, errors: list[tuple[str, str, int]]) -> None:
    evt = (
        event("POST", "/videos", body=json.dumps({"videoId": "abc"}))
        if method == "POST"
        else event("GET", "/videos/{videoId}", path_params={"videoId": "abc"})
    )
    with Stubber(api._sfn()) as stubber:
        for operation, code, http_status in errors:
            stubber.add_client_error(operation, code, "Rate exceeded", http_status)
        response = api.handler(evt, None)
        stubber.assert_no_pending_responses()
    assert response["statusCode"] == 429
    assert response["headers"]["Retry-After"] == str(api.RETRY_AFTER_SECONDS)
    assert json.loads(response["body"]) == {"error": "too many requests, retry later"}


def test_client_retries_and_times_out_within_the_function_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(api, "_client", None)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    client = api._sfn()
    assert client is api._sfn()  # cached for warm invocations
    config = client.meta.config
    assert config.retries == {"mode": "standard", "total_max_attempts": 2}
    # Every attempt timing out, plus the standard mode's largest backoff (1 s before the second attempt).
    worst = config.retries["total_max_attempts"] * (config.connect_timeout + config.read_timeout) + 1
    assert worst < 10  # the function's timeout (modules/api/infrastructure.py)


def test_missing_state_machine(sfn: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    missing = f"arn:aws:states:{REGION}:123456789012:stateMachine:does-not-exist"
    monkeypatch.setenv("STATE_MACHINE_ARN", missing)
    response = api.handler(event("POST", "/videos", body=json.dumps({"videoId": "abc"})), None)
    assert response["statusCode"] == 502
    assert json.loads(response["body"]) == {"error": "upstream service error"}
    assert "does-not-exist" in caplog.text  # the details are logged instead
    # DescribeExecution cannot tell a missing state machine from a missing execution.
    assert get("abc")[0] == 404


def test_client_error_is_502(monkeypatch: pytest.MonkeyPatch) -> None:
    class Failing:
        def describe_execution(self, **_: Any) -> None:
            raise ClientError(
                {"Error": {"Code": "AccessDeniedException", "Message": "secret arn"}}, "DescribeExecution"
            )

    monkeypatch.setattr(api, "_client", Failing())
    monkeypatch.setenv("STATE_MACHINE_ARN", FAKE_MACHINE)
    for evt in (
        event("POST", "/videos", body=json.dumps({"videoId": "abc"})),
        event("GET", "/videos/{videoId}", path_params={"videoId": "abc"}),
    ):
        response = api.handler(evt, None)
        assert response["statusCode"] == 502
        assert "secret" not in response["body"] and "AccessDenied" not in response["body"]


# --- routing and metadata -------------------------------------------------------------------------------------------
def test_metadata(sfn: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    assert call(event("GET", "/metadata")) == (
        200,
        {"service": "video-pipeline", "environment": "dev", "version": routes.SERVICE_VERSION},
    )
    monkeypatch.setenv("SERVICE_VERSION", "2.3.4")
    assert call(event("GET", "/metadata"))[1]["version"] == "2.3.4"


@pytest.mark.usefixtures("no_sfn")
def test_unknown_route_is_404() -> None:
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
@pytest.mark.usefixtures("no_sfn")
def test_wrong_method_is_405(method: str, resource: str, allow: str) -> None:
    response = api.handler(event(method, resource, path_params={"videoId": "abc"}), None)
    assert response["statusCode"] == 405
    assert response["headers"] == {"Content-Type": "application/json", "Allow": allow}
    assert json.loads(response["body"]) == {"error": "method not allowed"}


def test_the_largest_run_is_accepted_as_a_query_parameter() -> None:
    assert api._RUN_TEXT.fullmatch(str(api.MAX_RUN))
