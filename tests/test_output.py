"""The output folder (synth/output.py): refused unless this app wrote it; replaced whole, one synth at a time."""

import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from synth import output
from synth.output import MARKER, OutputFolderError, check_output_folder, replace_output
from tests.conftest import foreign_folder, tree

ROOT = Path(__file__).resolve().parents[1]


def write_output(generation: str, files: int = 3, pause: float = 0.0):
    def build(scratch: Path) -> None:
        (scratch / "stacks").mkdir()
        for index in range(files):
            (scratch / "stacks" / f"file-{index}").write_text(generation)
            time.sleep(pause)

    return build


def leftovers(parent: Path, name: str) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.startswith(f".{name}.") and not p.name.endswith(".lock"))


# --------------------------------------------------------------------------------------------------------------------
# Refused up front
# --------------------------------------------------------------------------------------------------------------------
def test_a_folder_the_app_did_not_write_is_refused_and_untouched(tmp_path):
    victim = foreign_folder(tmp_path / "victim")
    before = tree(tmp_path)
    with pytest.raises(
        OutputFolderError,
        match=f"output folder '{victim}': exists and holds files this app did not write \\(no {MARKER} file in it\\)",
    ):
        check_output_folder(str(victim))
    assert tree(tmp_path) == before


@pytest.mark.parametrize(
    "raw, rule",
    [
        ("/", "is /"),
        (".", "is "),  # the current folder
        ("..", "contains "),  # an ancestor of the current folder
        ("~", "is "),  # the home folder (expanded by the test)
    ],
)
def test_special_folders_are_refused(tmp_path, monkeypatch, raw, rule):
    monkeypatch.chdir(tmp_path)
    raw = str(Path.home()) if raw == "~" else raw
    with pytest.raises(OutputFolderError, match=rule):
        check_output_folder(raw)


def test_the_repository_and_its_ancestors_are_refused(monkeypatch):
    # The current folder and home are guarded too, and the message names the first guarded folder found: put both at
    # / (guarded anyway), so that only `protected` can match wherever the checkout lives (/tmp/x holds pytest's
    # tmp_path).
    monkeypatch.chdir("/")
    monkeypatch.setenv("HOME", "/")
    for raw, what in ((str(ROOT), "is"), (str(ROOT.parent), "contains")):
        with pytest.raises(OutputFolderError, match=f"{what} {ROOT}, which a synth must never replace"):
            check_output_folder(raw, protected=[ROOT])


def test_the_local_state_folder_is_never_part_of_an_output(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    state = tmp_path / "repo" / ".state"
    with pytest.raises(OutputFolderError, match=r"is .*/repo/\.state, which a synth must never replace"):
        check_output_folder(str(state), state_dir=state)
    with pytest.raises(OutputFolderError, match="is inside the local state folder"):
        check_output_folder(str(state / "out"), state_dir=state)


def test_files_and_symbolic_links_are_refused(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputFolderError, match="exists and is not a folder"):
        check_output_folder(str(tmp_path / "file"))
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    with pytest.raises(OutputFolderError, match="is a symbolic link"):
        check_output_folder(str(tmp_path / "link"))


def test_a_marker_that_is_not_ours_does_not_count(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / MARKER).write_text("something else")
    with pytest.raises(OutputFolderError, match="holds files this app did not write"):
        check_output_folder(str(tmp_path / "out"))


@pytest.mark.parametrize("state", ["new", "empty", "ours"])
def test_new_empty_and_own_folders_are_accepted(tmp_path, state):
    out = tmp_path / "a" / "out"
    if state != "new":
        out.mkdir(parents=True)
    if state == "ours":
        replace_output(out, write_output("one"))
    assert check_output_folder(str(out)) == out


# --------------------------------------------------------------------------------------------------------------------
# Replaced whole
# --------------------------------------------------------------------------------------------------------------------
def test_replace_puts_the_new_output_in_place_with_the_marker(tmp_path):
    out = tmp_path / "out"
    replace_output(out, write_output("one"))
    replace_output(out, write_output("two"))
    assert set(tree(out)) == {MARKER, "stacks/file-0", "stacks/file-1", "stacks/file-2"}
    assert (out / "stacks" / "file-0").read_text() == "two"
    assert leftovers(tmp_path, "out") == []


@pytest.mark.parametrize("atomic_exchange", [True, False], ids=["renameat2", "rename-aside"])
def test_a_failed_build_leaves_the_old_output_whole(tmp_path, atomic_exchange):
    out = tmp_path / "out"
    replace_output(out, write_output("one"))
    before = tree(out)

    def broken(scratch: Path) -> None:
        write_output("two")(scratch)
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        replace_output(out, broken, exchange=output._exchange if atomic_exchange else lambda a, b: False)
    assert tree(out) == before
    assert leftovers(tmp_path, "out") == []


def test_without_renameat2_a_failed_rename_puts_the_old_output_back(tmp_path, monkeypatch):
    out = tmp_path / "out"
    replace_output(out, write_output("one"))
    before = tree(out)
    real_rename = os.rename

    def rename(src, dst):
        if Path(dst) == out:
            raise OSError("disk on fire")
        real_rename(src, dst)

    monkeypatch.setattr(output.os, "rename", rename)
    with pytest.raises(OSError, match="disk on fire"):
        replace_output(out, write_output("two"), exchange=lambda a, b: False)
    assert tree(out) == before
    assert leftovers(tmp_path, "out") == []


def test_renameat2_exchanges_two_folders(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x").write_text("a")
    (tmp_path / "b").mkdir()
    assert output._exchange(tmp_path / "a", tmp_path / "b")  # Linux >= 3.15, glibc >= 2.28
    assert (tmp_path / "b" / "x").read_text() == "a" and not any((tmp_path / "a").iterdir())


def test_stale_scratch_folders_of_killed_runs_are_cleaned(tmp_path):
    out = tmp_path / "out"
    code = (
        f"import os, signal, sys; sys.path.insert(0, {str(ROOT)!r}); from pathlib import Path\n"
        "from synth.output import replace_output\n"
        "def build(scratch):\n"
        "    (scratch / 'half').write_text('written')\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
        f"replace_output(Path({str(out)!r}), build)\n"
    )
    replace_output(out, write_output("one"))
    killed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert killed.returncode == -signal.SIGKILL
    [stale] = leftovers(tmp_path, "out")
    assert stale.startswith(".out.tmp-") and (tmp_path / stale / "half").exists()
    assert (out / "stacks" / "file-0").read_text() == "one"  # the kill left the old output whole

    foreign = tmp_path / ".out.tmp-1-foreign"
    foreign.mkdir()
    (foreign / "keep.txt").write_text("not ours")
    replace_output(out, write_output("two"))
    assert leftovers(tmp_path, "out") == [foreign.name]  # ours deleted; one without the marker left alone
    assert (foreign / "keep.txt").read_text() == "not ours"


def test_an_old_output_in_use_stays_aside_until_a_later_run(tmp_path):
    """`cdktf deploy` runs Terraform inside cdktf.out/stacks/<stack>; a synth meanwhile must not delete its files."""
    out = tmp_path / "out"
    replace_output(out, write_output("one"))
    worker = subprocess.Popen(["sleep", "60"], cwd=out / "stacks")
    try:
        messages: list[str] = []
        replace_output(out, write_output("two"), messages.append)
        [aside] = leftovers(tmp_path, "out")
        assert aside.startswith(".out.old-")
        assert os.readlink(f"/proc/{worker.pid}/cwd") == str(tmp_path / aside / "stacks")
        assert (tmp_path / aside / "stacks" / "file-0").read_text() == "one"
        assert any(f"process(es) [{worker.pid}] still work in it" in m for m in messages), messages
    finally:
        worker.kill()
        worker.wait()
    replace_output(out, write_output("three"))
    assert leftovers(tmp_path, "out") == []


def _synth_worker(out: str, generation: str, log: str) -> None:
    def build(scratch: Path) -> None:
        with open(log, "a") as handle:
            handle.write(f"start {generation} {time.monotonic()}\n")
        write_output(generation, files=5, pause=0.01)(scratch)
        with open(log, "a") as handle:
            handle.write(f"end {generation} {time.monotonic()}\n")

    replace_output(Path(out), build)


def test_concurrent_synths_take_turns_and_leave_one_whole_output(tmp_path):
    """Before the lock, two synths into one folder crashed each other in 17 of 20 tries."""
    out, log = tmp_path / "out", tmp_path / "builds.log"
    context = multiprocessing.get_context("fork")
    for round_ in range(20):
        workers = [context.Process(target=_synth_worker, args=(str(out), f"r{round_}-{w}", str(log))) for w in range(2)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(30)
        assert [w.exitcode for w in workers] == [0, 0], f"round {round_}: {log.read_text()}"
        contents = {p.read_text() for p in (out / "stacks").iterdir()}
        assert len(contents) == 1 and contents.pop().startswith(f"r{round_}-"), "a mix of two synths' files"
        assert leftovers(tmp_path, "out") == []
    events = [line.split() for line in log.read_text().splitlines()]
    for (kind, generation, _), (next_kind, next_generation, _) in zip(events[::2], events[1::2], strict=True):
        assert (kind, next_kind) == ("start", "end") and generation == next_generation, "two builds overlapped"


def test_a_folder_that_changed_after_the_check_is_still_refused(tmp_path):
    """Checked up front, then again under the lock: what appeared in between is left alone."""
    out = check_output_folder(str(tmp_path / "out"))
    foreign_folder(out)
    before = tree(tmp_path)
    with pytest.raises(OutputFolderError, match="changed since it was checked"):
        replace_output(out, write_output("one"))
    assert {k: v for k, v in tree(tmp_path).items() if k != ".out.lock"} == before


def test_an_output_from_before_the_marker_gets_a_hint(tmp_path):
    old = tmp_path / "cdktf.out"
    (old / "stacks" / "video-pipeline-dev").mkdir(parents=True)
    (old / "manifest.json").write_text("{}")
    with pytest.raises(
        OutputFolderError, match="looks like a synth output from before the marker: check it and delete it once"
    ):
        check_output_folder(str(old))
    assert (old / "manifest.json").exists()
