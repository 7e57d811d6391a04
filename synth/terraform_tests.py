"""The `terraform test` files, copied into every synthesized stack folder beside cdk.tf.json.

Their one source is tests/terraform/: the *.tftest.hcl files and the mocked provider's values (aws.tfmock.hcl) of the
environment stacks, and tests/terraform/account/ for the account stack. `terraform test` looks for test files in the
folder it runs in, so each stack folder gets its own copy, the same for every environment; there `terraform init
-backend=false && terraform test` plans the stack against the mocked hashicorp/aws provider: no AWS account, nothing
leaves the machine. cdktf, plan and apply ignore these files.
"""

from __future__ import annotations

import shutil
from pathlib import Path

SOURCE = Path(__file__).resolve().parents[1] / "tests" / "terraform"
ACCOUNT_TESTS = SOURCE / "account"
PATTERNS = ("*.tftest.hcl", "*.tfmock.hcl")


def terraform_test_files(source: Path = SOURCE) -> list[Path]:
    return sorted(path for pattern in PATTERNS for path in source.glob(pattern))


def place_terraform_tests(stack_folders: list[Path], source: Path = SOURCE) -> None:
    files = terraform_test_files(source)
    for folder in stack_folders:
        for path in files:
            shutil.copyfile(path, folder / path.name)
