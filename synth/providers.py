"""The committed provider lock file, placed into every synthesized stack folder.

`terraform init` then verifies the hashicorp/aws binary it installs (from a mirror or a plugin directory) against
the checksums recorded here instead of trusting whatever it finds, and the cdktf CLI, seeing a lock file that
matches the required version, does not try to run `terraform providers lock` (which needs the registry).
"""

from __future__ import annotations

import shutil
from pathlib import Path

LOCK_FILE = Path(__file__).resolve().parents[1] / ".terraform.lock.hcl"


def place_lock_file(stack_folders: list[Path]) -> None:
    for folder in stack_folders:
        shutil.copyfile(LOCK_FILE, folder / LOCK_FILE.name)
