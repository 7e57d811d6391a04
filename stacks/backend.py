"""Where a stack keeps its state: the account's S3 bucket under the state key, or a local file (TF_BACKEND=local,
and the first apply of `make bootstrap`)."""

from __future__ import annotations

from pathlib import Path

from cdktf import LocalBackend, S3Backend, TerraformStack


def state_backend(
    stack: TerraformStack,
    kind: str,
    local_state_dir: Path | None,
    *,
    key: str,
    bucket: str,
    region: str,
    kms_key_id: str,
) -> None:
    if kind == "local":
        if local_state_dir is None or not local_state_dir.is_absolute():
            raise ValueError(f"local backend: state folder {local_state_dir!r} must be an absolute path")
        # Outside the output folder, which every synth (and so every cdktf deploy/destroy) replaces.
        LocalBackend(stack, path=str(local_state_dir / key))
        return
    # SSE-KMS under the account stack's state key.
    S3Backend(stack, bucket=bucket, key=key, region=region, encrypt=True, kms_key_id=kms_key_id)
    # S3-native state locking (Terraform >= 1.10); cdktf 0.21's S3Backend has no parameter for it.
    stack.add_override("terraform.backend.s3.use_lockfile", True)
