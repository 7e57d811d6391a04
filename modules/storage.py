"""EFS for the processing tasks: encrypted, TLS-only, reached through one access point."""
from __future__ import annotations

from dataclasses import dataclass

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

from config.naming import Names
from config.settings import StorageSettings
from modules.common import Statement, policy_document, protect

POSIX_UID = 1000  # the processing container's user
ROOT_DIRECTORY = "/videos"


@dataclass(frozen=True)
class StorageOutputs:
    file_system_id: str
    file_system_arn: str
    access_point_id: str
    access_point_arn: str


class Storage(Construct):
    def __init__(self, scope: Construct, id_: str, *, names: Names, settings: StorageSettings, subnet_ids: list[str],
                 security_group_id: str, protected: bool) -> None:
        super().__init__(scope, id_)
        fs = EfsFileSystem(
            self, "efs", creation_token=names("efs"), encrypted=True,
            performance_mode="generalPurpose", throughput_mode="bursting",
            lifecycle_policy=[EfsFileSystemLifecyclePolicy(transition_to_ia=settings.transition_to_ia)],
            tags={"Name": names("efs")},
        )
        protect(fs, protected)
        # CDK's default placement: the private (NAT egress) subnets, where the tasks run.
        for index, subnet_id in enumerate(subnet_ids):
            EfsMountTarget(self, f"mount-{index + 1}", file_system_id=fs.id, subnet_id=subnet_id,
                           security_groups=[security_group_id])
        access_point = EfsAccessPoint(
            self, "access-point", file_system_id=fs.id,
            posix_user=EfsAccessPointPosixUser(uid=POSIX_UID, gid=POSIX_UID),
            root_directory=EfsAccessPointRootDirectory(path=ROOT_DIRECTORY, creation_info=EfsAccessPointRootDirectoryCreationInfo(
                owner_uid=POSIX_UID, owner_gid=POSIX_UID, permissions="750")),
            tags={"Name": names("videos")},
        )
        tls_only = policy_document(self, "tls-only", [Statement(
            sid="DenyInsecureTransport", effect="Deny", actions=["*"], resources=[fs.arn],
            principals={"AWS": ["*"]}, conditions=[("Bool", "aws:SecureTransport", ["false"])],
        )])
        EfsFileSystemPolicy(self, "policy", file_system_id=fs.id, policy=tls_only.json)
        EfsBackupPolicy(self, "backup", file_system_id=fs.id, backup_policy=EfsBackupPolicyBackupPolicy(
            status="ENABLED" if settings.backups else "DISABLED"))
        self.outputs = StorageOutputs(file_system_id=fs.id, file_system_arn=fs.arn,
                                      access_point_id=access_point.id, access_point_arn=access_point.arn)
