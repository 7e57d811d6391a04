"""The Terraform CLI as `make bootstrap` and the operator commands run it: in a stack folder, its output on stderr as
it comes (stdout stays free for what the command prints: the plan review, the cdktf CLI's protocol in main.py)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path


def terraform(*args: str, cwd: Path, env: Mapping[str, str], echo: bool = True) -> tuple[int, str]:
    """`terraform <args> -no-color` in `cwd`: its exit code and output (echoed unless `echo` is off: `state pull`,
    `show -json`)."""
    lines = []
    with subprocess.Popen(  # noqa: S603 - a fixed program and arguments the callers build
        ["terraform", *args, "-no-color"],  # noqa: S607 - Terraform from PATH, as make and the cdktf CLI run it
        cwd=cwd,
        env=dict(env),
        text=True,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
    ) as proc:
        assert proc.stdout is not None  # noqa: S101 - stdout=PIPE
        for line in proc.stdout:
            lines.append(line)
            if echo:
                sys.stderr.write(line)
    return proc.returncode, "".join(lines)
