"""The main job as users run it: progress, the summary table, bad input refused before anything is loaded or
written (exit 2, the value and the rule named, every file as it was), concurrent synths taking turns."""

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from synth.output import MARKER
from tests.conftest import foreign_folder, pipenv_path_entries, tree

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "config" / "environments.toml"
DROPPED = (
    "ENVIRONMENTS",
    "ENVIRONMENT_SUFFIX",
    "VP_CONFIG",
    "TF_BACKEND",
    "TF_STATE_BUCKET",
    "TF_STATE_REGION",
    "VP_AWS_BINDINGS",
)


def user_environ(**env: str) -> dict[str, str]:
    """This process's environment without the app's own settings, plus `env`."""
    environ = {k: v for k, v in os.environ.items() if k not in DROPPED}
    return {**environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20", **env}


def start_main(out: Path | str, **env: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "main.py"],
        cwd=ROOT,
        env=user_environ(CDKTF_OUTDIR=str(out), **env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def run_main(out: Path | str, **env: str) -> subprocess.CompletedProcess:
    proc = start_main(out, **env)
    stdout, stderr = proc.communicate(timeout=300)
    return subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)


def repository_files() -> dict[str, str]:
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return {
        name: hashlib.sha256((ROOT / name).read_bytes()).hexdigest()
        for name in listed.split("\0")
        if name and (ROOT / name).is_file()
    }


@pytest.fixture(scope="module")
def full_run(tmp_path_factory):
    """Two synths into one output folder at once (two `cdktf deploy` from one checkout), over an earlier output."""
    from synth.output import replace_output

    tmp = tmp_path_factory.mktemp("main")

    def earlier(scratch: Path) -> None:
        (scratch / "stacks" / "video-pipeline-old").mkdir(parents=True)
        (scratch / "stacks" / "video-pipeline-old" / "cdk.tf.json").write_text("{}")

    replace_output(tmp / "out", earlier)
    procs = [start_main(tmp / "out", ENVIRONMENTS="dev", ENVIRONMENT_SUFFIX="pr123") for _ in range(2)]
    results = [subprocess.CompletedProcess(p.args, p.wait(300), *p.communicate()) for p in procs]
    return tmp, results


def test_concurrent_synths_take_turns_and_leave_one_whole_output(full_run):
    tmp, results = full_run
    assert [r.returncode for r in results] == [0, 0], [r.stderr for r in results]
    waited = [r for r in results if f"waiting for another synth into {tmp / 'out'} to finish" in r.stderr]
    assert len(waited) == 1  # the second started while the first held the lock, and waited for it
    manifest = json.loads((tmp / "out" / "manifest.json").read_text())
    assert sorted(manifest["stacks"]) == sorted(p.name for p in (tmp / "out" / "stacks").iterdir())
    assert (tmp / "out" / MARKER).is_file()
    assert sorted(p.name for p in tmp.iterdir()) == [".out.lock", "out"]  # no scratch or aside folder left


def test_main_replaces_its_earlier_output_with_distinct_state_keys(full_run):
    tmp, _ = full_run
    stacks = sorted(p.name for p in (tmp / "out" / "stacks").iterdir())
    assert stacks == ["video-pipeline-dev", "video-pipeline-pr123"]  # the earlier output's stack is gone
    keys = {
        s: json.loads((tmp / "out" / "stacks" / s / "cdk.tf.json").read_text())["terraform"]["backend"]["s3"]["key"]
        for s in stacks
    }
    assert keys == {
        "video-pipeline-dev": "video-pipeline/dev/terraform.tfstate",
        "video-pipeline-pr123": "video-pipeline/adhoc/pr123/terraform.tfstate",
    }


def test_main_prints_progress_and_summary_table(full_run):
    tmp, (result, _) = full_run
    assert "stacks: dev, pr123 (backend: s3)" in result.stderr
    assert "loading the AWS provider bindings" in result.stderr
    lines = result.stderr.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("stack "))
    assert lines[header].split() == ["stack", "resources", "state", "output", "folder"]
    row = next(line.split() for line in lines[header + 2 :] if line.startswith("video-pipeline-pr123 "))
    assert int(row[1]) > 30 and row[2] == "video-pipeline/adhoc/pr123/terraform.tfstate"
    assert row[3] == str(tmp / "out" / "stacks" / "video-pipeline-pr123")
    # dev, staging and prod use the account's 5 Elastic IPs; the ad-hoc stack's NAT needs a sixth.
    warning = "warning: quota: dev, staging, prod, pr123 in account 123456789012, ap-northeast-1 need 6 "
    assert warning in result.stderr


# --------------------------------------------------------------------------------------------------------------------
# Refused: exit 2, the value and the rule named, nothing loaded, nothing written
# --------------------------------------------------------------------------------------------------------------------
def assert_refused(result: subprocess.CompletedProcess, message: str) -> None:
    assert result.returncode == 2, result.stderr
    assert message in result.stderr, result.stderr
    assert "nothing was synthesized" in result.stderr
    assert "loading the AWS provider bindings" not in result.stderr  # refused before the bindings load
    assert "Traceback" not in result.stderr


def broken_config(tmp_path: Path, old: str, new: str) -> Path:
    text = CONFIG.read_text()
    assert old in text
    path = tmp_path / "settings.toml"
    path.write_text(text.replace(old, new, 1))
    return path


BAD_INPUT = {
    # case from the "Safe to run" issue -> (environment, message)
    "2-adhoc-suffix-prod": (
        {"ENVIRONMENTS": "dev", "ENVIRONMENT_SUFFIX": "prod"},
        "ENVIRONMENT_SUFFIX = 'prod': must differ from every environment in the settings file",
    ),
    "2-adhoc-suffix-staging": (
        {"ENVIRONMENTS": "dev", "ENVIRONMENT_SUFFIX": "staging"},
        "ENVIRONMENT_SUFFIX = 'staging': must differ from every environment",
    ),
    "4-config-dev-null": (
        {"VP_CONFIG": "/dev/null"},
        "environments = {}: /dev/null must declare at least one [environments.<name>] table",
    ),
    "4-config-binary": ({"VP_CONFIG": "/bin/true"}, "config file '/bin/true': cannot be read as UTF-8 TOML"),
    "4-config-missing": ({"VP_CONFIG": "/nonexistent.toml"}, "cannot be read as UTF-8 TOML"),
    "4-environments-empty": ({"ENVIRONMENTS": ""}, "ENVIRONMENTS = '': selects no environment"),
    "5-suffix-newline": ({"ENVIRONMENT_SUFFIX": "pr1\n"}, "invalid environment suffix 'pr1\\n': lowercase letters"),
    "5-suffix-case": ({"ENVIRONMENT_SUFFIX": "PR-1"}, "invalid environment suffix 'PR-1': lowercase letters"),
    "5-suffix-length": ({"ENVIRONMENT_SUFFIX": "a" * 31}, "at most 30 characters"),
    "5-state-bucket-ip": (
        {"TF_STATE_BUCKET": "192.168.1.1"},
        "TF_STATE_BUCKET = '192.168.1.1': S3 bucket name must not be formatted as an IP address",
    ),
    "5-state-bucket-dots": ({"TF_STATE_BUCKET": "a..b"}, "S3 bucket name must not contain two adjacent dots"),
    "6-suffix-collision": (
        {"ENVIRONMENT_SUFFIX": "execution-dev"},
        (
            "ENVIRONMENT_SUFFIX = 'execution-dev': derives 'ecs-task-execution-dev' from "
            "'ecs-task-{s}', which is dev's 'ecs-task-execution-{s}'"
        ),
    ),
    "unknown-environment": ({"ENVIRONMENTS": "dev,qa"}, "environment = 'qa': unknown environment"),
    "unknown-backend": ({"TF_BACKEND": "consul"}, "TF_BACKEND = 'consul': must be 's3' or 'local'"),
    "account-suffix": (
        {"ENVIRONMENTS": "", "ENVIRONMENT_SUFFIX": "account"},
        "ENVIRONMENT_SUFFIX = 'account': is a reserved name (account: the account stack video-pipeline-account",
    ),
}

BAD_FILES = {
    "4-misspelled-table": ("[environments.dev]", "[enviroments.dev]", "enviroments = "),
    "5-maintenance-hour-29": (
        'maintenance_window = "sun:17:00-sun:18:00"',
        'maintenance_window = "sun:29:00-sun:30:00"',
        "maintenance_window = 'sun:29:00-sun:30:00': must look like sun:17:00-sun:18:00",
    ),
    "5-windows-overlap": (
        'snapshot_window = "15:00-16:00"',
        'snapshot_window = "16:30-17:30"',
        "must not overlap the maintenance window sun:17:00-sun:18:00",
    ),
    "5-public-vpc": (
        'vpc_cidr = "10.1.0.0/16"',
        'vpc_cidr = "8.8.0.0/16"',
        "environments.staging.network.vpc_cidr = '8.8.0.0/16': must be a private (RFC 1918) range",
    ),
    "5-az-count-30": ("az_count = 2", "az_count = 30", "az_count = 30: must be between 2"),
    "5-overlapping-cidr": (
        'vpc_cidr = "10.1.0.0/16"',
        'vpc_cidr = "10.0.0.0/16"',
        "environments.staging.network.vpc_cidr = '10.0.0.0/16': overlaps dev's 10.0.0.0/16",
    ),
    "10-prod-without-protection": (
        "protect_stateful = true",
        "protect_stateful = false",
        "environments.prod.protect_stateful = False: must stay on in prod",
    ),
    "10-prod-without-final-snapshot": (
        "final_snapshot = true",
        "final_snapshot = false",
        "environments.prod.database.final_snapshot = False: must stay on in prod",
    ),
    "10-adhoc-profile-prod": (
        'profile = "dev"',
        'profile = "prod"',
        "adhoc.profile = 'prod': must not be prod or a protect_stateful environment",
    ),
    # A settings file from before the account stack: the setting is gone (the account stack owns the role).
    "account-old-logging-role-setting": (
        "throttle_burst_limit = 200",
        "throttle_burst_limit = 200\nmanage_account_logging_role = true",
        "environments.dev.api.manage_account_logging_role = True: unknown setting",
    ),
}


BAD_DOCUMENTS = {
    "4-defaults-not-a-table": ("defaults = 5\n[environments.dev]\n", "defaults = 5: must be a table"),
    "4-environments-a-list": ("environments = [1, 2]\n", "environments = [1, 2]: must be a table"),
}


@pytest.fixture
def previous_output(tmp_path) -> Path:
    """An output folder from an earlier synth (marked), which a refused run must leave exactly as it was."""
    from synth.output import replace_output

    out = tmp_path / "out"
    replace_output(out, lambda scratch: (scratch / "cdk.tf.json").write_text("{}"))
    return out


@pytest.mark.parametrize("case", BAD_INPUT)
def test_bad_input_exits_2_and_touches_nothing(tmp_path, previous_output, case):
    env, message = BAD_INPUT[case]
    before = tree(tmp_path)
    assert_refused(run_main(previous_output, **env), message)
    assert tree(tmp_path) == before


@pytest.mark.parametrize("case", BAD_FILES)
def test_bad_settings_file_exits_2_and_touches_nothing(tmp_path, previous_output, case):
    old, new, message = BAD_FILES[case]
    config = broken_config(tmp_path, old, new)
    before = tree(tmp_path)
    assert_refused(run_main(previous_output, VP_CONFIG=str(config), ENVIRONMENT_SUFFIX="pr123"), message)
    assert tree(tmp_path) == before


@pytest.mark.parametrize("case", BAD_DOCUMENTS)
def test_badly_shaped_settings_file_exits_2_and_touches_nothing(tmp_path, previous_output, case):
    content, message = BAD_DOCUMENTS[case]
    (tmp_path / "settings.toml").write_text(content)
    before = tree(tmp_path)
    assert_refused(run_main(previous_output, VP_CONFIG=str(tmp_path / "settings.toml")), message)
    assert tree(tmp_path) == before


def test_a_folder_this_app_did_not_write_is_refused(tmp_path):
    """Case 1: CDKTF_OUTDIR=<a folder holding .ssh/id_rsa and notes.txt> deleted both."""
    victim = foreign_folder(tmp_path / "home")
    before = tree(tmp_path)
    assert_refused(run_main(victim), f"output folder '{victim}': exists and holds files this app did not write")
    assert tree(tmp_path) == before


@pytest.mark.parametrize(
    "outdir, message",
    [
        ("..", f"output folder '{ROOT.parent}': contains {ROOT}, which a synth must never replace"),
        (".", f"output folder '{ROOT}': is {ROOT}, which a synth must never replace"),
        ("/", "output folder '/': is /, which a synth must never replace"),
        (str(Path.home()), f"output folder '{Path.home().resolve()}': is {Path.home().resolve()}"),
        (".state", f"output folder '{ROOT / '.state'}': is {ROOT / '.state'}, which a synth must never replace"),
    ],
)
def test_special_output_folders_are_refused(outdir, message):
    """Case 1: CDKTF_OUTDIR=.. deleted the repository's parent folder, the repository included."""
    before = repository_files()
    assert_refused(run_main(outdir), message)
    assert repository_files() == before


def test_cdktf_cli_synth_into_a_foreign_folder_is_refused(tmp_path):
    """`npx cdktf synth --output <folder>` passes the folder to main.py as CDKTF_OUTDIR."""
    victim = foreign_folder(tmp_path / "victim")
    (victim / "stacks" / "keep").mkdir(parents=True)  # the CLI deletes stacks/* folders a synth did not produce
    before = tree(tmp_path)
    environ = user_environ(
        CHECKPOINT_DISABLE="1", DISABLE_VERSION_CHECK="true", CDKTF_HOME=str(tmp_path / "cdktf-home"), CI="1"
    )
    environ["PATH"] = os.pathsep.join([*pipenv_path_entries(), environ["PATH"]])  # cdktf.json runs `pipenv run`
    cli = subprocess.run(
        [str(ROOT / "node_modules" / ".bin" / "cdktf"), "synth", "--output", str(victim)],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert cli.returncode != 0
    assert "exists and holds files this app did not write" in cli.stdout + cli.stderr
    after = {k: v for k, v in tree(tmp_path).items() if not k.startswith("cdktf-home/")}
    assert after == before


def test_fast_loader_is_used_by_default(full_run):
    _, results = full_run
    assert all("stack(s) in" in r.stderr and "(fast bindings loader)" in r.stderr for r in results)


@pytest.mark.slow
def test_fast_loader_output_is_identical_to_the_plain_import(full_run, tmp_path):
    fast_tmp, _ = full_run
    plain = run_main(tmp_path / "out", ENVIRONMENTS="dev", ENVIRONMENT_SUFFIX="pr123", VP_AWS_BINDINGS="plain")
    assert plain.returncode == 0, plain.stderr
    assert "(plain bindings loader)" in plain.stderr
    fast_stacks = sorted((fast_tmp / "out" / "stacks").iterdir())
    assert [stack.name for stack in fast_stacks] == ["video-pipeline-dev", "video-pipeline-pr123"]  # compared below
    for stack in fast_stacks:
        assert (tmp_path / "out" / "stacks" / stack.name / "cdk.tf.json").read_text() == (
            stack / "cdk.tf.json"
        ).read_text()


class FakeApp:
    """Stands in for the CDKTF App: writes stacks/<stack>/cdk.tf.json like a synth, without the bindings."""

    def __init__(self, environments, outdir: str, account=None) -> None:
        self.environments, self.outdir, self.account = environments, Path(outdir), account

    def synth(self) -> None:
        for settings in [*([self.account] if self.account else []), *self.environments]:
            folder = self.outdir / "stacks" / settings.names.stack
            folder.mkdir(parents=True)
            (folder / "cdk.tf.json").write_text("{}")


@pytest.mark.parametrize(
    "under_cli, expected",
    [
        (False, ["video-pipeline-dev"]),
        # The CLI listed stacks/* before running main.py and deletes what the synth did not produce: a folder that is
        # gone makes it fail with ENOENT, so an empty one is left for it.
        (True, ["video-pipeline-dev", "video-pipeline-gone"]),
    ],
)
def test_under_the_cdktf_cli_folders_of_earlier_stacks_are_left_empty_for_it(
    tmp_path, monkeypatch, environments, under_cli, expected
):
    import main
    from synth.output import replace_output

    monkeypatch.setattr(main, "build_app", lambda envs, outdir, backend, account: FakeApp(envs, outdir))
    out = tmp_path / "out"
    replace_output(out, lambda scratch: (scratch / "stacks" / "video-pipeline-gone").mkdir(parents=True))
    (out / "stacks" / "video-pipeline-gone" / "cdk.tf.json").write_text("{}")
    main.synthesize([environments["dev"]], out, "s3", under_cdktf_cli=under_cli)
    assert sorted(p.name for p in (out / "stacks").iterdir()) == expected
    if under_cli:
        assert list((out / "stacks" / "video-pipeline-gone").iterdir()) == []


@pytest.mark.parametrize(
    "environments, suffix, expected",
    [
        (None, None, ["account", "dev", "staging", "prod"]),  # unset: everything, the account stack first
        ("account", None, ["account"]),
        ("dev", None, ["dev"]),
        ("dev,account", "pr9", ["account", "dev", "pr9"]),
        ("", "pr9", ["pr9"]),
    ],
)
def test_environments_selects_the_account_stack_by_name(environments, suffix, expected):
    from main import select_stacks

    environ = {k: v for k, v in {"ENVIRONMENTS": environments, "ENVIRONMENT_SUFFIX": suffix}.items() if v is not None}
    selection = select_stacks(environ)
    assert [*(["account"] if selection.with_account else []), *(e.suffix for e in selection.environments)] == expected


def test_the_account_stack_gets_its_own_folder_lock_file_and_terraform_tests(tmp_path, monkeypatch, environments):
    import main
    from synth.terraform_tests import ACCOUNT_TESTS
    from tests.conftest import ACCOUNT

    monkeypatch.setattr(main, "build_app", lambda envs, outdir, backend, account: FakeApp(envs, outdir, account))
    rows = main.synthesize([environments["dev"]], tmp_path / "out", "s3", account=ACCOUNT)
    assert [(stack, state) for stack, _, state, _ in rows] == [
        ("video-pipeline-account", "video-pipeline/account/terraform.tfstate"),
        ("video-pipeline-dev", "video-pipeline/dev/terraform.tfstate"),
    ]
    account = tmp_path / "out" / "stacks" / "video-pipeline-account"
    assert sorted(p.name for p in account.iterdir()) == sorted(
        ["cdk.tf.json", ".terraform.lock.hcl", *(p.name for p in ACCOUNT_TESTS.glob("*.hcl"))]
    )
    [local] = main.synthesize([], tmp_path / "local", "local", account=ACCOUNT)
    assert local[2] == str(main.LOCAL_STATE_DIR / "video-pipeline" / "account" / "terraform.tfstate")
