"""EFS for the processing tasks: encrypted, TLS-only, reached through one access point."""

from __future__ import annotations

from cdktf_cdktf_provider_aws.ecs_task_definition import (
    EcsTaskDefinitionVolume,
    EcsTaskDefinitionVolumeEfsVolumeConfiguration,
    EcsTaskDefinitionVolumeEfsVolumeConfigurationAuthorizationConfig,
)
from cdktf_cdktf_provider_aws.efs_access_point import (
    EfsAccessPoint,
    EfsAccessPointPosixUser,
    EfsAccessPointRootDirectory,
    EfsAccessPointRootDirectoryCreationInfo,
)
from cdktf_cdktf_provider_aws.efs_backup_policy import EfsBackupPolicy, EfsBackupPolicyBackupPolicy
from cdktf_cdktf_provider_aws.efs_file_system import EfsFileSystem, EfsFileSystemLifecyclePolicy
from cdktf_cdktf_provider_aws.efs_file_system_policy import EfsFileSystemPolicy
from cdktf_cdktf_provider_aws.efs_mount_target import EfsMountTarget
from constructs import Construct

from config.settings import StorageSettings
from modules.context import StackContext
from modules.iam import Role, Statement, policy_document
from modules.network import Connections, HasConnections, Network

POSIX_UID = 1000  # the processing container's user
ROOT_DIRECTORY = "/videos"
PORT = 2049


class Storage(Construct):
    def __init__(
        self, scope: Construct, id_: str, *, ctx: StackContext, settings: StorageSettings, network: Network
    ) -> None:
        super().__init__(scope, id_)
        names = ctx.names
        # The description is immutable (a change replaces the group): it names the first-release peer.
        self.connections: Connections = network.security_group(
            "efs", name_base="efs", description="EFS: NFS from ECS tasks", port=PORT, protocol="NFS"
        )
        fs = EfsFileSystem(
            self,
            "efs",
            creation_token=names("efs"),
            encrypted=True,
            kms_key_id=ctx.encryption_key("elasticfilesystem"),
            performance_mode="generalPurpose",
            throughput_mode="bursting",
            lifecycle_policy=[EfsFileSystemLifecyclePolicy(transition_to_ia=settings.transition_to_ia)],
            tags={"Name": names("efs")},
        )
        ctx.protect(fs)
        # CDK's default placement: the private (NAT egress) subnets, where the tasks run.
        for index, subnet_id in enumerate(network.private_subnet_ids):
            EfsMountTarget(
                self,
                f"mount-{index + 1}",
                file_system_id=fs.id,
                subnet_id=subnet_id,
                security_groups=[self.connections.security_group_id],
            )
        access_point = EfsAccessPoint(
            self,
            "access-point",
            file_system_id=fs.id,
            posix_user=EfsAccessPointPosixUser(uid=POSIX_UID, gid=POSIX_UID),
            root_directory=EfsAccessPointRootDirectory(
                path=ROOT_DIRECTORY,
                creation_info=EfsAccessPointRootDirectoryCreationInfo(
                    owner_uid=POSIX_UID, owner_gid=POSIX_UID, permissions="750"
                ),
            ),
            tags={"Name": names("videos")},
        )
        tls_only = policy_document(
            self,
            "tls-only",
            [
                Statement(
                    sid="DenyInsecureTransport",
                    effect="Deny",
                    actions=["*"],
                    resources=[fs.arn],
                    principals={"AWS": ["*"]},
                    conditions=[("Bool", "aws:SecureTransport", ["false"])],
                )
            ],
        )
        EfsFileSystemPolicy(self, "policy", file_system_id=fs.id, policy=tls_only.json)
        EfsBackupPolicy(
            self,
            "backup",
            file_system_id=fs.id,
            backup_policy=EfsBackupPolicyBackupPolicy(status="ENABLED" if settings.backups else "DISABLED"),
        )
        self._file_system_arn: str = fs.arn
        self._access_point_arn: str = access_point.arn
        self.file_system_id: str = fs.id
        self.access_point_id: str = access_point.id

    def allow_from(self, peer: HasConnections) -> None:
        self.connections.allow_from(peer.connections)

    def grant_mount(self, role: Role) -> None:
        """Mount and write, through the access point only (the volume uses IAM authorization)."""
        role.add(
            Statement(
                sid="MountEfsThroughAccessPoint",
                actions=["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"],
                resources=[self._file_system_arn],
                conditions=[("StringEquals", "elasticfilesystem:AccessPointArn", [self._access_point_arn])],
            )
        )

    def task_volume(self, name: str) -> EcsTaskDefinitionVolume:
        """An ECS task volume on the access point, TLS in transit and IAM-authorized (see `grant_mount`)."""
        return EcsTaskDefinitionVolume(
            name=name,
            efs_volume_configuration=EcsTaskDefinitionVolumeEfsVolumeConfiguration(
                file_system_id=self.file_system_id,
                transit_encryption="ENABLED",
                authorization_config=EcsTaskDefinitionVolumeEfsVolumeConfigurationAuthorizationConfig(
                    access_point_id=self.access_point_id, iam="ENABLED"
                ),
            ),
        )
