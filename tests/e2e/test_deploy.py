"""End-to-end deploy: every environment's synthesized stack applied with real Terraform into a local moto server
(patched by ``moto_launcher``), checked with boto3, re-planned and destroyed; one deployment through the cdktf CLI.

The emulator starts empty: the fixture runs the bootstrap (``python -m synth.bootstrap``, what ``make bootstrap``
runs) in a scratch copy of the project, which creates the state bucket, its KMS key and API Gateway's logging role
and moves its own state into the bucket; every environment's state then goes there.

The tests are ordered steps sharing one module fixture (pytest runs them in file order); a step whose prerequisite
failed is skipped with the reason. What the steps do:

1. dev and pr123: init, plan, apply; while pr123's apply holds the S3 lock file, a second plan is refused. They start
   as soon as the bootstrap has made the state bucket and key; the bootstrap finishes beside them.
1b. The account stack: its state in its own bucket (SSE-KMS), the bucket's protections, API Gateway's logging role.
2. Integration checks of dev and pr123 with boto3, ids read from ``terraform output -json``.
3. The API's Lambda handler, run in-process against the emulator (moto runs Lambda code only in Docker).
4. dev and pr123 re-plan with no changes (dev with `make plan ENV=dev`, which must say "no changes").
5. One state object per suffix; the sweeper (`make sweep`) destroys pr123 (ExpiresAt yesterday) with its state object
   and keeps pr124 (next week); dev is untouched. Meanwhile `make plan ENV=dev` reviews changed settings against the
   deployed dev, gated as prod: a bigger DB instance class (an in-place update) and no data key (the gate refuses the
   Redis replacement, naming `kms_key_id`, and the key's deletion). Then dev is destroyed.
6. staging: integration checks (Multi-AZ), re-plan, destroy, nothing left.
7. prod: re-plan; ``destroy`` is refused by ``prevent_destroy`` and deletes nothing (prod stays in moto).
8. One deployment and destroy through ``cdktf deploy``/``cdktf destroy`` (pipenv + main.py, as a developer runs it),
   on the local backend and pinned to the emulator's account: ``cdktf destroy`` synthesizes again first, and must
   still find the state and destroy everything.
9. A stack pinned to another account: its plan is refused before any change.
10. The bootstrap run again (in the background from step 1 on) changes nothing.
11. pr124 through the operator commands, in the background from step 1 on: `make plan` + `make apply REVIEWED=...`
    (tagged ExpiresAt), `make drift` finds nothing, a log group's retention changed with boto3, `make drift` exits 2
    naming `retention_in_days`; after the sweeper ran, `make destroy` removes it and its state object.

Time: the AWS provider's RDS waiters poll with fixed delays, so creating the DB instance takes ~80 s and deleting
it ~60 s although moto answers "available" at once: an apply takes ~100-120 s and a destroy ~70 s whatever moto does.
Applies side by side barely slow each other down (measured: one dev apply alone ~103 s, four at once ~115 s each).
Steps 1-5 (dev, pr123) run in the foreground, one after the other as they depend on each other; staging, prod and
the CLI deployment share nothing with them, so from step 1 on their whole lifecycle (deploy, checks, re-plan, destroy)
runs in the background, and steps 6-8 assert what it observed. Progress lines (``[e2e  123s] ...``) show on the
terminal even without ``-s``.

Results: ``.e2e/report.json`` (per environment: apply seconds, resources added, re-plan changes, destroy result and
seconds), a summary table at the end, every command's output in ``.e2e/logs/``, moto's log in ``.e2e/moto.log``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib.metadata
import itertools
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import pipenv_path_entries
from tests.e2e import moto_launcher
from tests.e2e.terraform import (
    APPLY_TIMEOUT,
    AWS_TEST_ENV,
    CLI_TIMEOUT,
    EMULATOR_ACCOUNT_ID,
    LOCK_ERROR,
    REGION,
    Progress,
    Result,
    Running,
    Terraform,
    applied,
    aws_client,
    destroyed,
    e2e_environment,
    resource_changes_count,
    run,
    stop_all_running,
    synthesized_resource_count,
    write_cli_config,
)

# `deploy`: `make test` runs this module beside everything else (Makefile), the moto gap tests included.
pytestmark = [pytest.mark.e2e, pytest.mark.deploy]

REPO = Path(__file__).resolve().parents[2]
E2E_DIR = REPO / ".e2e"
REPORT = E2E_DIR / "report.json"
LOG_DIR = E2E_DIR / "logs"
MOTO_LOG = E2E_DIR / "moto.log"

ACCOUNT_STACK = "video-pipeline-account"
# The bucket the bootstrap creates (config/environments.toml's [account], the emulator's account) and its state key.
STATE_BUCKET = f"video-pipeline-tfstate-{EMULATOR_ACCOUNT_ID}-{REGION}"
STATE_KEY_ALIAS_ARN = f"arn:aws:kms:{REGION}:{EMULATOR_ACCOUNT_ID}:alias/video-pipeline-tfstate"
ACCOUNT_STATE_KEY = "video-pipeline/account/terraform.tfstate"
# Files the bootstrap needs (copied into a scratch project, see Bootstrap).
BOOTSTRAP_PROJECT_FILES = ("main.py", ".terraform.lock.hcl", "config", "modules", "stacks", "synth", "tests/terraform")
ADHOC = "pr123"
CLI_SUFFIX = "cli1"
SUFFIXES = ("dev", ADHOC, "staging", "prod")
MULTI_AZ = {"dev": False, ADHOC: False, "staging": True, "prod": True, CLI_SUFFIX: False}
STAGE = "prod"  # API Gateway stage name in every environment
WAF = ("staging", "prod")  # security.waf (dev's profile opts out: cost)
# Files the cdktf CLI needs to synthesize (copied into a scratch project, see CdktfCli).
CLI_PROJECT_FILES = (
    "cdktf.json",
    "main.py",
    "Pipfile",
    "Pipfile.lock",
    "package.json",
    ".terraform.lock.hcl",
    "config",
    "modules",
    "stacks",
    "tests/terraform",  # terraform test files the synth copies into every stack folder
    "synth",
)
WRONG_ACCOUNT_SUFFIX = "acct1"
WRONG_ACCOUNT_ID = "111111111111"
# A second ad-hoc stack, deployed, checked for drift and destroyed with the operator commands (`make plan|apply|drift|
# destroy`, synth/operate.py). pr123 is past its time to live, pr124 is not: the sweeper must destroy exactly pr123.
PR124 = "pr124"
TODAY = dt.datetime.now(dt.UTC).date()
PR123_EXPIRES_AT = (TODAY - dt.timedelta(days=1)).isoformat()
PR124_EXPIRES_AT = (TODAY + dt.timedelta(days=7)).isoformat()
OPERATOR_TIMEOUT = 900


def state_key(suffix: str) -> str:
    """Named environments at video-pipeline/<suffix>/, ad-hoc stacks under video-pipeline/adhoc/."""
    adhoc = suffix not in ("dev", "staging", "prod")
    return f"video-pipeline/{'adhoc/' if adhoc else ''}{suffix}/terraform.tfstate"


def pinned_config(account_id: str) -> str:
    """config/environments.toml with every environment pinned to `account_id`."""
    text = (REPO / "config" / "environments.toml").read_text()
    assert "\n[defaults]\n" in text
    return text.replace("\n[defaults]\n", f'\n[defaults]\naccount_id = "{account_id}"\n', 1)


def another_account_config(account_id: str) -> str:
    """config/environments.toml for another account than the emulator's, whose state bucket (account.state_bucket)
    is the one the bootstrap made here: init works, and the plan gets as far as the provider's account check."""
    text = (REPO / "config" / "environments.toml").read_text()
    pinned = f'account_id = "{EMULATOR_ACCOUNT_ID}"\n'
    assert "\n[account]\n" in text and pinned in text
    return text.replace(pinned, f'account_id = "{account_id}"\nstate_bucket = "{STATE_BUCKET}"\n', 1)


def stack_name(suffix: str) -> str:
    return f"video-pipeline-{suffix}"


# --------------------------------------------------------------------------------------------------------------------
# Shared state of the steps
# --------------------------------------------------------------------------------------------------------------------
class Deployment:
    """One environment's stack: its Terraform working directory, what happened to it, its report entry."""

    def __init__(self, e2e: E2E, suffix: str, workdir: Path) -> None:
        self.e2e, self.suffix = e2e, suffix
        self.tf = Terraform(suffix, workdir, e2e.env, LOG_DIR)
        self.resources = synthesized_resource_count(workdir)
        self.record: dict[str, Any] = e2e.report["environments"].setdefault(suffix, {})
        self.record.update(
            synthesized_resources=self.resources,
            apply_seconds=None,
            resources_added=None,
            replan_changes=None,
            destroy=None,
            destroy_seconds=None,
        )
        self.applied = False
        self.failure: str | None = None
        self.seen: dict[str, Any] = {}  # what a background lifecycle observed, for its step's tests
        self._outputs: dict[str, Any] | None = None

    # --- deploying --------------------------------------------------------------------------------------------------
    def init_and_plan(self) -> None:
        started = time.monotonic()
        for result in (self.tf.init(), self.tf.plan_out()):
            if not result.ok:
                self.fail(f"{self.suffix}: {result.describe()}")
        self.record["init_plan_seconds"] = round(time.monotonic() - started, 1)

    def start_apply(self) -> Running:
        self.e2e.progress.say(f"{self.suffix}: apply started")
        return self.tf.start("apply", "-input=false", "-no-color", "tfplan")

    def finish_apply(self, running: Running) -> Result:
        result = running.wait(APPLY_TIMEOUT)
        counts = applied(result.output)
        self.record["apply_seconds"] = round(result.seconds, 1)
        self.record["resources_added"] = counts[0] if counts else None
        self.e2e.save_report()
        if not result.ok or counts is None:
            self.fail(f"{self.suffix} apply failed: {result.describe()}")
        if counts[0] != self.resources:
            self.fail(f"{self.suffix}: apply added {counts[0]} resources, the stack has {self.resources}")
        self.applied = True
        self.e2e.progress.say(f"{self.suffix}: applied {counts[0]} resources in {result.seconds:.0f}s")
        return result

    def deploy(self) -> None:
        """init, plan -out, apply (a background job for staging and prod)."""
        self.init_and_plan()
        self.finish_apply(self.start_apply())

    def fail(self, message: str) -> None:
        self.failure = message
        self.record.setdefault("failure", message.splitlines()[0])
        raise AssertionError(message)

    def require_applied(self) -> None:
        if not self.applied:
            pytest.skip(f"{self.suffix} is not deployed: {(self.failure or 'its deploy did not run').splitlines()[0]}")

    # --- reading it back --------------------------------------------------------------------------------------------
    def outputs(self) -> dict[str, Any]:
        if self._outputs is None:
            self._outputs = self.tf.outputs()
        return self._outputs

    @property
    def rest_api_id(self) -> str:
        match = re.fullmatch(r"https://([a-z0-9]+)\.execute-api\.[^/]+/(.+)", self.outputs()["api_url"])
        assert match, f"unexpected api_url {self.outputs()['api_url']!r}"
        return match.group(1)

    def replan(self) -> tuple[Result, list[str]]:
        result, changes = self.tf.replan()
        self.record["replan_exit_code"] = result.returncode
        self.record["replan_changes"] = resource_changes_count(changes) if result.returncode in (0, 2) else None
        if changes:
            self.record["replan_changed"] = changes
        self.e2e.save_report()
        return result, changes

    def destroy(self) -> Result:
        self.e2e.progress.say(f"{self.suffix}: destroy started")
        result = self.tf.destroy()
        count = destroyed(result.output)
        self.record["destroy_seconds"] = round(result.seconds, 1)
        if result.ok and count is not None:
            self.record["destroy"] = f"destroyed {count}"
        elif "prevent_destroy" in result.output:
            self.record["destroy"] = "refused (prevent_destroy)"
        else:
            self.record["destroy"] = f"failed (exit {result.returncode})"
        self.e2e.save_report()
        self.e2e.progress.say(f"{self.suffix}: destroy {self.record['destroy']} in {result.seconds:.0f}s")
        return result


class CdktfCli:
    """``cdktf deploy``/``destroy`` of the ad-hoc stack ``video-pipeline-cli1``, as a developer runs them (the app
    command of cdktf.json: ``pipenv run python -O main.py``).

    It runs in a scratch copy of the project (the files the synth reads, the project's ``.venv`` linked in) rather
    than the repository root, so a developer's own ``cdktf.out`` is left alone - and does not break the run: the CLI
    lists ``cdktf.out/stacks/*`` before the synth and deletes the folders the synth did not produce afterwards, but
    ``main.py`` has already replaced the whole folder, so with e.g. ``make synth``'s dev/staging/prod folders there
    ``cdktf deploy video-pipeline-cli1`` failed with ``ENOENT: lstat 'cdktf.out/stacks/video-pipeline-prod'``
    (main.py now leaves the CLI an empty folder to delete; the scratch project starts with a staging folder to show it).
    No ``--skip-provider-lock``: the committed lock file in every stack folder tells the CLI the providers are locked,
    so it does not run ``terraform providers lock``, which would ask registry.terraform.io (impossible offline).
    State: the local backend (``<project>/.state``), which ``cdktf destroy``'s own synth must not touch; provider
    pinned to the emulator's account (``allowed_account_ids``)."""

    def __init__(self, e2e: E2E, workdir: Path) -> None:
        self.e2e = e2e
        self.project = workdir / "cli-project"
        self.record: dict[str, Any] = e2e.report["environments"].setdefault(CLI_SUFFIX, {})
        self.record.update(
            via="cdktf CLI",
            apply_seconds=None,
            resources_added=None,
            replan_changes="not run",
            destroy=None,
            destroy_seconds=None,
        )
        self.deployed = False
        self.failure: str | None = None
        self.seen: dict[str, Any] = {}
        self.cdktf = REPO / "node_modules" / ".bin" / "cdktf"
        self.env = dict(e2e.env)
        self.env.update(
            {
                "ENVIRONMENTS": "dev",
                "ENVIRONMENT_SUFFIX": CLI_SUFFIX,
                "TF_BACKEND": "local",
                "PIPENV_VENV_IN_PROJECT": "1",
                "PIPENV_VERBOSITY": "-1",
                "PIPENV_NOSPIN": "1",
                "CDKTF_HOME": str(workdir / "cdktf-home"),  # telemetry id and logs, not in ~/.cdktf
                "CDKTF_DISABLE_PLUGIN_CACHE_ENV": "1",  # no TF_PLUGIN_CACHE_DIR=~/.terraform.d/plugin-cache
                "DISABLE_VERSION_CHECK": "true",
                "CI": "1",
            }
        )
        self.env["PATH"] = os.pathsep.join([*pipenv_path_entries(), self.env.get("PATH", "")])

    def _prepare(self) -> None:
        if not self.cdktf.exists():
            raise AssertionError(f"{self.cdktf} is missing: run `make install` (npm ci)")
        self.project.mkdir(parents=True, exist_ok=True)
        ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "tests")
        for name in CLI_PROJECT_FILES:
            source = REPO / name
            if source.is_dir():
                shutil.copytree(source, self.project / name, ignore=ignore, dirs_exist_ok=True)
            else:
                shutil.copy2(source, self.project / name)
        (self.project / ".venv").symlink_to(REPO / ".venv", target_is_directory=True)
        (self.project / "config" / "environments.toml").write_text(pinned_config(EMULATOR_ACCOUNT_ID))
        # An earlier synth with a stack this one does not produce (the CLI deletes its folder afterwards).
        earlier = run(
            [sys.executable, "-O", "main.py"],
            cwd=self.project,
            log=LOG_DIR / f"{CLI_SUFFIX}-synth.log",
            env={**self.env, "ENVIRONMENTS": "staging", "ENVIRONMENT_SUFFIX": ""},
            timeout=300,
        )
        assert earlier.ok, earlier.describe()

    @property
    def state_file(self) -> Path:
        return self.project / ".state" / state_key(CLI_SUFFIX)

    def state_resources(self) -> int | None:
        if not self.state_file.exists():
            return None
        resources = json.loads(self.state_file.read_text())["resources"]
        return sum(len(r["instances"]) for r in resources if r["mode"] == "managed")  # not data sources

    def _run(self, verb: str) -> Result:
        return run(
            [str(self.cdktf), verb, stack_name(CLI_SUFFIX), "--auto-approve", "--no-color"],
            cwd=self.project,
            env=self.env,
            log=LOG_DIR / f"{CLI_SUFFIX}-cdktf-{verb}.log",
            timeout=CLI_TIMEOUT,
        )

    def lifecycle(self) -> None:
        """deploy, look, destroy, look - a background job from step 1 on (independent of every other step, so its
        ~4 minutes overlap theirs); step 8's tests assert what it saw."""
        self.deploy()
        self.seen["deployed"] = True
        try:
            self.seen["state_resources_after_deploy"] = self.state_resources()
            self.seen["state_object_in_bucket"] = state_object(self.e2e, CLI_SUFFIX) is not None
            self.seen["stack_folders"] = sorted(p.name for p in (self.project / "cdktf.out" / "stacks").iterdir())
            self.seen["state_machine_after_deploy"] = self.state_machine_exists()
            (db,) = self.e2e.aws("rds").describe_db_instances(DBInstanceIdentifier=f"rds-postgresql-{CLI_SUFFIX}")[
                "DBInstances"
            ]
            self.seen["multi_az"] = db["MultiAZ"]
            self.seen["destroy"] = self.destroy()
            self.seen["state_resources_after_destroy"] = self.state_resources()
            self.seen["state_machine_after_destroy"] = self.state_machine_exists()
            self.seen["leftovers"] = leftovers(self.e2e, CLI_SUFFIX, [])
        except BaseException:
            self.failure = traceback.format_exc()
            raise

    def state_machine_exists(self) -> bool:
        machines = self.e2e.aws("stepfunctions").list_state_machines()["stateMachines"]
        return f"video-processing-workflow-{CLI_SUFFIX}" in [m["name"] for m in machines]

    def deploy(self) -> None:
        try:
            self._prepare()
            self.e2e.progress.say(f"{CLI_SUFFIX}: cdktf deploy started (synth through pipenv, then apply)")
            result = self._run("deploy")
            counts = applied(result.output)
            self.record["apply_seconds"] = round(result.seconds, 1)
            self.record["apply_includes"] = "cdktf synth (pipenv run python -O main.py) + init + plan + apply"
            self.record["resources_added"] = counts[0] if counts else None
            self.e2e.save_report()
            if not result.ok or counts is None:
                raise AssertionError(f"cdktf deploy failed: {result.describe()}")
            self.deployed = True
            self.e2e.progress.say(f"{CLI_SUFFIX}: cdktf deploy added {counts[0]} resources in {result.seconds:.0f}s")
        except BaseException as error:
            self.failure = str(error)
            self.record.setdefault("failure", self.failure.splitlines()[0])
            raise

    def destroy(self) -> Result:
        self.e2e.progress.say(f"{CLI_SUFFIX}: cdktf destroy started")
        result = self._run("destroy")
        count = destroyed(result.output)
        self.record["destroy_seconds"] = round(result.seconds, 1)
        self.record["destroy"] = (
            f"destroyed {count}" if result.ok and count is not None else f"failed (exit {result.returncode})"
        )
        self.e2e.save_report()
        self.e2e.progress.say(f"{CLI_SUFFIX}: cdktf destroy {self.record['destroy']} in {result.seconds:.0f}s")
        return result


class WrongAccount:
    """A stack pinned to another account than the credentials' (the emulator's): its plan must fail before any
    change - nothing created, no state written."""

    def __init__(self, e2e: E2E, workdir: Path) -> None:
        self.e2e, self.workdir = e2e, workdir / "wrong-account"
        self.seen: dict[str, Any] = {}
        self.failure: str | None = None

    def run(self) -> None:
        try:
            self.workdir.mkdir()
            config = self.workdir / "environments.toml"
            config.write_text(another_account_config(WRONG_ACCOUNT_ID))
            outdir = self.workdir / "cdktf.out"
            env = dict(
                self.e2e.env,
                VP_CONFIG=str(config),
                ENVIRONMENTS="",
                ENVIRONMENT_SUFFIX=WRONG_ACCOUNT_SUFFIX,
                CDKTF_OUTDIR=str(outdir),
            )
            synth = run(
                [sys.executable, "-O", "main.py"],
                cwd=REPO,
                env=env,
                log=LOG_DIR / f"{WRONG_ACCOUNT_SUFFIX}-synth.log",
                timeout=300,
            )
            assert synth.ok, synth.describe()
            tf = Terraform(
                WRONG_ACCOUNT_SUFFIX, outdir / "stacks" / stack_name(WRONG_ACCOUNT_SUFFIX), self.e2e.env, LOG_DIR
            )
            init = tf.init()
            assert init.ok, init.describe()
            self.seen["plan"] = tf.run("plan", "-input=false", "-no-color")
            self.seen["state_object"] = state_object(self.e2e, WRONG_ACCOUNT_SUFFIX)
            self.seen["leftovers"] = leftovers(self.e2e, WRONG_ACCOUNT_SUFFIX, [])
            self.seen["done"] = True
        except BaseException:
            self.failure = traceback.format_exc()
            raise


class Bootstrap:
    """``make bootstrap`` (``python -m synth.bootstrap``) in a scratch copy of the project, so that its working files
    (``.bootstrap/``, ``.state/``) are never the repository's, which may belong to a real account. The first run
    starts from an empty emulator; the second (step 10, in the background) must change nothing."""

    def __init__(self, e2e: E2E, workdir: Path) -> None:
        self.e2e = e2e
        self.project = workdir / "bootstrap-project"
        self.record: dict[str, Any] = e2e.report["environments"].setdefault("account", {})
        self.record.update(
            via="make bootstrap (python -m synth.bootstrap)",
            apply_seconds=None,
            resources_added=None,
            replan_changes=None,
            destroy="not run (prevent_destroy)",
            destroy_seconds=None,
        )
        self.seen: dict[str, Any] = {}
        self.failure: str | None = None

    @property
    def local_state(self) -> Path:
        return self.project / ".state" / ACCOUNT_STATE_KEY

    def _run(self, attempt: int) -> Result:
        return run(
            [sys.executable, "-m", "synth.bootstrap"],
            cwd=self.project,
            env=self.e2e.env,
            log=LOG_DIR / f"bootstrap-{attempt}.log",
            timeout=APPLY_TIMEOUT,
        )

    def first(self) -> Result:
        """Copy the project, bootstrap the empty emulator; fails the fixture (every step) if it does not succeed."""
        for name in BOOTSTRAP_PROJECT_FILES:
            source, target = REPO / name, self.project / name
            if source.is_dir():
                shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target)
        self.e2e.progress.say("account: bootstrap started (empty emulator: local state first, then into its bucket)")
        result = self._run(1)
        counts = applied(result.output)
        self.record["apply_seconds"] = round(result.seconds, 1)
        self.record["apply_includes"] = "two synths + init + apply (local state) + init -migrate-state"
        self.record["resources_added"] = counts[0] if counts else None
        self.e2e.save_report()
        assert result.ok and counts is not None, f"bootstrap failed: {result.describe()}"
        self.e2e.progress.say(f"account: bootstrapped, {counts[0]} resources in {result.seconds:.0f}s")
        self.seen["first"] = result
        return result

    def again(self) -> None:
        try:
            self.e2e.background["bootstrap"].result()  # after the first run
            result = self._run(2)
            self.seen["again"] = result
            self.record["replan_changes"] = 0 if result.ok and NO_CHANGES in result.output else "see log"
            self.record["rerun_seconds"] = round(result.seconds, 1)
            self.e2e.save_report()
            self.e2e.progress.say(f"account: bootstrap again exited {result.returncode} in {result.seconds:.0f}s")
        except BaseException:
            self.failure = traceback.format_exc()
            raise

    def state(self) -> dict[str, Any]:
        body = self.e2e.aws("s3").get_object(Bucket=STATE_BUCKET, Key=ACCOUNT_STATE_KEY)["Body"].read()
        state: dict[str, Any] = json.loads(body)
        return state

    def outputs(self) -> dict[str, Any]:
        return {name: output["value"] for name, output in self.state()["outputs"].items()}


NO_CHANGES = "bootstrap: no changes: the account stack is up to date"


class E2E:
    """Everything the steps share: the emulator, the environment of every command, the deployments, the report."""

    def __init__(self, config: Any, endpoint: str, workdir: Path, plugin_dir: str) -> None:
        self.progress = Progress(config)
        self.endpoint, self.workdir = endpoint, workdir
        self.env = e2e_environment(endpoint, write_cli_config(workdir, plugin_dir))
        self.report: dict[str, Any] = {
            "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "status": "running",
            "versions": versions(plugin_dir),
            "concurrency": (
                "one moto server; dev and pr123 go through steps 1-5 in the foreground; staging, prod "
                "(steps 6, 7) and the cdktf CLI deployment cli1 (step 8) run their whole lifecycle in "
                "the background from step 1 on, so four or five applies run at once"
            ),
            "environments": {},
            "steps": [],
        }
        self.executor = ThreadPoolExecutor(max_workers=16, thread_name_prefix="e2e")
        self.background: dict[str, Future] = {}
        self.deployments: dict[str, Deployment] = {}
        self.cli: CdktfCli | None = None
        self.wrong_account: WrongAccount | None = None
        self.bootstrap: Bootstrap | None = None
        self.pr124: dict[str, Any] = {}  # what pr124's background lifecycle saw
        self.pr124_deployed = threading.Event()
        self.swept = threading.Event()  # the sweeper ran (or will not run): pr124 may go
        self.plans: dict[str, Result] = {}  # `make plan ENV=dev`: unchanged (step 4), changed settings (step 5)
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()

    def aws(self, service: str) -> Any:
        with self._lock:
            if service not in self._clients:
                self._clients[service] = aws_client(self.endpoint, service)
            return self._clients[service]

    def submit(self, name: str, job: Callable[[], Any]) -> Future:
        future = self.executor.submit(job)
        self.background[name] = future
        return future

    def wait_background(self, name: str) -> BaseException | None:
        """Wait for a background job; its error, if it raised one."""
        future = self.background.get(name)
        if future is None:
            pytest.skip(f"{name} was never started (step 1 did not run)")
        if not future.done():
            self.progress.say(f"waiting for the background work of {name}")
        self.progress.wait([future])
        return future.exception()

    def seen(self, name: str, key: str) -> Any:
        """What the background lifecycle of ``name`` observed under ``key``: skipped if its deploy failed (its
        ``*_deployed`` test reports that), failed if it broke down later, before getting there."""
        error = self.wait_background(name)
        holder = self.cli if name == CLI_SUFFIX else self.deployments[name]
        if key in holder.seen:
            return holder.seen[key]
        if not holder.seen.get("deployed"):
            pytest.skip(f"{name} was not deployed")
        pytest.fail(
            f"{name}: the background lifecycle stopped before {key!r}: {error!r}\n{holder.failure}", pytrace=False
        )

    def save_report(self) -> None:
        with self._lock:
            E2E_DIR.mkdir(exist_ok=True)
            REPORT.write_text(json.dumps(self.report, indent=2, default=str) + "\n")


def versions(plugin_dir: str) -> dict[str, str]:
    found = {"moto": importlib.metadata.version("moto")}
    try:
        found["terraform"] = json.loads(
            subprocess.run(["terraform", "version", "-json"], capture_output=True, text=True, check=True).stdout
        )["terraform_version"]
    except (OSError, subprocess.CalledProcessError, ValueError, KeyError):
        found["terraform"] = "unknown"
    aws_dir = Path(plugin_dir) / "registry.terraform.io" / "hashicorp" / "aws"
    found["hashicorp/aws"] = ", ".join(sorted(p.name for p in aws_dir.iterdir() if p.is_dir()))
    return found


def summary_table(report: dict[str, Any]) -> str:
    header = ("environment", "apply s", "resources", "re-plan changes", "destroy", "destroy s")
    rows = [header]
    for suffix, entry in report["environments"].items():
        rows.append(
            (
                suffix,
                _cell(entry.get("apply_seconds")),
                _cell(entry.get("resources_added")),
                _cell(entry.get("replan_changes")),
                _cell(entry.get("destroy")),
                _cell(entry.get("destroy_seconds")),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    total = report.get("total_seconds")
    if total is not None:
        lines.append(
            f"total e2e wall time: {total:.0f}s ({int(total // 60)}m{int(total % 60):02d}s); "
            f"report: {REPORT.relative_to(REPO)}"
        )
    return "\n".join(lines)


def _cell(value: Any) -> str:
    return "-" if value is None else str(value)


def wait_for_state_bucket(e2e: E2E, timeout: float = 240) -> None:
    """Until the state bucket and the state key's alias exist: all an environment's backend needs. The bootstrap goes
    on meanwhile (the provider takes about a minute to confirm the bucket's lifecycle rules, then the state moves
    into the bucket), beside the environments' deploys."""
    s3, kms, began = e2e.aws("s3"), e2e.aws("kms"), time.monotonic()
    while time.monotonic() - began < timeout:
        job = e2e.background["bootstrap"]
        if job.done():
            job.result()  # its error, if it failed before the bucket was there
            return
        with contextlib.suppress(ClientError):
            s3.head_bucket(Bucket=STATE_BUCKET)
            if any(a.get("AliasArn") == STATE_KEY_ALIAS_ARN for a in kms.list_aliases()["Aliases"]):
                e2e.progress.say(f"account: state bucket and key ready after {time.monotonic() - began:.0f}s")
                return
        time.sleep(0.5)
        e2e.progress.flush()
    raise AssertionError(f"{STATE_BUCKET} or its key did not appear within {timeout:.0f}s of the bootstrap's start")


# --------------------------------------------------------------------------------------------------------------------
# Fixtures
# --------------------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def e2e(request: pytest.FixtureRequest, plugin_dir: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[E2E]:
    """Patched moto on a free port, bootstrapped as ``make bootstrap`` does (no bucket made by hand), every environment
    synthesized once by ``main.py`` (meanwhile: the synth calls no AWS API)."""
    shutil.rmtree(LOG_DIR, ignore_errors=True)
    LOG_DIR.mkdir(parents=True)
    MOTO_LOG.unlink(missing_ok=True)
    workdir = tmp_path_factory.mktemp("e2e")
    moto = moto_launcher.start(moto_launcher.free_port(), log_path=str(MOTO_LOG))
    endpoint = f"http://{moto_launcher.DEFAULT_HOST}:{moto.args[-1]}"
    e2e = E2E(request.config, endpoint, workdir, plugin_dir)
    try:
        e2e.progress.say(f"moto (patched) on {endpoint}; log {MOTO_LOG.relative_to(REPO)}")
        assert e2e.aws("s3").list_buckets()["Buckets"] == [], "the emulator must start empty"
        synth = e2e.executor.submit(synthesize, e2e, workdir / "cdktf.out")
        e2e.bootstrap = Bootstrap(e2e, workdir)
        e2e.submit("bootstrap", e2e.bootstrap.first)
        wait_for_state_bucket(e2e)
        e2e.progress.wait([synth])
        outdir = synth.result()
        for suffix in SUFFIXES:
            e2e.deployments[suffix] = Deployment(e2e, suffix, outdir / "stacks" / stack_name(suffix))
        e2e.cli = CdktfCli(e2e, workdir)
        e2e.wrong_account = WrongAccount(e2e, workdir)
        e2e.save_report()
        yield e2e
    finally:
        e2e.swept.set()  # pr124's lifecycle destroys its stack once the sweeper step is over, run or not
        stopped = stop_all_running()
        if stopped:
            e2e.progress.say(f"stopped commands still running: {stopped}")
        e2e.executor.shutdown(wait=True, cancel_futures=True)
        moto_launcher.stop(moto)
        e2e.report["finished"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        e2e.report["total_seconds"] = round(e2e.progress.elapsed(), 1)
        failed = [s["test"] for s in e2e.report["steps"] if s["outcome"] != "passed"]
        e2e.report["status"] = "failed" if failed else "passed"
        e2e.save_report()
        e2e.progress.say("summary\n" + summary_table(e2e.report))


def synthesize(e2e: E2E, outdir: Path) -> Path:
    """All four stacks at once, as CI would: ``python -O main.py`` with the S3 backend (the default)."""
    env = dict(
        e2e.env,
        ENVIRONMENTS="dev,staging,prod",
        ENVIRONMENT_SUFFIX=ADHOC,
        EXPIRES_AT=PR123_EXPIRES_AT,
        CDKTF_OUTDIR=str(outdir),
    )
    result = run([sys.executable, "-O", "main.py"], cwd=REPO, env=env, log=LOG_DIR / "synth.log", timeout=300)
    assert result.ok, result.describe()
    e2e.progress.say(f"synthesized {', '.join(SUFFIXES)} in {result.seconds:.0f}s into {outdir}")
    for suffix in SUFFIXES:
        backend = json.loads((outdir / "stacks" / stack_name(suffix) / "cdk.tf.json").read_text())["terraform"][
            "backend"
        ]
        assert backend == {
            "s3": {
                "bucket": STATE_BUCKET,
                "key": state_key(suffix),
                "region": REGION,
                "encrypt": True,
                "kms_key_id": STATE_KEY_ALIAS_ARN,
                "use_lockfile": True,
            }
        }, backend
    return outdir


class _Outcomes:
    """A plugin registered while the module runs: each test's outcome (its call, or a failed/skipped setup), so the
    step log can tell passed from failed in teardown."""

    def __init__(self) -> None:
        self.by_nodeid: dict[str, str] = {}

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
            self.by_nodeid[report.nodeid] = report.outcome


@pytest.fixture(scope="module")
def _outcomes(request: pytest.FixtureRequest) -> Iterator[_Outcomes]:
    plugin = _Outcomes()
    request.config.pluginmanager.register(plugin, "e2e-deploy-outcomes")
    yield plugin
    request.config.pluginmanager.unregister(plugin)


@pytest.fixture(autouse=True)
def _step_log(request: pytest.FixtureRequest, _outcomes: _Outcomes, e2e: E2E) -> Iterator[None]:
    """A progress line per test, and its duration and outcome in the report."""
    name = request.node.name
    started = time.monotonic()
    e2e.progress.say(f"> {name}")
    entry: dict[str, Any] = {"test": name, "outcome": "failed"}
    e2e.report["steps"].append(entry)
    yield
    entry["seconds"] = round(time.monotonic() - started, 1)
    entry["outcome"] = _outcomes.by_nodeid.get(request.node.nodeid, "unknown")
    e2e.progress.say(f"< {name}: {entry['outcome']} ({entry['seconds']:.0f}s)")
    e2e.save_report()


# --------------------------------------------------------------------------------------------------------------------
# Checks with boto3
# --------------------------------------------------------------------------------------------------------------------
def _error_code(error: ClientError) -> str:
    return error.response.get("Error", {}).get("Code", "")


def check_vpc(e2e: E2E, d: Deployment) -> None:
    ec2, out = e2e.aws("ec2"), d.outputs()
    vpc = ec2.describe_vpcs(VpcIds=[out["vpc_id"]])["Vpcs"][0]
    assert {t["Key"]: t["Value"] for t in vpc.get("Tags", [])}.get("Environment") == d.suffix
    for attribute in ("enableDnsHostnames", "enableDnsSupport"):
        described = ec2.describe_vpc_attribute(VpcId=out["vpc_id"], Attribute=attribute)
        assert described[attribute[0].upper() + attribute[1:]]["Value"] is True, attribute
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [out["vpc_id"]]}])["Subnets"]
    tiers: dict[str, set[str]] = {}
    for subnet in subnets:
        tier = {t["Key"]: t["Value"] for t in subnet.get("Tags", [])}.get("Tier", "?")
        tiers.setdefault(tier, set()).add(subnet["SubnetId"])
    assert {tier: len(ids) for tier, ids in tiers.items()} == {"public": 2, "private": 2, "isolated": 2}
    assert tiers["private"] == set(out["private_subnet_ids"])
    assert tiers["isolated"] == set(out["isolated_subnet_ids"])
    assert len({s["AvailabilityZone"] for s in subnets}) == 2


def check_ecs(e2e: E2E, d: Deployment) -> None:
    ecs, out = e2e.aws("ecs"), d.outputs()
    (cluster,) = ecs.describe_clusters(clusters=[out["ecs_cluster_name"]])["clusters"]
    assert cluster["clusterName"] == f"video-processing-{d.suffix}"
    assert cluster["status"] == "ACTIVE"
    task = ecs.describe_task_definition(taskDefinition=out["task_definition_arn"])["taskDefinition"]
    assert task["family"] == f"video-processor-{d.suffix}"
    assert task["requiresCompatibilities"] == ["FARGATE"]


def check_rds(e2e: E2E, d: Deployment) -> None:
    out = d.outputs()
    (db,) = e2e.aws("rds").describe_db_instances(DBInstanceIdentifier=f"rds-postgresql-{d.suffix}")["DBInstances"]
    assert db["DBInstanceStatus"] == "available"
    assert db["MultiAZ"] is MULTI_AZ[d.suffix]
    assert db["StorageEncrypted"] is True
    assert db["IAMDatabaseAuthenticationEnabled"] is True
    assert db["PubliclyAccessible"] is False
    assert db["Endpoint"]["Address"] == out["rds_endpoint"]
    assert db["MasterUserSecret"]["SecretArn"] == out["db_secret_arn"]


def check_redis(e2e: E2E, d: Deployment) -> None:
    (group,) = e2e.aws("elasticache").describe_replication_groups(ReplicationGroupId=f"redis-{d.suffix}")[
        "ReplicationGroups"
    ]
    assert group["Status"] == "available"
    assert len(group["MemberClusters"]) == 2
    assert group["AtRestEncryptionEnabled"] is True
    assert group["TransitEncryptionEnabled"] is True
    assert group["AutomaticFailover"] == "enabled"
    assert group["NodeGroups"][0]["PrimaryEndpoint"]["Address"] == d.outputs()["redis_primary_endpoint"]


def check_efs(e2e: E2E, d: Deployment) -> None:
    efs, out = e2e.aws("efs"), d.outputs()
    (file_system,) = efs.describe_file_systems(FileSystemId=out["efs_file_system_id"])["FileSystems"]
    assert file_system["Encrypted"] is True
    targets = efs.describe_mount_targets(FileSystemId=out["efs_file_system_id"])["MountTargets"]
    assert len(targets) == 2
    assert {t["SubnetId"] for t in targets} == set(out["private_subnet_ids"])
    points = efs.describe_access_points(FileSystemId=out["efs_file_system_id"])["AccessPoints"]
    assert [p["AccessPointId"] for p in points] == [out["efs_access_point_id"]]
    assert points[0]["RootDirectory"]["Path"] == "/videos"


def check_secrets(e2e: E2E, d: Deployment) -> None:
    secrets, out = e2e.aws("secretsmanager"), d.outputs()
    assert secrets.describe_secret(SecretId=out["api_secret_arn"])["Name"] == f"api-secret-{d.suffix}"
    key = e2e.aws("apigateway").get_api_key(apiKey=out["api_key_id"], includeValue=True)
    assert key["value"]
    assert secrets.get_secret_value(SecretId=out["api_secret_arn"])["SecretString"] == key["value"]
    assert secrets.describe_secret(SecretId=out["db_secret_arn"])["ARN"] == out["db_secret_arn"]


def check_sns(e2e: E2E, d: Deployment) -> None:
    out = d.outputs()
    for output, name in (
        ("completion_topic_arn", "video-processing-completion"),
        ("error_topic_arn", "video-processing-error"),
    ):
        assert out[output].endswith(f":{name}-{d.suffix}")
        attributes = e2e.aws("sns").get_topic_attributes(TopicArn=out[output])["Attributes"]
        assert attributes.get("KmsMasterKeyId"), f"{name}: no KmsMasterKeyId in {attributes}"


def check_state_machine(e2e: E2E, d: Deployment) -> None:
    out = d.outputs()
    machine = e2e.aws("stepfunctions").describe_state_machine(stateMachineArn=out["state_machine_arn"])
    assert machine["name"] == out["state_machine_name"] == f"video-processing-workflow-{d.suffix}"
    assert machine["status"] == "ACTIVE"
    assert machine["loggingConfiguration"]["level"] == "ALL"
    assert machine["tracingConfiguration"]["enabled"] is True


def check_api(e2e: E2E, d: Deployment) -> None:
    apigateway, out = e2e.aws("apigateway"), d.outputs()
    api_id = d.rest_api_id
    assert apigateway.get_rest_api(restApiId=api_id)["name"] == f"video-metadata-api-{d.suffix}"
    assert apigateway.get_stage(restApiId=api_id, stageName=STAGE)["stageName"] == STAGE
    assert apigateway.get_api_key(apiKey=out["api_key_id"])["enabled"] is True
    plans = [p for p in apigateway.get_usage_plans()["items"] if p["name"] == f"video-metadata-plan-{d.suffix}"]
    assert len(plans) == 1
    assert {"apiId": api_id, "stage": STAGE} in [
        {"apiId": s["apiId"], "stage": s["stage"]} for s in plans[0]["apiStages"]
    ]
    keys = apigateway.get_usage_plan_keys(usagePlanId=plans[0]["id"])["items"]
    assert [k["id"] for k in keys] == [out["api_key_id"]]


def check_lambda(e2e: E2E, d: Deployment) -> None:
    lambda_, out = e2e.aws("lambda"), d.outputs()
    config = lambda_.get_function(FunctionName=out["api_function_name"])["Configuration"]
    assert config["FunctionName"] == f"video-api-{d.suffix}"
    variables = config["Environment"]["Variables"]
    assert variables["STATE_MACHINE_ARN"] == out["state_machine_arn"]
    assert variables["ENVIRONMENT"] == d.suffix
    statements = json.loads(lambda_.get_policy(FunctionName=out["api_function_name"])["Policy"])["Statement"]
    invoke = [s for s in statements if s.get("Principal", {}).get("Service") == "apigateway.amazonaws.com"]
    assert len(invoke) == 1, statements
    assert invoke[0]["Action"] == "lambda:InvokeFunction"
    source_arn = json.dumps(invoke[0].get("Condition", {}))
    assert f":{d.rest_api_id}/{STAGE}/" in source_arn, invoke[0]


def check_encryption(e2e: E2E, d: Deployment) -> None:
    """Every log group and data store under the environment's key (security.customer_managed_key, on everywhere)."""
    out = d.outputs()
    key_arn = e2e.aws("kms").describe_key(KeyId=f"alias/data-{d.suffix}")["KeyMetadata"]["Arn"]
    groups = environment_log_groups(e2e, d.suffix, [d.rest_api_id])
    assert len(groups) >= 10
    assert {g["logGroupName"]: g.get("kmsKeyId") for g in groups} == {g["logGroupName"]: key_arn for g in groups}
    (db,) = e2e.aws("rds").describe_db_instances(DBInstanceIdentifier=f"rds-postgresql-{d.suffix}")["DBInstances"]
    assert db["KmsKeyId"] == key_arn
    (file_system,) = e2e.aws("efs").describe_file_systems(FileSystemId=out["efs_file_system_id"])["FileSystems"]
    assert file_system["KmsKeyId"] == key_arn
    (group,) = e2e.aws("elasticache").describe_replication_groups(ReplicationGroupId=f"redis-{d.suffix}")[
        "ReplicationGroups"
    ]
    assert group["KmsKeyId"] == key_arn
    machine = e2e.aws("stepfunctions").describe_state_machine(stateMachineArn=out["state_machine_arn"])
    assert machine["encryptionConfiguration"]["type"] == "CUSTOMER_MANAGED_KMS_KEY"
    assert machine["encryptionConfiguration"]["kmsKeyId"] == key_arn
    function = e2e.aws("lambda").get_function(FunctionName=out["api_function_name"])["Configuration"]
    assert function["KMSKeyArn"] == key_arn


def check_redis_users(e2e: E2E, d: Deployment) -> None:
    """RBAC: the group's users are an IAM-authenticated app user and a disabled default user; no password."""
    elasticache = e2e.aws("elasticache")
    (group,) = elasticache.describe_replication_groups(ReplicationGroupId=f"redis-{d.suffix}")["ReplicationGroups"]
    assert group["UserGroupIds"] == [f"redis-{d.suffix}"]
    (users_group,) = elasticache.describe_user_groups(UserGroupId=f"redis-{d.suffix}")["UserGroups"]
    assert sorted(users_group["UserIds"]) == [f"redis-app-{d.suffix}", f"redis-off-{d.suffix}"]
    users = {u["UserId"]: u for u in elasticache.describe_users()["Users"] if u["UserId"] in users_group["UserIds"]}
    app, off = users[f"redis-app-{d.suffix}"], users[f"redis-off-{d.suffix}"]
    assert app["UserName"] == app["UserId"] and app["Authentication"]["Type"] == "iam"
    assert off["UserName"] == "default" and off["AccessString"].startswith("off ")


def check_firewall(e2e: E2E, d: Deployment) -> None:
    """staging and prod: the web ACL guards the stage and logs to its group (security.waf)."""
    if d.suffix not in WAF:
        return
    wafv2 = e2e.aws("wafv2")
    stage_arn = f"arn:aws:apigateway:{REGION}::/restapis/{d.rest_api_id}/stages/{STAGE}"
    acl = wafv2.get_web_acl_for_resource(ResourceArn=stage_arn)["WebACL"]
    assert acl["Name"] == f"video-metadata-acl-{d.suffix}"
    assert {r["Name"] for r in acl["Rules"]} >= {"AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet"}
    logging = wafv2.get_logging_configuration(ResourceArn=acl["ARN"])["LoggingConfiguration"]
    assert [arn.rsplit(":", 1)[-1] for arn in logging["LogDestinationConfigs"]] == [
        f"aws-waf-logs-video-metadata-api-{d.suffix}"
    ]


CHECKS = (
    check_vpc,
    check_ecs,
    check_rds,
    check_redis,
    check_efs,
    check_secrets,
    check_sns,
    check_state_machine,
    check_api,
    check_lambda,
    check_encryption,
    check_redis_users,
    check_firewall,
)
CHECK_IDS = [c.__name__.removeprefix("check_") for c in CHECKS]


def environment_log_groups(e2e: E2E, suffix: str, rest_api_ids: list[str]) -> list[dict[str, Any]]:
    """The log groups of environment ``suffix``: named after it, or API Gateway's execution logs of its APIs."""
    ending = re.compile(rf"-{re.escape(suffix)}(/|$)")
    return [
        g
        for page in e2e.aws("logs").get_paginator("describe_log_groups").paginate()
        for g in page["logGroups"]
        if ending.search(g["logGroupName"])
        or any(f"API-Gateway-Execution-Logs_{api_id}/" in g["logGroupName"] for api_id in rest_api_ids)
    ]


def leftovers(e2e: E2E, suffix: str, rest_api_ids: list[str]) -> list[str]:
    """Everything of environment ``suffix`` still in the emulator, looked up by the names and tags the stack uses."""
    found: list[str] = []
    ending = re.compile(rf"-{re.escape(suffix)}(/|$)")

    def ours(item: dict) -> bool:  # tagged Environment=<suffix> (the provider's default tags)
        return {t["Key"]: t["Value"] for t in item.get("Tags") or []}.get("Environment") == suffix

    ec2 = e2e.aws("ec2")
    by_tag = [{"Name": "tag:Environment", "Values": [suffix]}]
    found += [f"vpc {v['VpcId']}" for v in ec2.describe_vpcs(Filters=by_tag)["Vpcs"]]
    found += [f"subnet {s['SubnetId']}" for s in ec2.describe_subnets(Filters=by_tag)["Subnets"]]
    found += [
        f"security group {g['GroupName']}"
        for g in ec2.describe_security_groups()["SecurityGroups"]
        if ending.search(g["GroupName"]) or ours(g)
    ]
    found += [
        f"NAT gateway {n['NatGatewayId']}"
        for n in ec2.describe_nat_gateways()["NatGateways"]
        if ours(n) and n["State"] not in ("deleted", "deleting")
    ]
    found += [f"EIP {a.get('AllocationId')}" for a in ec2.describe_addresses(Filters=by_tag)["Addresses"]]
    found += [
        f"internet gateway {g['InternetGatewayId']}"
        for g in ec2.describe_internet_gateways(Filters=by_tag)["InternetGateways"]
    ]
    found += [f"route table {t['RouteTableId']}" for t in ec2.describe_route_tables(Filters=by_tag)["RouteTables"]]
    found += [f"flow log {f['FlowLogId']}" for f in ec2.describe_flow_logs()["FlowLogs"] if ours(f)]

    rds = e2e.aws("rds")
    found += [
        f"DB instance {i['DBInstanceIdentifier']}"
        for i in rds.describe_db_instances()["DBInstances"]
        if i["DBInstanceIdentifier"] == f"rds-postgresql-{suffix}"
    ]
    found += [
        f"DB subnet group {g['DBSubnetGroupName']}"
        for g in rds.describe_db_subnet_groups()["DBSubnetGroups"]
        if ending.search(g["DBSubnetGroupName"])
    ]
    found += [
        f"DB parameter group {g['DBParameterGroupName']}"
        for g in rds.describe_db_parameter_groups()["DBParameterGroups"]
        if ending.search(g["DBParameterGroupName"])
    ]

    elasticache = e2e.aws("elasticache")
    found += [
        f"replication group {g['ReplicationGroupId']}"
        for g in elasticache.describe_replication_groups()["ReplicationGroups"]
        if g["ReplicationGroupId"] == f"redis-{suffix}"
    ]
    found += [
        f"cache cluster {c['CacheClusterId']}"
        for c in elasticache.describe_cache_clusters()["CacheClusters"]
        if c["CacheClusterId"].startswith(f"redis-{suffix}-")
    ]
    found += [
        f"cache user {u['UserId']}"
        for u in elasticache.describe_users()["Users"]
        if u["UserId"] in (f"redis-app-{suffix}", f"redis-off-{suffix}")
    ]
    found += [
        f"cache user group {g['UserGroupId']}"
        for g in elasticache.describe_user_groups()["UserGroups"]
        if g["UserGroupId"] == f"redis-{suffix}"
    ]
    found += [
        f"cache subnet group {g['CacheSubnetGroupName']}"
        for g in elasticache.describe_cache_subnet_groups()["CacheSubnetGroups"]
        if ending.search(g["CacheSubnetGroupName"])
    ]

    efs = e2e.aws("efs")
    for file_system in efs.describe_file_systems()["FileSystems"]:
        if file_system["CreationToken"] == f"efs-{suffix}":
            found.append(f"EFS {file_system['FileSystemId']}")
            found += [
                f"EFS access point {p['AccessPointId']}"
                for p in efs.describe_access_points(FileSystemId=file_system["FileSystemId"])["AccessPoints"]
            ]

    ecs = e2e.aws("ecs")
    found += [
        f"ECS cluster {c['clusterName']}"
        for c in ecs.describe_clusters(clusters=[f"video-processing-{suffix}"])["clusters"]
        if c["status"] == "ACTIVE"
    ]
    # Task definition revisions stay registered on purpose (skip_destroy: an execution in flight retries with the
    # revision it started with); they cost nothing and are not counted here.

    found += [
        f"state machine {m['name']}"
        for m in e2e.aws("stepfunctions").list_state_machines()["stateMachines"]
        if m["name"] == f"video-processing-workflow-{suffix}"
    ]
    found += [
        f"SNS topic {t['TopicArn']}" for t in e2e.aws("sns").list_topics()["Topics"] if ending.search(t["TopicArn"])
    ]
    found += [
        f"secret {s['Name']}"
        for s in e2e.aws("secretsmanager").list_secrets()["SecretList"]
        if s["Name"] == f"api-secret-{suffix}"
    ]
    found += [
        f"Lambda {f['FunctionName']}"
        for f in e2e.aws("lambda").list_functions()["Functions"]
        if f["FunctionName"] == f"video-api-{suffix}"
    ]

    apigateway = e2e.aws("apigateway")
    found += [
        f"REST API {a['name']}"
        for a in apigateway.get_rest_apis(limit=500)["items"]
        if a["name"] == f"video-metadata-api-{suffix}" or a["id"] in rest_api_ids
    ]
    found += [
        f"API key {k['name']}"
        for k in apigateway.get_api_keys(limit=500)["items"]
        if k.get("name") == f"video-metadata-key-{suffix}"
    ]
    found += [
        f"usage plan {p['name']}"
        for p in apigateway.get_usage_plans(limit=500)["items"]
        if p["name"] == f"video-metadata-plan-{suffix}"
    ]

    found += [
        f"web ACL {a['Name']}"
        for a in e2e.aws("wafv2").list_web_acls(Scope="REGIONAL")["WebACLs"]
        if a["Name"] == f"video-metadata-acl-{suffix}"
    ]

    found += [f"log group {g['logGroupName']}" for g in environment_log_groups(e2e, suffix, rest_api_ids)]
    found += [
        f"IAM role {r['RoleName']}"
        for page in e2e.aws("iam").get_paginator("list_roles").paginate()
        for r in page["Roles"]
        if r["RoleName"].endswith(f"-{suffix}")
    ]

    kms = e2e.aws("kms")
    found += [f"KMS alias {a['AliasName']}" for a in kms.list_aliases()["Aliases"] if ending.search(a["AliasName"])]
    for key in kms.list_keys()["Keys"]:
        metadata = kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]
        if metadata.get("Description", "").endswith(f" {stack_name(suffix)}") and metadata["KeyState"] not in (
            "PendingDeletion",
            "Disabled",
        ):
            found.append(f"KMS key {key['KeyId']} ({metadata['Description']}, {metadata['KeyState']})")
    return found


def state_object(e2e: E2E, suffix: str) -> dict[str, Any] | None:
    try:
        return e2e.aws("s3").head_object(Bucket=STATE_BUCKET, Key=state_key(suffix))
    except ClientError as error:
        if _error_code(error) in ("404", "NoSuchKey", "NotFound"):
            return None
        raise


def assert_destroyed(e2e: E2E, d: Deployment, result: Result, rest_api_ids: list[str]) -> None:
    assert result.ok, result.describe()
    assert destroyed(result.output) == d.resources, result.describe(20)
    left = leftovers(e2e, d.suffix, rest_api_ids)
    assert not left, f"{d.suffix} left behind after destroy: {left}"
    assert d.tf.state_list() == []


def rest_api_ids(d: Deployment) -> list[str]:
    with contextlib.suppress(Exception):
        return [d.rest_api_id]
    return []


# --------------------------------------------------------------------------------------------------------------------
# Step 1: dev and pr123, with the state lock held by an apply
# --------------------------------------------------------------------------------------------------------------------
def test_01_deploy_dev_and_pr123_with_state_lock(e2e: E2E) -> None:
    # Steps 6-8 run beside steps 1-5: staging's, prod's and cli1's (cdktf CLI) whole lifecycle in the background;
    # one moto serves them all; those steps' tests assert what the lifecycles observed.
    e2e.submit("staging", lifecycle(staging_lifecycle, e2e, e2e.deployments["staging"]))
    e2e.submit("prod", lifecycle(prod_lifecycle, e2e, e2e.deployments["prod"]))
    assert e2e.cli is not None and e2e.wrong_account is not None
    e2e.submit(CLI_SUFFIX, e2e.cli.lifecycle)
    e2e.submit(WRONG_ACCOUNT_SUFFIX, e2e.wrong_account.run)
    assert e2e.bootstrap is not None
    e2e.submit("bootstrap-again", e2e.bootstrap.again)
    e2e.submit(PR124, lambda: pr124_lifecycle(e2e))

    dev, adhoc = e2e.deployments["dev"], e2e.deployments[ADHOC]
    # A second working directory for pr123, initialised on its own: another engineer's checkout.
    second_dir = e2e.workdir / f"{ADHOC}-second"
    shutil.copytree(adhoc.tf.workdir, second_dir)
    second = Terraform(f"{ADHOC}-second", second_dir, e2e.env, LOG_DIR)
    jobs = [
        e2e.executor.submit(dev.init_and_plan),
        e2e.executor.submit(adhoc.init_and_plan),
        e2e.executor.submit(second.init),
    ]
    e2e.progress.wait(jobs)
    jobs[0].result()
    jobs[1].result()
    assert jobs[2].result().ok, jobs[2].result().describe()

    dev_apply = e2e.executor.submit(lambda: dev.finish_apply(dev.start_apply()))
    running = adhoc.start_apply()
    lock_key = state_key(ADHOC) + ".tflock"
    lock_seen = wait_for_lock(e2e, lock_key, running)
    lock_plan = second.run("plan", "-lock-timeout=0", "-input=false", "-no-color")
    apply_was_running = running.running()
    e2e.progress.say(f"{ADHOC}: second plan during the apply exited {lock_plan.returncode}")
    adhoc.finish_apply(running)  # waits for the apply
    e2e.progress.wait([dev_apply])

    adhoc.record["lock_test"] = {
        "lock_object_seen_after_s": lock_seen,
        "second_plan_exit_code": lock_plan.returncode,
        "refused_with": [m for m in LOCK_ERROR if m in lock_plan.output],
    }
    e2e.save_report()
    assert lock_seen is not None, f"{lock_key} never appeared while the apply ran"
    assert apply_was_running, "the apply ended before the second plan finished: the lock test proves nothing"
    assert lock_plan.returncode != 0 and any(m in lock_plan.output for m in LOCK_ERROR), lock_plan.describe()
    assert state_object_absent(e2e, lock_key), f"{lock_key} is still there after the apply finished"
    dev_apply.result()
    # Step 4's `make plan ENV=dev` of the unchanged stack, started now: steps 2 and 3 only read dev.
    operator = Operator(e2e, "dev-unchanged", e2e.workdir / "plans-unchanged")
    e2e.submit("dev-plan", lambda: e2e.plans.setdefault("unchanged", operator.run("plan", "dev")))


def wait_for_lock(e2e: E2E, key: str, running: Running, timeout: float = 120) -> float | None:
    """Seconds until ``key`` exists in the state bucket (None if the apply ends or time runs out first)."""
    s3, started = e2e.aws("s3"), time.monotonic()
    while running.running() and time.monotonic() - started < timeout:
        try:
            s3.head_object(Bucket=STATE_BUCKET, Key=key)
            seconds = round(time.monotonic() - started, 1)
            e2e.progress.say(f"{key} exists after {seconds}s")
            return seconds
        except ClientError:
            time.sleep(0.2)
        e2e.progress.flush()
    return None


def state_object_absent(e2e: E2E, key: str) -> bool:
    try:
        e2e.aws("s3").head_object(Bucket=STATE_BUCKET, Key=key)
        return False
    except ClientError:
        return True


# --------------------------------------------------------------------------------------------------------------------
# The operator commands: `make plan|apply|drift|destroy ENV=<suffix>` and `make sweep`, as CI runs them
# --------------------------------------------------------------------------------------------------------------------
class Operator:
    """``python -m synth.operate`` / ``synth.sweeper`` (what the make targets run) with the e2e environment; working
    files under ``plans_dir`` (the synthesized stack, Terraform's data folder, the plan and its summary)."""

    def __init__(self, e2e: E2E, name: str, plans_dir: Path, env: dict[str, str] | None = None) -> None:
        self.e2e, self.name, self.plans_dir = e2e, name, plans_dir
        self.env = {**e2e.env, **(env or {})}
        self._count = itertools.count(1)

    def run(self, *args: str, module: str = "synth.operate") -> Result:
        log = LOG_DIR / f"{self.name}-op{next(self._count):02d}-{args[0] if args else 'sweep'}.log"
        self.e2e.progress.say(f"{self.name}: python -m {module} {' '.join(args)}")
        result = run(
            [sys.executable, "-m", module, *args, "--plans-dir", str(self.plans_dir)],
            cwd=REPO,
            env=self.env,
            log=log,
            timeout=OPERATOR_TIMEOUT,
        )
        self.e2e.progress.say(
            f"{self.name}: {module} {' '.join(args)} exited {result.returncode} in {result.seconds:.0f}s"
        )
        return result

    def summary(self, suffix: str, name: str = "summary.md") -> str:
        return (self.plans_dir / suffix / name).read_text(encoding="utf-8")


def state_document(e2e: E2E, suffix: str) -> dict[str, Any]:
    body = e2e.aws("s3").get_object(Bucket=STATE_BUCKET, Key=state_key(suffix))["Body"].read()
    document: dict[str, Any] = json.loads(body)
    return document


def out_of_band_change(e2e: E2E, suffix: str) -> str:
    """What an engineer does in the console: the workflow's log group kept 30 days instead of the profile's 7."""
    name = f"/aws/vendedlogs/states/video-processing-{suffix}"
    groups = e2e.aws("logs").describe_log_groups(logGroupNamePrefix=name)["logGroups"]
    assert [g["logGroupName"] for g in groups] == [name], groups
    e2e.aws("logs").put_retention_policy(logGroupName=name, retentionInDays=30)
    return name


def pr124_lifecycle(e2e: E2E) -> None:
    """In the background from step 1 on: `make plan` (EXPIRES_AT a week ahead), `make apply REVIEWED=...`, `make
    drift` (none), a change made outside Terraform, `make drift` again; then, once the sweeper has run (step 5),
    `make destroy`."""
    seen, op = e2e.pr124, Operator(e2e, PR124, e2e.workdir / "plans", {"EXPIRES_AT": PR124_EXPIRES_AT})
    seen["plan"] = op.run("plan", PR124)
    assert seen["plan"].ok, seen["plan"].describe()
    seen["apply"] = op.run("apply", PR124, "--reviewed", str(op.plans_dir / PR124 / "review.json"))
    assert seen["apply"].ok, seen["apply"].describe()
    seen["outputs"] = {k: v["value"] for k, v in state_document(e2e, PR124)["outputs"].items()}
    (vpc,) = e2e.aws("ec2").describe_vpcs(VpcIds=[seen["outputs"]["vpc_id"]])["Vpcs"]
    seen["vpc_tags"] = {t["Key"]: t["Value"] for t in vpc.get("Tags", [])}
    e2e.pr124_deployed.set()
    seen["drift_before"] = op.run("drift", PR124)
    seen["changed"] = out_of_band_change(e2e, PR124)
    seen["drift_after"] = op.run("drift", PR124)
    seen["drift_summary"] = op.summary(PR124, "drift.md")
    e2e.swept.wait(OPERATOR_TIMEOUT)
    seen["state_after_sweep"] = state_object(e2e, PR124)
    seen["destroy"] = op.run("destroy", PR124)
    api = re.fullmatch(r"https://([a-z0-9]+)\.execute-api\..*", seen["outputs"]["api_url"])
    seen["leftovers"] = leftovers(e2e, PR124, [api.group(1)] if api else [])
    seen["state_after_destroy"] = state_object(e2e, PR124)


# `make plan ENV=dev` against the deployed dev with changed settings (step 5): a bigger DB instance class (an in-place
# update) and no customer-managed key (Redis re-created: kms_key_id forces it; the key deleted), gated as prod.
CHANGED_DEV = (
    ("[environments.dev.database]\n", 'instance_class = "db.t3.large"\n'),
    ("[environments.dev.security]\n", "customer_managed_key = false\n"),
)


def review_dev_changes(e2e: E2E) -> Result:
    """A review plan (no lock; nothing is applied) of CHANGED_DEV, with the gate of prod (`--gated`)."""
    text = (REPO / "config" / "environments.toml").read_text()
    for anchor, line in CHANGED_DEV:
        assert anchor in text, anchor
        text = text.replace(anchor, anchor + line, 1)
    config = e2e.workdir / "environments-changed.toml"
    config.write_text(text)
    op = Operator(e2e, "dev-changed", e2e.workdir / "plans-changed", {"VP_CONFIG": str(config)})
    result = op.run("plan", "dev", "--no-lock", "--gated")
    with contextlib.suppress(OSError):
        result.output += "\n--- summary.md ---\n" + op.summary("dev")
    return result


# --------------------------------------------------------------------------------------------------------------------
# Step 1b: the account stack, bootstrapped from the fixture on (in the background while dev and pr123 deploy)
# --------------------------------------------------------------------------------------------------------------------
def bootstrapped(e2e: E2E) -> Bootstrap:
    """The first bootstrap, waited for: it goes on in the background while the environments deploy."""
    error = e2e.wait_background("bootstrap")
    assert e2e.bootstrap is not None and error is None, f"the bootstrap failed: {error!r}"
    return e2e.bootstrap


def account_outputs(e2e: E2E) -> dict[str, Any]:
    return bootstrapped(e2e).outputs()


def assert_encrypted_with(e2e: E2E, head: dict[str, Any] | None, key_arn: str) -> None:
    """A state object is SSE-KMS under the state key (S3 reports the key the backend named: AWS resolves the alias
    to the key ARN, the emulator keeps the alias ARN; both must lead to the key)."""
    assert head is not None
    assert head["ServerSideEncryption"] == "aws:kms", head
    assert e2e.aws("kms").describe_key(KeyId=head["SSEKMSKeyId"])["KeyMetadata"]["Arn"] == key_arn, head


def test_01b_bootstrap_applied_with_local_state_then_moved_it_into_its_bucket(e2e: E2E) -> None:
    output = bootstrapped(e2e).seen["first"].output
    position = 0
    for step in (
        "does not exist yet: first apply with local state",
        "synthesizing video-pipeline-account with the local backend",
        "terraform apply -input=false -auto-approve",
        "Apply complete! Resources:",
        "synthesizing video-pipeline-account with the s3 backend",
        "-migrate-state -force-copy",
        "holds the state; deleted the local copy",
    ):
        found = output.find(step, position)
        assert found >= 0, f"{step!r} missing, or not after the step before it:\n{output[position:][-3000:]}"
        position = found
    assert not e2e.bootstrap.local_state.exists(), "the local copy of the account stack's state is still there"


def test_01b_account_state_object_is_in_its_own_bucket(e2e: E2E) -> None:
    bootstrapped(e2e)
    head = e2e.aws("s3").head_object(Bucket=STATE_BUCKET, Key=ACCOUNT_STATE_KEY)
    assert_encrypted_with(e2e, head, account_outputs(e2e)["state_kms_key_arn"])
    managed = [r for r in e2e.bootstrap.state()["resources"] if r["mode"] == "managed"]
    assert len(managed) == e2e.bootstrap.record["resources_added"]
    assert {r["type"] for r in managed} >= {"aws_s3_bucket", "aws_kms_key", "aws_api_gateway_account"}


def test_01b_state_bucket_is_versioned_encrypted_private_and_expires_old_versions(e2e: E2E) -> None:
    s3, key_arn = e2e.aws("s3"), account_outputs(e2e)["state_kms_key_arn"]
    assert s3.get_bucket_versioning(Bucket=STATE_BUCKET)["Status"] == "Enabled"
    (rule,) = s3.get_bucket_encryption(Bucket=STATE_BUCKET)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rule["ApplyServerSideEncryptionByDefault"] == {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key_arn}
    assert rule["BucketKeyEnabled"] is True
    block = s3.get_public_access_block(Bucket=STATE_BUCKET)["PublicAccessBlockConfiguration"]
    assert block == dict.fromkeys(
        ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"), True
    )
    (ownership,) = s3.get_bucket_ownership_controls(Bucket=STATE_BUCKET)["OwnershipControls"]["Rules"]
    assert ownership["ObjectOwnership"] == "BucketOwnerEnforced"
    statements = json.loads(s3.get_bucket_policy(Bucket=STATE_BUCKET)["Policy"])["Statement"]
    assert {s["Sid"]: (s["Effect"], s["Condition"]) for s in statements} == {
        "DenyInsecureTransport": ("Deny", {"Bool": {"aws:SecureTransport": "false"}}),
        "DenyOtherAccounts": ("Deny", {"StringNotEquals": {"aws:PrincipalAccount": EMULATOR_ACCOUNT_ID}}),
    }
    rules = {r["ID"]: r for r in s3.get_bucket_lifecycle_configuration(Bucket=STATE_BUCKET)["Rules"]}
    assert rules["expire-replaced-state-versions"]["NoncurrentVersionExpiration"]["NoncurrentDays"] == 90
    assert rules["abort-incomplete-multipart-uploads"]["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"] == 7
    kms = e2e.aws("kms")
    assert kms.get_key_rotation_status(KeyId=key_arn)["KeyRotationEnabled"] is True
    assert kms.describe_key(KeyId=STATE_KEY_ALIAS_ARN)["KeyMetadata"]["Arn"] == key_arn


def test_01b_another_accounts_principal_is_denied_the_state(e2e: E2E) -> None:
    """DenyOtherAccounts, as the patched emulator evaluates it (gap 17): the same request from another account."""
    bootstrapped(e2e)
    s3 = aws_client(e2e.endpoint, "s3")  # a client of its own: the header below must not reach the shared one

    def as_another_account(request: Any, **_: Any) -> None:
        request.headers["x-moto-account-id"] = WRONG_ACCOUNT_ID

    s3.meta.events.register("before-sign.s3.GetObject", as_another_account)
    with pytest.raises(ClientError) as denied:
        s3.get_object(Bucket=STATE_BUCKET, Key=ACCOUNT_STATE_KEY)
    assert denied.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert e2e.aws("s3").get_object(Bucket=STATE_BUCKET, Key=ACCOUNT_STATE_KEY)["ContentLength"] > 0


def test_01b_api_gateway_logs_through_the_account_stacks_role(e2e: E2E) -> None:
    role_arn = account_outputs(e2e)["apigateway_cloudwatch_role_arn"]
    assert role_arn.endswith(f":role/apigw-cloudwatch-{REGION}")
    assert e2e.aws("apigateway").get_account()["cloudwatchRoleArn"] == role_arn


# --------------------------------------------------------------------------------------------------------------------
# Step 2: integration checks of dev and pr123
# --------------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("check", CHECKS, ids=CHECK_IDS)
@pytest.mark.parametrize("suffix", ["dev", ADHOC])
def test_02_integration(e2e: E2E, suffix: str, check: Callable[[E2E, Deployment], None]) -> None:
    deployment = e2e.deployments[suffix]
    deployment.require_applied()
    check(e2e, deployment)


# --------------------------------------------------------------------------------------------------------------------
# Step 3: the API's Lambda handler against the deployed state machine
# --------------------------------------------------------------------------------------------------------------------
def api_event(
    method: str,
    resource: str,
    path: str,
    body: dict | None = None,
    path_parameters: dict | None = None,
    query: dict[str, str] | None = None,
) -> dict[str, Any]:
    """An API Gateway REST API proxy event (payload v1), as the deployed integration sends it."""
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": {"Content-Type": "application/json", "x-api-key": "e2e"},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": path_parameters,
        "body": json.dumps(body) if body is not None else None,
        "isBase64Encoded": False,
        "requestContext": {"stage": STAGE, "httpMethod": method, "resourcePath": resource},
    }


def handler_environment(e2e: E2E, suffix: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The environment the deployed function has, with boto3 pointed at the emulator; returns the state machine ARN.
    moto runs Lambda code only inside Docker (see test_03_lambda_invoke_needs_docker), so tests run the handler here,
    in process."""
    from modules.api.runtime import handler as video_api

    deployment = e2e.deployments[suffix]
    deployment.require_applied()
    machine_arn: str = deployment.outputs()["state_machine_arn"]
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    for name, value in {
        **AWS_TEST_ENV,
        "AWS_ENDPOINT_URL": e2e.endpoint,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "STATE_MACHINE_ARN": machine_arn,
        "ENVIRONMENT": suffix,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(video_api, "_client", None)  # a warm client from elsewhere must not be reused
    return machine_arn


@pytest.mark.parametrize("suffix", ["dev", ADHOC])
def test_03_lambda_handler_drives_state_machine(e2e: E2E, suffix: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from modules.api.runtime import handler as video_api

    machine_arn = handler_environment(e2e, suffix, monkeypatch)

    video_id = "e2e-video-1"

    def post() -> dict[str, Any]:
        return video_api.handler(api_event("POST", "/videos", "/videos", body={"videoId": video_id}))

    def get(run: str | None = None) -> dict[str, Any]:
        return video_api.handler(
            api_event(
                "GET",
                "/videos/{videoId}",
                f"/videos/{video_id}",
                path_parameters={"videoId": video_id},
                query={"run": run} if run else None,
            )
        )

    started = post()
    assert started["statusCode"] == 202, started
    execution_arn = json.loads(started["body"])["executionArn"]
    # One execution per (videoId, run), named after both (run 1 by default).
    name = video_api.execution_name(video_id, 1)
    assert execution_arn == machine_arn.replace(":stateMachine:", ":execution:") + ":" + name

    again = post()  # while it runs: the same execution, nothing started
    assert again["statusCode"] == 200, again
    assert json.loads(again["body"])["executionArn"] == execution_arn

    status = get()
    assert status["statusCode"] == 200, status
    body = json.loads(status["body"])
    assert body["executionArn"] == execution_arn
    assert (body["videoId"], body["run"], body["status"]) == (video_id, 1, "RUNNING")
    assert get(run="2")["statusCode"] == 404

    sfn = e2e.aws("stepfunctions")
    executions = sfn.list_executions(stateMachineArn=machine_arn)["executions"]
    assert [x["executionArn"] for x in executions] == [execution_arn]

    sfn.stop_execution(executionArn=execution_arn)  # once it has ended, processing again takes the next run
    ended = post()
    assert ended["statusCode"] == 409, ended
    assert json.loads(ended["body"])["nextRun"] == 2

    metadata = video_api.handler(api_event("GET", "/metadata", "/metadata"))
    assert metadata["statusCode"] == 200 and json.loads(metadata["body"])["environment"] == suffix


def test_03_workflow_runs_to_the_end_on_the_deployed_stack(e2e: E2E, monkeypatch: pytest.MonkeyPatch) -> None:
    """dev's deployed state machine, cluster, task definition and topics, executed: through the API a video ends
    SUCCEEDED; a failing job (`fail-` video id: the emulated container exits 1) is attempted 4 times and ends FAILED
    with VideoProcessingFailed."""
    from modules.api.runtime import handler as video_api

    deployment = e2e.deployments["dev"]
    handler_environment(e2e, "dev", monkeypatch)
    sfn = e2e.aws("stepfunctions")

    def run_to_the_end(video_id: str) -> dict[str, Any]:
        started = video_api.handler(api_event("POST", "/videos", "/videos", body={"videoId": video_id}))
        assert started["statusCode"] == 202, started
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            seen = video_api.handler(
                api_event("GET", "/videos/{videoId}", f"/videos/{video_id}", path_parameters={"videoId": video_id})
            )
            assert seen["statusCode"] == 200, seen
            body: dict[str, Any] = json.loads(seen["body"])
            if body["status"] != "RUNNING":
                return body
            time.sleep(0.2)
        pytest.fail(f"{video_id}: still RUNNING after 60 s")

    # Executions run by the interpreter are read while it is on (moto's plain backend cannot read their history).
    with moto_launcher.executing_state_machines(e2e.endpoint):
        done = run_to_the_end("e2e-ok-1")
        failed = run_to_the_end("fail-e2e-1")
        described = sfn.describe_execution(executionArn=failed["executionArn"])
        events = sfn.get_execution_history(executionArn=failed["executionArn"], maxResults=1000)["events"]
    assert done["status"] == "SUCCEEDED", done
    assert failed["status"] == "FAILED", failed
    assert described.get("error") == "VideoProcessingFailed", described
    scheduled = [e for e in events if e["type"] == "TaskScheduled"]
    attempts = [e for e in scheduled if e["taskScheduledEventDetails"]["resourceType"] == "ecs"]
    assert len(attempts) == 4, [e["taskScheduledEventDetails"] for e in scheduled]
    deployment.record["workflow"] = {
        "succeeded": done["executionArn"],
        "failed_attempts": len(attempts),
        "failed_intervals_s": [
            round((b["timestamp"] - a["timestamp"]).total_seconds()) for a, b in itertools.pairwise(attempts)
        ],
    }
    e2e.save_report()


def docker_available() -> bool:
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    return not host.startswith("unix://") or os.path.exists(host.removeprefix("unix://"))


def test_03_lambda_invoke_needs_docker(e2e: E2E) -> None:
    """Why step 3 calls the handler in-process: moto's ``Invoke`` starts the function in a Docker container, and
    without a Docker engine it answers with a handled function error instead of running the code."""
    if docker_available():
        pytest.skip("a Docker engine is reachable here: moto would try to run the function in a container")
    deployment = e2e.deployments["dev"]
    deployment.require_applied()
    response = e2e.aws("lambda").invoke(
        FunctionName=deployment.outputs()["api_function_name"],
        Payload=json.dumps(api_event("GET", "/metadata", "/metadata")).encode(),
    )
    payload = response["Payload"].read().decode()
    assert response.get("FunctionError"), payload
    assert "docker" in payload.lower(), payload


# --------------------------------------------------------------------------------------------------------------------
# Step 4: re-plan dev and pr123
# --------------------------------------------------------------------------------------------------------------------
def test_04_replan_dev_and_pr123_no_changes(e2e: E2E) -> None:
    """pr123 with plain `terraform plan -detailed-exitcode`; dev with `make plan ENV=dev` (the operator command must
    print "no changes" on an unchanged deployed stack)."""
    deployments = [e2e.deployments[s] for s in ("dev", ADHOC)]
    for d in deployments:
        d.require_applied()
    jobs = [e2e.executor.submit(deployments[1].replan)]
    e2e.progress.wait(jobs)
    error = e2e.wait_background("dev-plan")
    assert "unchanged" in e2e.plans, f"`make plan ENV=dev` did not run: {error!r}"
    result = e2e.plans["unchanged"]
    e2e.report["environments"]["dev"]["make_plan_unchanged_seconds"] = round(result.seconds, 1)
    problems = []
    if not (result.returncode == 0 and "dev: plan: no changes" in result.output and "No changes." in result.output):
        problems.append(f"dev: `make plan` did not say no changes:\n{result.describe(60)}")
    for d, job in zip(deployments[1:], jobs, strict=True):
        result, changes = job.result()
        e2e.progress.say(f"{d.suffix}: re-plan exit {result.returncode}, {len(changes)} change(s)")
        if result.returncode != 0:
            problems.append(
                f"{d.suffix}: exit {result.returncode}; changed:\n  "
                + "\n  ".join(changes or ["-"])
                + f"\n{result.describe(40)}"
            )
    assert not problems, "\n\n".join(problems)


# --------------------------------------------------------------------------------------------------------------------
# Step 5: state per suffix; destroy pr123 (dev untouched), then dev
# --------------------------------------------------------------------------------------------------------------------
def test_05_state_object_per_suffix(e2e: E2E) -> None:
    for suffix in ("dev", ADHOC):
        e2e.deployments[suffix].require_applied()
    keys = [o["Key"] for o in e2e.aws("s3").list_objects_v2(Bucket=STATE_BUCKET, Prefix="video-pipeline/")["Contents"]]
    key_arn = account_outputs(e2e)["state_kms_key_arn"]
    for suffix in ("dev", ADHOC):
        assert state_key(suffix) in keys, keys
        assert_encrypted_with(e2e, state_object(e2e, suffix), key_arn)
        state = json.loads(e2e.aws("s3").get_object(Bucket=STATE_BUCKET, Key=state_key(suffix))["Body"].read())
        vpcs = [r for r in state["resources"] if r["type"] == "aws_vpc"]
        assert vpcs and vpcs[0]["instances"][0]["attributes"]["tags"]["Name"] == f"vpc-{suffix}"


def test_05_sweeper_destroys_expired_pr123_only_and_leaves_dev_untouched(e2e: E2E) -> None:
    """`make sweep`: pr123 (ExpiresAt yesterday) is destroyed with its state object; pr124 (a week ahead, deployed
    with the operator commands in the background) and dev are not touched."""
    dev, adhoc = e2e.deployments["dev"], e2e.deployments[ADHOC]
    adhoc.require_applied()
    dev.require_applied()
    # Meanwhile, in the background: `make plan ENV=dev` of changed settings against the deployed dev (step 5b).
    e2e.submit("review", lambda: e2e.plans.setdefault("changed", review_dev_changes(e2e)))
    if not e2e.pr124_deployed.wait(OPERATOR_TIMEOUT):
        e2e.progress.say(f"{PR124} is not deployed: the sweeper runs with pr123 alone")
    pr124_before = state_object(e2e, PR124)
    dev_state_before = state_object(e2e, "dev")
    dev_resources_before = dev.tf.state_list()
    dev_out, adhoc_apis = dev.outputs(), rest_api_ids(adhoc)

    sweep = Operator(e2e, "sweep", e2e.workdir / "plans").run(module="synth.sweeper")
    e2e.swept.set()
    adhoc.record["destroy"] = f"swept (exit {sweep.returncode})"
    adhoc.record["destroy_seconds"] = round(sweep.seconds, 1)
    assert sweep.ok, sweep.describe()
    assert destroyed(sweep.output) == adhoc.resources, sweep.describe(20)
    left = leftovers(e2e, ADHOC, adhoc_apis)
    assert not left, f"{ADHOC} left behind after the sweep: {left}"
    adhoc.applied = False
    assert f"sweep: {ADHOC}: destroyed: expires {PR123_EXPIRES_AT}T00:00:00Z (ExpiresAt tag)" in sweep.output
    assert state_object(e2e, ADHOC) is None, "the sweeper left pr123's state object"
    if pr124_before is not None:
        assert f"sweep: {PR124}: kept: expires {PR124_EXPIRES_AT}T00:00:00Z (ExpiresAt tag)" in sweep.output
        pr124_after = state_object(e2e, PR124)
        assert pr124_after is not None and pr124_after["ETag"] == pr124_before["ETag"], "pr124's state changed"
        assert f"{PR124}: terraform" not in sweep.output, "the sweeper ran Terraform on pr124"

    dev_state_after = state_object(e2e, "dev")
    assert dev_state_after is not None and dev_state_before is not None
    assert (dev_state_after["ETag"], dev_state_after["LastModified"]) == (
        dev_state_before["ETag"],
        dev_state_before["LastModified"],
    ), "dev's state object changed"
    assert dev.tf.state_list() == dev_resources_before
    assert e2e.aws("ec2").describe_vpcs(VpcIds=[dev_out["vpc_id"]])["Vpcs"][0]["State"] == "available"
    (db,) = e2e.aws("rds").describe_db_instances(DBInstanceIdentifier="rds-postgresql-dev")["DBInstances"]
    assert db["DBInstanceStatus"] == "available"
    machine = e2e.aws("stepfunctions").describe_state_machine(stateMachineArn=dev_out["state_machine_arn"])
    assert machine["status"] == "ACTIVE"
    assert leftovers(e2e, "dev", []), "dev's resources are gone"
    result, changes = dev.tf.replan("after-pr123.tfplan")
    assert result.returncode == 0, f"dev no longer plans clean after pr123's destroy: {changes}\n{result.describe(30)}"


def changed_dev_plan(e2e: E2E) -> Result:
    error = e2e.wait_background("review")
    if "changed" not in e2e.plans:
        pytest.fail(f"`make plan ENV=dev` of the changed settings did not run: {error!r}", pytrace=False)
    return e2e.plans["changed"]


def test_05b_make_plan_shows_a_db_instance_class_change_as_an_in_place_update(e2e: E2E) -> None:
    result = changed_dev_plan(e2e)
    assert "| `aws_db_instance` |  | 1 |  |  |" in result.output, result.describe(80)
    assert not re.search(r"- (replace|delete) `aws_db_instance\.", result.output), result.describe(80)


def test_05b_gate_in_prod_mode_refuses_replacing_redis_and_names_the_attribute(e2e: E2E) -> None:
    # Without the data key Redis must be re-created (kms_key_id forces it) and the key goes. (The database and EFS
    # do not show: an argument left unset keeps the key they were created with.)
    result = changed_dev_plan(e2e)
    assert result.returncode == 3, result.describe()
    assert re.search(
        r"- replace `aws_elasticache_replication_group\.cache_redis_[0-9A-F]{8}` \(forced by `kms_key_id`\) "
        r"\*\*BLOCKED\*\*",
        result.output,
    ), result.describe(80)
    assert re.search(r"- delete `aws_kms_key\.encryption_key_[0-9A-F]{8}` \*\*BLOCKED\*\*", result.output)
    assert "the stateful-change gate refuses aws_elasticache_replication_group." in result.output
    assert not (e2e.workdir / "plans-changed" / "dev" / "tfplan").exists(), "a refused plan was kept"


def test_05_destroy_dev(e2e: E2E) -> None:
    dev = e2e.deployments["dev"]
    dev.require_applied()
    if "review" in e2e.background:
        e2e.wait_background("review")  # its plan reads dev
    dev_apis = rest_api_ids(dev)
    result = dev.destroy()
    assert_destroyed(e2e, dev, result, dev_apis)
    dev.applied = False


# --------------------------------------------------------------------------------------------------------------------
# Steps 6 and 7: staging and prod, each a background lifecycle started in step 1
# --------------------------------------------------------------------------------------------------------------------
def run_checks(e2e: E2E, d: Deployment) -> dict[str, str | None]:
    """Every integration check on ``d``: None if it passed, else its traceback."""
    results: dict[str, str | None] = {}
    for check, check_id in zip(CHECKS, CHECK_IDS, strict=True):
        try:
            check(e2e, d)
            results[check_id] = None
        except Exception:  # noqa: BLE001 - reported by the check's test
            results[check_id] = traceback.format_exc()
    return results


def lifecycle(job: Callable[[E2E, Deployment], None], e2e: E2E, d: Deployment) -> Callable[[], None]:
    def run_job() -> None:
        try:
            d.deploy()
            d.seen["deployed"] = True
            job(e2e, d)
        except BaseException:
            d.failure = d.failure or traceback.format_exc()
            raise

    return run_job


def staging_lifecycle(e2e: E2E, d: Deployment) -> None:
    """Step 6 after the deploy: integration checks, re-plan, destroy, what is left."""
    d.seen["checks"] = run_checks(e2e, d)
    d.seen["replan"] = d.replan()
    apis = rest_api_ids(d)
    d.seen["destroy"] = d.destroy()
    d.applied = False
    d.seen["leftovers"] = leftovers(e2e, d.suffix, apis)
    d.seen["state_list_after_destroy"] = d.tf.state_list()


def prod_lifecycle(e2e: E2E, d: Deployment) -> None:
    """Step 7 after the deploy: integration checks, re-plan, a destroy that must be refused, what is still there."""
    d.seen["checks"] = run_checks(e2e, d)
    d.seen["replan"] = d.replan()
    out = d.outputs()
    d.seen["state_list_before_destroy"] = d.tf.state_list()
    d.seen["destroy"] = d.destroy()
    d.seen["state_list_after_destroy"] = d.tf.state_list()
    d.seen["after_destroy"] = {
        "db": only_or_none(
            e2e.aws("rds").describe_db_instances, "DBInstances", DBInstanceIdentifier=f"rds-postgresql-{d.suffix}"
        ),
        "redis": only_or_none(
            e2e.aws("elasticache").describe_replication_groups,
            "ReplicationGroups",
            ReplicationGroupId=f"redis-{d.suffix}",
        ),
        "efs": only_or_none(
            e2e.aws("efs").describe_file_systems, "FileSystems", FileSystemId=out["efs_file_system_id"]
        ),
        "vpc": only_or_none(e2e.aws("ec2").describe_vpcs, "Vpcs", VpcIds=[out["vpc_id"]]),
    }


def only_or_none(call: Callable[..., dict], key: str, **kwargs: Any) -> dict | None:
    """The one item a describe call returns, None if it answers "not found"."""
    try:
        items = call(**kwargs)[key]
    except ClientError as error:
        if "NotFound" in _error_code(error) or _error_code(error).startswith("InvalidVpcID"):
            return None
        raise
    assert len(items) <= 1, items
    return items[0] if items else None


def assert_deployed(e2e: E2E, suffix: str) -> None:
    e2e.wait_background(suffix)
    d = e2e.deployments[suffix]
    assert d.seen.get("deployed"), f"{suffix} deploy failed:\n{d.failure}"
    assert d.record["resources_added"] == d.resources


def assert_check_passed(e2e: E2E, suffix: str, check_id: str) -> None:
    error = e2e.seen(suffix, "checks")[check_id]
    if error:
        pytest.fail(f"{suffix}: check {check_id} failed:\n{error}", pytrace=False)


def assert_replan_clean(e2e: E2E, suffix: str) -> None:
    result, changes = e2e.seen(suffix, "replan")
    assert result.returncode == 0, (
        f"{suffix}: re-plan after apply is not empty (exit {result.returncode}); changed:\n  "
        + "\n  ".join(changes or ["(see log)"])
        + f"\n{result.describe(40)}"
    )


def test_06_staging_deployed(e2e: E2E) -> None:
    assert_deployed(e2e, "staging")


@pytest.mark.parametrize("check_id", CHECK_IDS)
def test_06_staging_integration(e2e: E2E, check_id: str) -> None:
    assert_check_passed(e2e, "staging", check_id)


def test_06_staging_replan_no_changes(e2e: E2E) -> None:
    assert_replan_clean(e2e, "staging")


def test_06_staging_destroy(e2e: E2E) -> None:
    d = e2e.deployments["staging"]
    result: Result = e2e.seen("staging", "destroy")
    assert result.ok, result.describe()
    assert destroyed(result.output) == d.resources, result.describe(20)
    left = e2e.seen("staging", "leftovers")
    assert not left, f"staging left behind after destroy: {left}"
    assert e2e.seen("staging", "state_list_after_destroy") == []


def test_07_prod_deployed(e2e: E2E) -> None:
    assert_deployed(e2e, "prod")


@pytest.mark.parametrize("check_id", CHECK_IDS)
def test_07_prod_integration(e2e: E2E, check_id: str) -> None:
    assert_check_passed(e2e, "prod", check_id)


def test_07_prod_replan_no_changes(e2e: E2E) -> None:
    assert_replan_clean(e2e, "prod")


def test_07_prod_destroy_refused(e2e: E2E) -> None:
    result: Result = e2e.seen("prod", "destroy")
    assert not result.ok and "prevent_destroy" in result.output, (
        f"prod destroy was not refused by prevent_destroy: {result.describe()}"
    )
    assert "Destroying..." not in result.output
    before = e2e.seen("prod", "state_list_before_destroy")
    assert before and e2e.seen("prod", "state_list_after_destroy") == before
    after = e2e.seen("prod", "after_destroy")
    assert after["db"] and after["db"]["DBInstanceStatus"] == "available", after["db"]
    assert after["db"]["DeletionProtection"] is True
    assert after["redis"] and after["redis"]["Status"] == "available", after["redis"]
    assert after["efs"] and after["efs"]["LifeCycleState"] == "available", after["efs"]
    assert after["vpc"] and after["vpc"]["State"] == "available", after["vpc"]


# --------------------------------------------------------------------------------------------------------------------
# Step 8: the cdktf CLI
# --------------------------------------------------------------------------------------------------------------------
def test_08_cdktf_cli_deploy(e2e: E2E) -> None:
    error = e2e.wait_background(CLI_SUFFIX)
    cli = e2e.cli
    assert cli is not None and cli.deployed, f"cdktf deploy failed: {error}"
    assert cli.record["resources_added"] == e2e.deployments["dev"].resources  # the dev profile's stack
    assert e2e.seen(CLI_SUFFIX, "state_resources_after_deploy") == e2e.cli.record["resources_added"], (
        f"{e2e.cli.state_file} does not hold the deployed resources"
    )
    assert not e2e.seen(CLI_SUFFIX, "state_object_in_bucket")  # local backend: nothing in the S3 bucket
    # the earlier synth's staging folder was deleted by the CLI, without the ENOENT failure
    assert e2e.seen(CLI_SUFFIX, "stack_folders") == sorted([stack_name("dev"), stack_name(CLI_SUFFIX)])
    assert e2e.seen(CLI_SUFFIX, "state_machine_after_deploy"), f"no video-processing-workflow-{CLI_SUFFIX}"
    assert e2e.seen(CLI_SUFFIX, "multi_az") is MULTI_AZ[CLI_SUFFIX]


def test_08_cdktf_cli_destroy(e2e: E2E) -> None:
    result: Result = e2e.seen(CLI_SUFFIX, "destroy")
    assert e2e.cli is not None
    # `cdktf destroy` synthesized again before destroying: the state outside the output folder survived it.
    assert result.ok and destroyed(result.output) == e2e.cli.record["resources_added"], result.describe()
    assert e2e.seen(CLI_SUFFIX, "state_resources_after_destroy") == 0
    assert not e2e.seen(CLI_SUFFIX, "state_machine_after_destroy"), f"video-processing-workflow-{CLI_SUFFIX} is left"
    left = e2e.seen(CLI_SUFFIX, "leftovers")
    assert not left, f"{CLI_SUFFIX} left behind after cdktf destroy: {left}"


# --------------------------------------------------------------------------------------------------------------------
# Step 9: credentials of another account than the pinned one
# --------------------------------------------------------------------------------------------------------------------
def seen_wrong_account(e2e: E2E, key: str) -> Any:
    error = e2e.wait_background(WRONG_ACCOUNT_SUFFIX)
    job = e2e.wrong_account
    assert job is not None and job.seen.get("done"), (
        f"the wrong-account run broke down: {error!r}\n{job and job.failure}"
    )
    return job.seen[key]


def test_09_plan_with_another_accounts_credentials_is_refused_before_any_change(e2e: E2E) -> None:
    plan: Result = seen_wrong_account(e2e, "plan")
    assert not plan.ok and f"AWS account ID not allowed: {EMULATOR_ACCOUNT_ID}" in plan.output, plan.describe()
    assert seen_wrong_account(e2e, "state_object") is None, "a state object was written"
    assert seen_wrong_account(e2e, "leftovers") == [], "resources were created"


# --------------------------------------------------------------------------------------------------------------------
# Step 10: the bootstrap again (started in step 1)
# --------------------------------------------------------------------------------------------------------------------
def test_10_bootstrap_again_changes_nothing(e2e: E2E) -> None:
    error = e2e.wait_background("bootstrap-again")
    assert e2e.bootstrap is not None
    result: Result | None = e2e.bootstrap.seen.get("again")
    assert result is not None, f"the second bootstrap broke down: {error!r}\n{e2e.bootstrap.failure}"
    assert result.ok and NO_CHANGES in result.output, result.describe()
    assert "Apply complete" not in result.output and "migrate-state" not in result.output
    assert "exists: updating the account stack with the S3 backend" in result.output


# --------------------------------------------------------------------------------------------------------------------
# Step 11: pr124 through the operator commands (in the background from step 1 on; destroyed after the sweeper ran)
# --------------------------------------------------------------------------------------------------------------------
def pr124_seen(e2e: E2E, key: str) -> Any:
    error = e2e.wait_background(PR124)
    if key not in e2e.pr124:
        pytest.fail(f"{PR124}: its lifecycle stopped before {key!r}: {error!r}", pytrace=False)
    return e2e.pr124[key]


def test_11_pr124_deployed_with_make_plan_and_apply_tagged_expires_at(e2e: E2E) -> None:
    plan, apply = pr124_seen(e2e, "plan"), pr124_seen(e2e, "apply")
    assert plan.ok and "pr124: plan: " in plan.output and " to create" in plan.output, plan.describe()
    assert apply.ok and "the refreshed state is the drift baseline" in apply.output, apply.describe()
    assert pr124_seen(e2e, "vpc_tags").get("ExpiresAt") == f"{PR124_EXPIRES_AT}T00:00:00Z"


def test_11_pr124_drift_none_right_after_apply(e2e: E2E) -> None:
    result = pr124_seen(e2e, "drift_before")
    assert result.returncode == 0, result.describe(80)
    assert "No drift." in result.output and "pr124: drift: none" in result.output


def test_11_pr124_drift_exits_2_naming_the_out_of_band_change(e2e: E2E) -> None:
    result = pr124_seen(e2e, "drift_after")
    assert result.returncode == 2, result.describe(80)
    assert re.search(
        r"pr124: drift: aws_cloudwatch_log_group\.workflow_logs_[0-9A-F]{8}: retention_in_days", result.output
    ), result.describe(80)
    summary = pr124_seen(e2e, "drift_summary")
    assert "**Drift seen while refreshing**" in summary and "retention_in_days" in summary, summary
    assert summary.count("\n- `") == 1, f"more than the one change is reported as drift:\n{summary}"


def test_11_make_destroy_removes_pr124_and_its_state_object(e2e: E2E) -> None:
    assert pr124_seen(e2e, "state_after_sweep") is not None, "the sweeper deleted pr124's state object"
    result = pr124_seen(e2e, "destroy")
    assert result.ok and "pr124: destroyed" in result.output, result.describe()
    assert pr124_seen(e2e, "leftovers") == []
    assert pr124_seen(e2e, "state_after_destroy") is None
