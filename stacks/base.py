"""What every stack of the app sets up the same way: a provider pinned to one account, with the tags of every resource;
where the stack keeps its state; its outputs."""

from __future__ import annotations

from pathlib import Path

from cdktf import LocalBackend, S3Backend, TerraformOutput, TerraformStack
from cdktf_cdktf_provider_aws.provider import AwsProvider, AwsProviderAssumeRole, AwsProviderDefaultTags


def pinned_provider(
    stack: TerraformStack, *, region: str, account_id: str, tags: dict[str, str], assume_role_arn: str | None = None
) -> None:
    """Credentials of any other account fail before the first change (`allowed_account_ids`); tags reach every resource
    through `default_tags`."""
    AwsProvider(
        stack,
        "aws",
        region=region,
        allowed_account_ids=[account_id],
        assume_role=[AwsProviderAssumeRole(role_arn=assume_role_arn, session_name=stack.node.id)]
        if assume_role_arn
        else None,
        default_tags=[AwsProviderDefaultTags(tags=tags)],
    )


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


def outputs(stack: TerraformStack, values: dict[str, tuple[object, str]]) -> None:
    """One TerraformOutput per name: (value, description)."""
    for name, (value, description) in values.items():
        TerraformOutput(stack, name, value=value, description=description)
