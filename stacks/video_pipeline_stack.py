"""One environment of the video pipeline, wired in the order the architecture diagram reads:
network -> data tier -> processing tier -> API."""
from __future__ import annotations

from cdktf import LocalBackend, S3Backend, TerraformOutput, TerraformStack
from cdktf_cdktf_provider_aws.provider import AwsProvider, AwsProviderDefaultTags
from constructs import Construct

from config.naming import PROJECT
from config.settings import EnvironmentSettings
from modules.network import Network


class VideoPipelineStack(TerraformStack):
    def __init__(self, scope: Construct, settings: EnvironmentSettings, *, backend: str = "s3") -> None:
        names = settings.names
        super().__init__(scope, names.stack)
        self.settings = settings
        AwsProvider(
            self, "aws", region=settings.region,
            default_tags=[AwsProviderDefaultTags(tags={
                "Project": PROJECT, "Environment": settings.suffix, "Profile": settings.name, "ManagedBy": "cdktf",
            })],
        )
        self._backend(backend)

        network = Network(self, "network", names=names, settings=settings.network)

        self._outputs({
            "vpc_id": (network.outputs.vpc_id, "VPC id"),
            "private_subnet_ids": (network.outputs.private_subnet_ids, "Private (NAT egress) subnet ids"),
            "isolated_subnet_ids": (network.outputs.isolated_subnet_ids, "Isolated subnet ids (data tier)"),
        })

    def _backend(self, kind: str) -> None:
        names, settings = self.settings.names, self.settings
        if kind == "local":
            LocalBackend(self, path=f"terraform.{settings.suffix}.tfstate")
            return
        S3Backend(self, bucket=settings.state_bucket, key=names.state_key, region=settings.state_region, encrypt=True)
        # S3-native state locking (Terraform >= 1.10); cdktf 0.21's S3Backend has no parameter for it.
        self.add_override("terraform.backend.s3.use_lockfile", True)

    def _outputs(self, outputs: dict[str, tuple[object, str]]) -> None:
        for name, (value, description) in outputs.items():
            TerraformOutput(self, name, value=value, description=description)
