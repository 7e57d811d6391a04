"""Synthesize every environment once per test session; tests read the parsed JSON with tests/helpers.py."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sysconfig
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

# Assertion messages inside the helpers, too (they are imported by the test modules).
pytest.register_assert_rewrite("tests.helpers")

from config.settings import AccountSettings, EnvironmentSettings, load_selection  # noqa: E402  (cheap: no bindings)

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

ADHOC = "pr123"

# The one list of environments the tests synthesize and parametrize over: every environment of the settings file, in
# its order, then the ad-hoc stack. Parametrize ids are these suffixes (the snapshot files are named after them).
# The same synth builds the account stack (ACCOUNT, the [account] table), which the environment tests leave out.
_SELECTION = load_selection(adhoc_suffix=ADHOC, environ={})
ENVIRONMENTS: list[EnvironmentSettings] = _SELECTION.environments
SUFFIXES: list[str] = [env.suffix for env in ENVIRONMENTS]
ACCOUNT: AccountSettings = _SELECTION.account
ACCOUNT_STACK = ACCOUNT.names.stack

# Environments of a kind, chosen by their settings where a test needs one.
PROTECTED = next(env for env in ENVIRONMENTS if env.protect_stateful)  # prevent_destroy, backups: prod
UNPROTECTED = next(env for env in ENVIRONMENTS if not env.protect_stateful)  # the first one without: dev
ADHOC_ENVIRONMENT = next(env for env in ENVIRONMENTS if env.adhoc)  # ENVIRONMENT_SUFFIX's stack


@pytest.fixture(scope="session")
def environments() -> dict[str, EnvironmentSettings]:
    return {env.suffix: env for env in ENVIRONMENTS}


@pytest.fixture(scope="session")
def synth_dir(environments, tmp_path_factory) -> Path:
    """One App synthesized once, as `main.py` writes it: stacks/<name>/ with cdk.tf.json, assets and lock file."""
    from main import synthesize

    outdir = tmp_path_factory.mktemp("synth") / "cdktf.out"
    synthesize(list(environments.values()), outdir, "s3", account=ACCOUNT)
    return outdir


ACCOUNT_KEY = "account"  # the account stack's key where a test goes through every stack folder (in_every_stack)


def stack_dir(synth_dir: Path, suffix: str) -> Path:
    """An environment's stack folder, or the account stack's for ACCOUNT_KEY."""
    return synth_dir / "stacks" / (ACCOUNT_STACK if suffix == ACCOUNT_KEY else f"video-pipeline-{suffix}")


@pytest.fixture(scope="session")
def synthesized(environments, synth_dir) -> dict[str, str]:
    """Terraform JSON per suffix (SUFFIXES)."""
    return {suffix: (stack_dir(synth_dir, suffix) / "cdk.tf.json").read_text() for suffix in environments}


@pytest.fixture(scope="session")
def stacks(synthesized) -> dict[str, dict]:
    return {suffix: json.loads(text) for suffix, text in synthesized.items()}


@pytest.fixture(scope="session")
def account_synthesized(synth_dir) -> str:
    """The account stack's Terraform JSON, from the same synth."""
    return (synth_dir / "stacks" / ACCOUNT_STACK / "cdk.tf.json").read_text()


@pytest.fixture(scope="session")
def account_stack(account_synthesized) -> dict:
    return json.loads(account_synthesized)


@pytest.fixture(scope="session")
def plugin_dir() -> str:
    """The local provider mirror (TF_PLUGIN_DIR): Terraform cannot download providers here."""
    path = os.environ.get("TF_PLUGIN_DIR", "")
    if not os.path.isdir(os.path.join(path, "registry.terraform.io", "hashicorp", "aws")):
        pytest.fail(
            f"TF_PLUGIN_DIR = {path!r}: must point to a plugin directory holding "
            "registry.terraform.io/hashicorp/aws (run `make test`, which finds it)"
        )
    return path


def terraform_env() -> dict[str, str]:
    # No CLI config file (the machine's TF_CLI_CONFIG_FILE points to none) and no checkpoint calls.
    return {**os.environ, "TF_CLI_CONFIG_FILE": os.devnull, "CHECKPOINT_DISABLE": "1", "TF_IN_AUTOMATION": "1"}


def terraform_init(workdir: Path, plugin_dir: str) -> subprocess.CompletedProcess[str]:
    """`init` offline: providers from `plugin_dir` only, checked against the stack's committed lock file."""
    command = ["init", "-backend=false", f"-plugin-dir={plugin_dir}", "-lockfile=readonly", "-input=false"]
    return terraform(workdir, *command)


def terraform(workdir: Path, *command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["terraform", *command, "-no-color"], cwd=workdir, env=terraform_env(), capture_output=True, text=True
    )


def in_every_stack(
    synth_dir: Path,
    plugin_dir: str,
    scratch: pytest.TempPathFactory,
    *command: str,
    account: bool = True,
    adhoc: bool = True,
) -> dict[str, list[subprocess.CompletedProcess[str]]]:
    """`init`, then `terraform <command>`, in a copy of every stack folder (Lambda asset and test files included), and
    unless `account` is off the account stack's (key ACCOUNT_KEY), side by side: each run mostly loads the provider's
    schema. With `adhoc` off, not the ad-hoc stack: its profile's stack with other names, the same configuration for
    Terraform (its JSON is checked by the snapshots and unit tests). An init that fails ends that stack's list."""

    def run(workdir: Path) -> list[subprocess.CompletedProcess[str]]:
        init = terraform_init(workdir, plugin_dir)
        return [init] if init.returncode else [init, terraform(workdir, *command)]

    workdirs = {}
    for suffix in [*(s for s in SUFFIXES if adhoc or s != ADHOC), *([ACCOUNT_KEY] if account else [])]:
        workdirs[suffix] = scratch.mktemp(f"{command[0]}-{suffix}")
        shutil.copytree(stack_dir(synth_dir, suffix), workdirs[suffix], dirs_exist_ok=True)
    with ThreadPoolExecutor(max_workers=len(workdirs)) as pool:
        futures = {suffix: pool.submit(run, workdir) for suffix, workdir in workdirs.items()}
    return {suffix: future.result() for suffix, future in futures.items()}


def pipenv_path_entries() -> list[str]:
    """PATH entries that make ``pipenv`` (cdktf.json's app command) runnable: none if it is on PATH already, else
    the Makefile's pipenv venv (.tools/pipenv) or the scripts folder of a ``python3`` that has the pipenv module."""
    if shutil.which("pipenv"):
        return []
    python3 = shutil.which("python3")
    candidates = [
        str(Path(__file__).resolve().parents[1] / ".tools" / "pipenv" / "bin"),
        sysconfig.get_path("scripts"),
        sysconfig.get_path("scripts", f"{os.name}_user"),
    ]
    if python3:
        probe = subprocess.run(
            [
                python3,
                "-c",
                (
                    "import os, sysconfig; print(sysconfig.get_path('scripts')); "
                    "print(sysconfig.get_path('scripts', f'{os.name}_user'))"
                ),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        candidates = candidates[:1] + probe.stdout.split() + candidates[1:]
    found = [c for c in candidates if c and os.access(os.path.join(c, "pipenv"), os.X_OK)]
    if not found:
        raise AssertionError("pipenv is neither on PATH nor in python3's scripts folders: run `make install`")
    return found[:1]


def tree(folder: Path) -> dict[str, str]:
    """Every file under `folder` (hidden ones included) with a hash of its content: what "nothing was touched"
    compares."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


def foreign_folder(path: Path) -> Path:
    """A folder this app did not write, holding what a user would hate to lose."""
    (path / ".ssh").mkdir(parents=True)
    (path / ".ssh" / "id_rsa").write_text("-----BEGIN OPENSSH PRIVATE KEY-----\n")
    (path / "notes.txt").write_text("notes")
    return path
