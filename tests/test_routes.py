"""The API's routes are defined once (modules/api/runtime/routes.py): every route has an API Gateway method and a
handler function, every method and every handler function a route, and the package runs as Lambda loads it."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile

import pytest

from modules.api.runtime import handler, routes
from tests.conftest import SUFFIXES, stack_dir
from tests.helpers import find, find_all, reference_to, referenced


def method_path(stack: dict, method: dict) -> str:
    """A method's full path, walking its resource's parents up to the API's root."""
    parts, parent_ref = [], method["resource_id"]
    while "aws_api_gateway_resource" in parent_ref:
        resource = referenced(stack, parent_ref, "id")
        parts.insert(0, resource["path_part"])
        parent_ref = resource["parent_id"]
    assert parent_ref.endswith(".root_resource_id}"), parent_ref
    return "/" + "/".join(parts)


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_every_route_has_a_method_and_every_method_a_route(stacks, suffix):
    stack = stacks[suffix]
    methods = find_all(stack, "aws_api_gateway_method")
    assert sorted((method_path(stack, m), m["http_method"]) for m in methods) == sorted(routes.pairs())
    assert len(methods) == len(routes.pairs())  # no route built twice


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_every_method_invokes_the_function(stacks, suffix):
    stack = stacks[suffix]
    invoke = reference_to(stack, find(stack, "aws_lambda_function"), "invoke_arn")
    for method in find_all(stack, "aws_api_gateway_method"):
        [integration] = find_all(
            stack,
            "aws_api_gateway_integration",
            resource_id=method["resource_id"],
            http_method=reference_to(stack, method, "http_method"),
        )
        assert (integration["type"], integration["uri"]) == ("AWS_PROXY", invoke)


def test_every_route_names_a_handler_function_and_every_function_is_routed():
    named = [name for methods in routes.ROUTES.values() for name in methods.values()]
    assert sorted(named) == sorted(handler.ACTIONS)
    assert len(set(named)) == len(named)
    assert all(method == method.upper() for methods in routes.ROUTES.values() for method in methods)


def test_the_function_reports_the_version_the_infrastructure_deploys(stacks):
    for stack in stacks.values():
        variables = find(stack, "aws_lambda_function")["environment"]["variables"]
        assert variables["SERVICE_VERSION"] == routes.SERVICE_VERSION


def test_the_package_answers_every_route_as_lambda_loads_it(synth_dir, tmp_path):
    """Lambda imports `handler` from the zip's root, not as part of `modules.api.runtime`: `routes` must come along
    and be found that way. Every route answers (no 404/405); an unknown path and a wrong method do not."""
    [package] = (stack_dir(synth_dir, SUFFIXES[0]) / "assets").rglob("*.zip")
    with zipfile.ZipFile(package) as archive:
        archive.extractall(tmp_path)
    events = [
        {"resource": path, "httpMethod": method, "pathParameters": {"videoId": "v-1"}, "body": "{}"}
        for path, method in routes.pairs()
    ]
    events += [{"resource": "/unknown", "httpMethod": "GET"}, {"resource": "/metadata", "httpMethod": "DELETE"}]
    probe = (
        "import json, sys, handler\n"
        "assert 'modules' not in sys.modules\n"
        "handler._client = type('Sfn', (), {'__getattr__': lambda self, name: (lambda *a, **k: 1 / 0)})()\n"
        "print(json.dumps([handler.handler(event)['statusCode'] for event in json.loads(sys.argv[1])]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe, json.dumps(events)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "STATE_MACHINE_ARN": "arn:aws:states:::x"},
    )
    assert result.returncode == 0, result.stderr
    statuses = json.loads(result.stdout)
    assert all(status not in (404, 405) for status in statuses[:-2]), statuses
    assert statuses[-2:] == [404, 405]
