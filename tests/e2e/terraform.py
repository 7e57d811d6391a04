"""Helpers for the end-to-end deploy tests (``tests/e2e/test_deploy.py``): the Terraform CLI in a working directory,
output parsing, the environment every Terraform and cdktf process gets, and progress lines a CI log can follow.

Every command writes its full output to a log file under ``.e2e/logs`` (kept after the run); assertion messages quote
the command, its exit code, the log's path and the last lines.
"""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from main import resource_count

REGION = "ap-northeast-1"
EMULATOR_ACCOUNT_ID = "123456789012"  # moto's default account: what the provider sees with the test credentials
# Test credentials for moto; the AWS provider, the S3 backend, boto3 and the Lambda handler all read these.
AWS_TEST_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_REGION": REGION,
    "AWS_DEFAULT_REGION": REGION,
    "AWS_EC2_METADATA_DISABLED": "true",
}
# Nothing from the machine's AWS or Terraform setup may leak into the run.
_DROPPED_ENV = (
    "AWS_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_DEFAULT_PROFILE",
    "TF_WORKSPACE",
    "TF_DATA_DIR",
    "TF_PLUGIN_CACHE_DIR",
    "TF_BACKEND",
    "TF_STATE_BUCKET",
    "TF_STATE_REGION",
    "VP_CONFIG",
    "ENVIRONMENTS",
    "ENVIRONMENT_SUFFIX",
    "CDKTF_OUTDIR",
    "EXPIRES_AT",
    "ALLOW_STATEFUL_CHANGES",
)

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
APPLY_COMPLETE = re.compile(r"Apply complete! Resources: (\d+) added, (\d+) changed, (\d+) destroyed")
DESTROY_COMPLETE = re.compile(r"Destroy complete! Resources: (\d+) destroyed")
LOCK_ERROR = ("Error acquiring the state lock", "PreconditionFailed")

# Generous limits: a normal apply takes ~2 minutes; an API moto lacks makes the provider retry for tens of minutes,
# which must end in a readable failure, not a hung CI job.
INIT_TIMEOUT = 180
PLAN_TIMEOUT = 300
APPLY_TIMEOUT = 900
CLI_TIMEOUT = 1200


def write_cli_config(directory: Path, plugin_dir: str) -> Path:
    """A Terraform CLI configuration that installs hashicorp/* providers from the local mirror only (offline)."""
    path = directory / "terraform.rc"
    path.write_text(
        "provider_installation {\n"
        "  filesystem_mirror {\n"
        f"    path    = {json.dumps(plugin_dir)}\n"
        '    include = ["registry.terraform.io/hashicorp/*"]\n'
        "  }\n"
        "}\n"
    )
    return path


def e2e_environment(endpoint: str, cli_config: Path, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of every Terraform/cdktf/boto3 call: moto's endpoint, test credentials, the mirror, no
    checkpoint calls, nothing from the machine's AWS profile or a TF_CLI_ARGS* setting."""
    env = {
        k: v
        for k, v in (os.environ if base is None else base).items()
        if k not in _DROPPED_ENV and not k.startswith(("TF_CLI_ARGS", "TF_VAR_"))
    }
    env.update(AWS_TEST_ENV)
    env.update(
        {
            "AWS_ENDPOINT_URL": endpoint,
            # No shared config/credentials files: the profile of whoever runs the tests must not matter.
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "TF_CLI_CONFIG_FILE": str(cli_config),
            "CHECKPOINT_DISABLE": "1",
            "TF_IN_AUTOMATION": "1",
            "TF_INPUT": "0",
            "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
        }
    )
    return env


def aws_client(endpoint: str, service: str) -> Any:
    """A boto3 client for moto (explicit test credentials; a few retries for a busy emulator)."""
    return boto3.session.Session(
        aws_access_key_id=AWS_TEST_ENV["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=AWS_TEST_ENV["AWS_SECRET_ACCESS_KEY"],
        region_name=REGION,
    ).client(
        service,
        endpoint_url=endpoint,
        config=Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=10, read_timeout=60),
    )


# --------------------------------------------------------------------------------------------------------------------
# Progress lines
# --------------------------------------------------------------------------------------------------------------------
class Progress:
    """``[e2e  123s] message`` lines on the terminal, shown even when pytest captures output (no ``-s``).

    pytest's capture can only be lifted from the main thread, so lines from worker threads wait in a queue until the
    main thread flushes it (``say`` on the main thread, or ``wait`` while it waits for a worker)."""

    def __init__(self, config: Any) -> None:
        self.started = time.monotonic()
        self._capman = config.pluginmanager.getplugin("capturemanager")
        self._lines: queue.SimpleQueue[str] = queue.SimpleQueue()

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def say(self, message: str) -> None:
        self._lines.put(f"[e2e {self.elapsed():5.0f}s] {message}")
        if threading.current_thread() is threading.main_thread():
            self.flush()

    def flush(self) -> None:
        lines = []
        while not self._lines.empty():
            lines.append(self._lines.get())
        if not lines:
            return
        text = "\n" + "\n".join(lines) + "\n"
        if self._capman is not None:
            with self._capman.global_and_fixture_disabled():
                sys.stderr.write(text)
                sys.stderr.flush()
        else:
            sys.stderr.write(text)

    def wait(self, futures: Iterable[Future]) -> None:
        """Block until every future is done, flushing worker progress meanwhile."""
        pending = list(futures)
        while pending:
            pending = [f for f in pending if not f.done()]
            self.flush()
            if pending:
                time.sleep(0.5)
        self.flush()


# --------------------------------------------------------------------------------------------------------------------
# Running commands
# --------------------------------------------------------------------------------------------------------------------
@dataclass
class Result:
    command: str
    cwd: Path
    returncode: int
    output: str
    seconds: float
    log: Path
    timed_out: bool = False

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out

    def tail(self, lines: int = 60) -> str:
        return "\n".join(self.output.rstrip().splitlines()[-lines:])

    def describe(self, lines: int = 60) -> str:
        status = (
            f"timed out after {self.seconds:.0f}s"
            if self.timed_out
            else f"exited {self.returncode} after {self.seconds:.0f}s"
        )
        return f"`{self.command}` in {self.cwd} {status}; full log: {self.log}\n--- last lines ---\n{self.tail(lines)}"


_RUNNING: set[subprocess.Popen] = set()
_RUNNING_LOCK = threading.Lock()


class Running:
    """A started command; ``wait`` returns its :class:`Result`."""

    def __init__(self, args: Sequence[str], cwd: Path, env: Mapping[str, str], log: Path) -> None:
        self.args, self.cwd, self.log = list(args), cwd, log
        self.command = " ".join(self.args)
        log.parent.mkdir(parents=True, exist_ok=True)
        self.started = time.monotonic()
        with open(log, "w", encoding="utf-8") as handle:
            handle.write(f"$ {self.command}  (cwd {cwd})\n")
            handle.flush()
            self.proc = subprocess.Popen(
                self.args, cwd=cwd, env=dict(env), stdin=subprocess.DEVNULL, stdout=handle, stderr=subprocess.STDOUT
            )
        with _RUNNING_LOCK:
            _RUNNING.add(self.proc)

    def running(self) -> bool:
        return self.proc.poll() is None

    def wait(self, timeout: float) -> Result:
        timed_out = False
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            _interrupt(self.proc)
        finally:
            with _RUNNING_LOCK:
                _RUNNING.discard(self.proc)
        seconds = time.monotonic() - self.started
        output = ANSI.sub("", self.log.read_text(encoding="utf-8", errors="replace"))
        return Result(self.command, self.cwd, self.proc.returncode, output, seconds, self.log, timed_out)


def _interrupt(proc: subprocess.Popen, grace: float = 30.0) -> None:
    """Stop a command we started: SIGINT (Terraform stops cleanly and releases its lock), then SIGKILL."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def stop_all_running() -> list[str]:
    """Interrupt every command still running (teardown after a failure); returns what was stopped."""
    with _RUNNING_LOCK:
        procs = list(_RUNNING)
    for proc in procs:
        _interrupt(proc)
    return [" ".join(map(str, proc.args)) for proc in procs]


def run(args: Sequence[str], *, cwd: Path, env: Mapping[str, str], log: Path, timeout: float) -> Result:
    return Running(args, cwd, env, log).wait(timeout)


class Terraform:
    """The Terraform CLI in one working directory; each call logs to ``<log_dir>/<name>-<n>-<verb>.log``."""

    def __init__(self, name: str, workdir: Path, env: Mapping[str, str], log_dir: Path) -> None:
        self.name, self.workdir, self.env, self.log_dir = name, workdir, env, log_dir
        self._count = 0
        self._lock = threading.Lock()

    def _log(self, verb: str) -> Path:
        with self._lock:
            self._count += 1
            return self.log_dir / f"{self.name}-{self._count:02d}-{verb}.log"

    def start(self, *args: str) -> Running:
        return Running(["terraform", *args], self.workdir, self.env, self._log(args[0]))

    def run(self, *args: str, timeout: float = PLAN_TIMEOUT) -> Result:
        return self.start(*args).wait(timeout)

    def init(self) -> Result:
        return self.run("init", "-input=false", "-no-color", timeout=INIT_TIMEOUT)

    def plan_out(self, planfile: str = "tfplan") -> Result:
        return self.run("plan", "-input=false", "-no-color", f"-out={planfile}")

    def destroy(self) -> Result:
        return self.run("destroy", "-auto-approve", "-input=false", "-no-color", timeout=APPLY_TIMEOUT)

    def outputs(self) -> dict[str, Any]:
        result = self.run("output", "-json", "-no-color")
        assert result.ok, result.describe()
        return {name: item["value"] for name, item in _json_document(result.output).items()}

    def state_list(self) -> list[str]:
        result = self.run("state", "list", "-no-color")
        assert result.ok, result.describe()
        return sorted(line for line in result.output.splitlines()[1:] if line.strip())

    def replan(self, planfile: str = "replan.tfplan") -> tuple[Result, list[str]]:
        """``plan -detailed-exitcode``: exit 0 = no changes, 2 = changes, listed as ``address: actions [attrs]``."""
        result = self.run("plan", "-detailed-exitcode", "-input=false", "-no-color", f"-out={planfile}")
        changes: list[str] = []
        if result.returncode == 2:
            shown = self.run("show", "-json", "-no-color", planfile)
            if shown.ok:
                changes = plan_changes(_json_document(shown.output))
        return result, changes


# --------------------------------------------------------------------------------------------------------------------
# Parsing
# --------------------------------------------------------------------------------------------------------------------
def _json_document(output: str) -> Any:
    """The JSON document in a command's log (after the ``$ command`` header line the log starts with)."""
    return json.loads(output[output.index("\n{") + 1 :])


def applied(output: str) -> tuple[int, int, int] | None:
    """(added, changed, destroyed) from "Apply complete! Resources: ..."."""
    match = APPLY_COMPLETE.search(output)
    return tuple(int(g) for g in match.groups()) if match else None  # type: ignore[return-value]


def destroyed(output: str) -> int | None:
    match = DESTROY_COMPLETE.search(output)
    return int(match.group(1)) if match else None


def _changed_keys(before: Any, after: Any, unknown: Any) -> list[str]:
    if not isinstance(before, dict) or not isinstance(after, dict):
        return []
    keys = {k for k in set(before) | set(after) if before.get(k) != after.get(k)}
    keys |= {k for k, v in (unknown or {}).items() if v}
    return sorted(keys)


def plan_changes(plan: dict) -> list[str]:
    """Resource (and output) changes of a ``terraform show -json`` plan, with the attributes that change: what a
    perpetual diff needs to be debugged."""
    changes = []
    for item in plan.get("resource_changes", []):
        change = item.get("change", {})
        actions = change.get("actions", [])
        if actions in (["no-op"], ["read"]):
            continue
        keys = _changed_keys(change.get("before"), change.get("after"), change.get("after_unknown"))
        changes.append(f"{item['address']}: {'/'.join(actions)} {keys}")
    for name, change in (plan.get("output_changes") or {}).items():
        if change.get("actions") not in (["no-op"], None):
            changes.append(f"output.{name}: {'/'.join(change['actions'])}")
    return changes


def resource_changes_count(changes: Sequence[str]) -> int:
    return sum(1 for c in changes if not c.startswith("output."))


def synthesized_resource_count(workdir: Path) -> int:
    return resource_count(json.loads((workdir / "cdk.tf.json").read_text()))
