"""The main job as users run it: progress, the summary table, bad input rejected before any output."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run_main(tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if k not in ("ENVIRONMENTS", "ENVIRONMENT_SUFFIX", "VP_CONFIG", "TF_BACKEND")}
    environ.update({"CDKTF_OUTDIR": str(tmp_path / "out"), "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20", **env})
    return subprocess.run([sys.executable, "main.py"], cwd=ROOT, env=environ, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def full_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("main")
    return tmp, run_main(tmp, ENVIRONMENT_SUFFIX="pr123")


def test_main_synthesizes_every_environment_with_distinct_state_keys(full_run):
    tmp, result = full_run
    assert result.returncode == 0, result.stderr
    stacks = sorted(p.name for p in (tmp / "out" / "stacks").iterdir())
    assert stacks == ["video-pipeline-dev", "video-pipeline-pr123", "video-pipeline-prod", "video-pipeline-staging"]
    keys = {json.loads((tmp / "out" / "stacks" / s / "cdk.tf.json").read_text())["terraform"]["backend"]["s3"]["key"] for s in stacks}
    assert len(keys) == 4
    manifest = json.loads((tmp / "out" / "manifest.json").read_text())
    assert sorted(manifest["stacks"]) == stacks


def test_main_prints_progress_and_summary_table(full_run):
    tmp, result = full_run
    assert "loading the AWS provider bindings" in result.stderr
    lines = result.stderr.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("stack "))
    assert lines[header].split() == ["stack", "resources", "state", "key", "output", "folder"]
    row = next(line.split() for line in lines[header + 2:] if line.startswith("video-pipeline-pr123 "))
    assert int(row[1]) > 30 and row[2] == "video-pipeline/pr123/terraform.tfstate"
    assert row[3].endswith("out/stacks/video-pipeline-pr123")


@pytest.mark.parametrize("env, message", [
    ({"ENVIRONMENT_SUFFIX": "PR-1"}, "invalid environment suffix 'PR-1': lowercase letters, digits and hyphens"),
    ({"ENVIRONMENT_SUFFIX": "a" * 35}, "at most 34 characters"),
    ({"ENVIRONMENT_SUFFIX": "dev"}, "ENVIRONMENT_SUFFIX = 'dev': must differ from the named environments"),
    ({"ENVIRONMENTS": "dev,qa"}, "environment = 'qa': unknown environment"),
    ({"TF_BACKEND": "consul"}, "TF_BACKEND = 'consul': must be 's3' or 'local'"),
    ({"TF_STATE_BUCKET": "Bad_Bucket"}, "state_bucket = 'Bad_Bucket': must be a valid S3 bucket name"),
    ({"VP_CONFIG": "/nonexistent.toml"}, "cannot be read as TOML"),
])
def test_bad_input_exits_non_zero_and_writes_nothing(tmp_path, env, message):
    result = run_main(tmp_path, **env)
    assert result.returncode == 2
    assert message in result.stderr
    assert "nothing was synthesized" in result.stderr
    assert not (tmp_path / "out").exists()


def test_bad_setting_in_config_file_exits_non_zero_and_writes_nothing(tmp_path):
    config = tmp_path / "env.toml"
    config.write_text((ROOT / "config" / "environments.toml").read_text().replace('vpc_cidr = "10.1.0.0/16"', 'vpc_cidr = "10.0.0.0/16"'))
    result = run_main(tmp_path, VP_CONFIG=str(config))
    assert result.returncode == 2
    assert "environments.staging.network.vpc_cidr = '10.0.0.0/16': overlaps dev's 10.0.0.0/16" in result.stderr
    assert not (tmp_path / "out").exists()


def test_failed_synth_keeps_the_previous_output(tmp_path, monkeypatch):
    """A crash during synthesis leaves the earlier output folder as it was, and no scratch folder."""
    import main

    out = tmp_path / "out"
    out.mkdir()
    (out / "marker").write_text("previous")
    monkeypatch.setattr(main, "build_app", lambda *a: (_ for _ in ()).throw(RuntimeError("boom")))
    with pytest.raises(RuntimeError):
        main.synthesize([], out, "s3")
    assert (out / "marker").read_text() == "previous"
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_fast_loader_output_is_identical_to_the_plain_import(full_run, tmp_path):
    fast_tmp, fast = full_run
    plain = run_main(tmp_path, ENVIRONMENT_SUFFIX="pr123", VP_AWS_BINDINGS="plain")
    assert plain.returncode == 0, plain.stderr
    for stack in (fast_tmp / "out" / "stacks").iterdir():
        assert (tmp_path / "out" / "stacks" / stack.name / "cdk.tf.json").read_text() == (stack / "cdk.tf.json").read_text()


def test_fast_loader_is_used_by_default():
    code = "import modules._bindings as b; import stacks; print(b.mode)"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                            env={**os.environ, "VP_AWS_BINDINGS": ""})
    assert result.stdout.strip() == "fast", result.stderr
