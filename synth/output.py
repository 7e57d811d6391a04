"""The output folder: used only if this app wrote it, replaced whole under a lock.

Checked before anything loads or is written (`check_output_folder`): the folder may be new, empty, or one this app
wrote (it holds MARKER); never a file or a symbolic link, never `/`, the home folder, the current folder, the
repository, the local state folder or an ancestor of any of them, never inside the local state folder.

Replaced (`replace_output`) under an exclusive `flock` on `.<name>.lock` beside it, so concurrent synths take turns:
the new output is built in a fresh scratch folder beside it, then swapped in with one atomic exchange (Linux
renameat2), or, where the file system cannot exchange, renamed in after the old one is renamed aside (and back if
that fails). At any moment the folder holds the old output or the new one, whole. The old one is deleted unless a
process still works inside it (Terraform started by `cdktf deploy` from the same checkout): it then stays aside,
renamed, and a later run deletes it. Scratch and aside folders left by killed runs are deleted by the next run.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

MARKER = ".video-pipeline-synth"
MARKER_TEXT = "Written by video-pipeline-infra (main.py). The whole folder is replaced on every synth.\n"

Log = Callable[[str], None]


class OutputFolderError(ValueError):
    """An output folder that must not be used; the message names the path and the rule."""


def _is_marked(folder: Path) -> bool:
    marker = folder / MARKER
    try:
        return marker.is_file() and not marker.is_symlink() and marker.read_text(encoding="utf-8") == MARKER_TEXT
    except (OSError, UnicodeDecodeError):
        return False


def _refuse(path: Path, rule: str) -> OutputFolderError:
    return OutputFolderError(f"output folder {str(path)!r}: {rule}")


def _holds_foreign_files(folder: Path) -> bool:
    """A folder with files in it and without our marker (an unreadable folder counts as foreign)."""
    try:
        return not _is_marked(folder) and any(folder.iterdir())
    except OSError:
        return True


def check_output_folder(raw: str, *, protected: Iterable[Path] = (), state_dir: Path | None = None) -> Path:
    """The absolute output folder for `raw` (CDKTF_OUTDIR), or OutputFolderError naming the path and the rule.

    `protected`: folders the output may neither be nor contain (the repository, the current folder, home, `/` are
    always included); `state_dir`: the local state folder, which the output may also not be inside of."""
    if not raw or "\x00" in raw:
        raise OutputFolderError(f"output folder {raw!r}: must be a non-empty path")
    candidate = Path(os.path.abspath(raw))
    if candidate.is_symlink():
        raise _refuse(candidate, "is a symbolic link; point CDKTF_OUTDIR at a real folder")
    real = candidate.resolve()
    guarded = {Path("/"), Path.home().resolve(), Path.cwd().resolve(), *(p.resolve() for p in protected)}
    if state_dir is not None:
        guarded.add(state_dir.resolve())
    for folder in sorted(guarded):
        if real == folder or real in folder.parents:
            what = "is" if real == folder else "contains"
            raise _refuse(real, f"{what} {folder}, which a synth must never replace")
    if state_dir is not None and state_dir.resolve() in real.parents:
        raise _refuse(real, f"is inside the local state folder {state_dir.resolve()}")
    if real.exists() and not real.is_dir():
        raise _refuse(real, "exists and is not a folder")
    if real.is_dir() and _holds_foreign_files(real):
        hint = "choose a new or empty folder, or delete this one yourself"
        if (real / "manifest.json").is_file() and (real / "stacks").is_dir():
            hint = f"it looks like a synth output from before the marker: check it and delete it once ({hint})"
        raise _refuse(real, f"exists and holds files this app did not write (no {MARKER} file in it); {hint}")
    return real


# --------------------------------------------------------------------------------------------------------------------
# Replacing it
# --------------------------------------------------------------------------------------------------------------------
def _siblings(outdir: Path, kind: str) -> str:
    return f".{outdir.name}.{kind}-"


@contextlib.contextmanager
def _locked(outdir: Path, log: Log) -> Iterator[None]:
    lock = outdir.parent / f".{outdir.name}.lock"
    fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "another process"
            log(f"waiting for another synth into {outdir} to finish (pid {holder})...")
            fcntl.flock(fd, fcntl.LOCK_EX)
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)  # releases the lock; the file stays (deleting a lock file races its next user)


def _users(folder: Path) -> list[int]:
    """Processes whose working directory is `folder` or inside it (Linux /proc; empty elsewhere)."""
    found = []
    prefix = str(folder)
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            cwd = os.readlink(entry / "cwd")
        except OSError:
            continue
        if (cwd == prefix or cwd.startswith(prefix + "/")) and int(entry.name) != os.getpid():
            found.append(int(entry.name))
    return found


def _discard(folder: Path, outdir: Path, log: Log) -> None:
    """Delete a folder this app wrote, or leave it aside while a process works in it."""
    if not folder.is_dir() or folder.is_symlink():
        return
    users = _users(folder)
    if users:
        aside = folder
        if not folder.name.startswith(_siblings(outdir, "old")):
            aside = Path(tempfile.mkdtemp(prefix=_siblings(outdir, "old"), dir=outdir.parent))
            os.replace(folder, aside)  # onto the empty folder mkdtemp made: a fresh, unguessable name
        log(f"kept the previous output at {aside}: process(es) {users} still work in it; a later synth deletes it")
        return
    if _is_marked(folder):
        shutil.rmtree(folder)
    elif not any(folder.iterdir()):
        folder.rmdir()
    else:
        log(f"left {folder} alone: it holds files without this app's {MARKER} file")


def _clean_stale(outdir: Path, log: Log) -> None:
    """Scratch and aside folders of earlier runs (killed, or deferred while in use). Called under the lock, so no
    other synth into `outdir` is running."""
    for kind in ("tmp", "old"):
        for folder in outdir.parent.glob(_siblings(outdir, kind) + "*"):
            _discard(folder, outdir, log)


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux renameat2 RENAME_EXCHANGE); False where the system cannot."""
    renameat2 = getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)
    if renameat2 is None:
        return False
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(b))


def _swap(scratch: Path, outdir: Path, exchange: Callable[[Path, Path], bool]) -> Path | None:
    """Put `scratch` at `outdir`; return where the old output went (None if there was none)."""
    if not os.path.lexists(outdir):
        os.rename(scratch, outdir)
        return None
    if exchange(scratch, outdir):
        return scratch
    aside = Path(tempfile.mkdtemp(prefix=_siblings(outdir, "old"), dir=outdir.parent))
    os.replace(outdir, aside)
    try:
        os.rename(scratch, outdir)
    except BaseException:
        os.replace(aside, outdir)
        raise
    return aside


def replace_output(
    outdir: Path,
    build: Callable[[Path], None],
    log: Log = lambda _: None,
    *,
    exchange: Callable[[Path, Path], bool] = _exchange,
) -> None:
    """Run `build(scratch)` and put its result at `outdir` (checked by check_output_folder), whole."""
    outdir.parent.mkdir(parents=True, exist_ok=True)
    with _locked(outdir, log):
        # Checked again under the lock: the folder may have changed since the up-front check.
        if outdir.is_symlink() or (outdir.is_dir() and _holds_foreign_files(outdir)):
            raise _refuse(outdir, f"changed since it was checked and no longer holds a {MARKER} file")
        _clean_stale(outdir, log)
        scratch = Path(tempfile.mkdtemp(prefix=_siblings(outdir, "tmp"), dir=outdir.parent))
        try:
            os.chmod(scratch, 0o777 & ~_umask())  # mkdtemp makes 0700; the output is an ordinary folder
            (scratch / MARKER).write_text(MARKER_TEXT, encoding="utf-8")
            build(scratch)
            old = _swap(scratch, outdir, exchange)
        except BaseException:
            _discard(scratch, outdir, log)
            raise
        if old is not None:
            _discard(old, outdir, log)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
