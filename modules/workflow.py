"""Step Functions workflow: run the video-processor task synchronously, retry, and notify.

The role is its own construct so the notification topics can name it as their only publisher before
the state machine (which needs the topics) exists."""
from __future__ import annotations

import json
from dataclasses import dataclass

from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from cdktf_cdktf_provider_aws.sfn_state_machine import (
    SfnStateMachine,
    SfnStateMachineLoggingConfiguration,
    SfnStateMachineTracingConfiguration,
)
from constructs import Construct

from config.naming import Names
from modules.common import AwsContext, Statement, log_group, log_streams_arn, policy_document

TIMEOUT_SECONDS = 1800


class WorkflowRole(Construct):
    """The state machine's role, trusted by Step Functions for this one state machine only."""

    def __init__(self, scope: Construct, id_: str, *, names: Names, context: AwsContext) -> None:
        super().__init__(scope, id_)
        self.state_machine_arn = context.arn("states", f"stateMachine:{names.state_machine}")
        trust = policy_document(self, "trust", [Statement(
            actions=["sts:AssumeRole"], resources=(), principals={"Service": ["states.amazonaws.com"]},
            conditions=[("StringEquals", "aws:SourceAccount", [context.account_id]),
                        ("ArnLike", "aws:SourceArn", [self.state_machine_arn])],
        )])
        self.role = IamRole(self, "role", name=names.role("sfn-workflow"), assume_role_policy=trust.json)
        self.arn = self.role.arn


@dataclass(frozen=True)
class WorkflowInputs:
    cluster_arn: str
    cluster_name: str
    task_definition_arn: str
    container_name: str
    task_role_arn: str
    execution_role_arn: str
    subnet_ids: list[str]
    security_group_id: str
    completion_topic_arn: str
    error_topic_arn: str
    topics_kms_key_arn: str


@dataclass(frozen=True)
class WorkflowOutputs:
    state_machine_arn: str
    state_machine_name: str


class Workflow(Construct):
    def __init__(self, scope: Construct, id_: str, *, names: Names, context: AwsContext, role: WorkflowRole,
                 inputs: WorkflowInputs, log_retention_days: int) -> None:
        super().__init__(scope, id_)
        logs = log_group(self, "logs", name=f"/aws/stepfunctions/{names('video-processing')}", retention_days=log_retention_days)
        # What CDK's EcsRunTask(.sync) + SnsPublish grant, scoped to this environment's resources.
        document = policy_document(self, "policy-doc", [
            Statement(sid="RunTask", actions=["ecs:RunTask"], resources=[inputs.task_definition_arn],
                      conditions=[("ArnEquals", "ecs:cluster", [inputs.cluster_arn])]),
            Statement(sid="FollowTask", actions=["ecs:StopTask", "ecs:DescribeTasks"],
                      resources=[context.arn("ecs", f"task/{inputs.cluster_name}/*")]),
            Statement(sid="PassTaskRoles", actions=["iam:PassRole"], resources=[inputs.task_role_arn, inputs.execution_role_arn],
                      conditions=[("StringEquals", "iam:PassedToService", ["ecs-tasks.amazonaws.com"])]),
            # .sync waits on Step Functions' own managed rule; it is not a resource of this stack.
            Statement(sid="SyncRule", actions=["events:PutTargets", "events:PutRule", "events:DescribeRule"],
                      resources=[context.arn("events", "rule/StepFunctionsGetEventsForECSTaskRule")]),
            Statement(sid="Notify", actions=["sns:Publish"], resources=[inputs.completion_topic_arn, inputs.error_topic_arn]),
            Statement(sid="EncryptNotifications", actions=["kms:GenerateDataKey*", "kms:Decrypt"], resources=[inputs.topics_kms_key_arn]),
            # Log delivery and X-Ray APIs have no resource-level permissions.
            Statement(sid="LogDelivery", actions=[
                "logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery", "logs:DeleteLogDelivery",
                "logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:DescribeResourcePolicies", "logs:DescribeLogGroups"]),
            Statement(sid="Tracing", actions=[
                "xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules", "xray:GetSamplingTargets"]),
        ])
        policy = IamRolePolicy(self, "policy", name=f"{names.role('sfn-workflow')}-policy", role=role.role.id, policy=document.json)
        machine = SfnStateMachine(
            self, "state-machine", name=names.state_machine, role_arn=role.arn, type="STANDARD",
            definition=json.dumps(definition(inputs)),
            logging_configuration=SfnStateMachineLoggingConfiguration(
                level="ALL", include_execution_data=True, log_destination=log_streams_arn(logs)),
            tracing_configuration=SfnStateMachineTracingConfiguration(enabled=True),
            depends_on=[policy],  # the log-destination check runs at create time with the role's policy
        )
        self.outputs = WorkflowOutputs(state_machine_arn=machine.arn, state_machine_name=machine.name)


def definition(inputs: WorkflowInputs) -> dict:
    """The ASL document. Notices use only data that exists on every path (the seed read a missing `$.result`)."""
    return {
        "Comment": "Process one video on ECS Fargate and report the outcome through SNS",
        "StartAt": "ProcessVideo",
        "TimeoutSeconds": TIMEOUT_SECONDS,
        "States": {
            "ProcessVideo": {
                "Type": "Task",
                "Resource": "arn:aws:states:::ecs:runTask.sync",
                "Parameters": {
                    # No LaunchType: the cluster's default capacity provider strategy applies.
                    "Cluster": inputs.cluster_arn,
                    "TaskDefinition": inputs.task_definition_arn,
                    "NetworkConfiguration": {"AwsvpcConfiguration": {
                        "Subnets": inputs.subnet_ids,
                        "SecurityGroups": [inputs.security_group_id],
                        "AssignPublicIp": "DISABLED",
                    }},
                    "Overrides": {"ContainerOverrides": [{
                        "Name": inputs.container_name,
                        "Environment": [{"Name": "VIDEO_ID", "Value.$": "$.videoId"}],
                    }]},
                },
                "ResultPath": "$.taskResult",
                "Retry": [{"ErrorEquals": ["States.TaskFailed"], "IntervalSeconds": 30, "MaxAttempts": 3, "BackoffRate": 2}],
                "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "NotifyError"}],
                "Next": "NotifyCompletion",
            },
            "NotifyCompletion": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sns:publish",
                "Parameters": {
                    "TopicArn": inputs.completion_topic_arn,
                    "Subject": "Video processing completed",
                    "Message": {"status": "SUCCEEDED", "videoId.$": "$.videoId", "execution.$": "$$.Execution.Id"},
                },
                "ResultPath": None,
                "Next": "Succeeded",
            },
            "NotifyError": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sns:publish",
                "Parameters": {
                    "TopicArn": inputs.error_topic_arn,
                    "Subject": "Video processing failed",
                    # $$.Execution.Input and $.error exist on this path even if the input lacked videoId.
                    "Message": {"status": "FAILED", "input.$": "$$.Execution.Input", "execution.$": "$$.Execution.Id",
                                "error.$": "$.error.Error", "cause.$": "$.error.Cause"},
                },
                "ResultPath": None,
                "Next": "Failed",
            },
            "Succeeded": {"Type": "Succeed"},
            "Failed": {"Type": "Fail", "Error": "VideoProcessingFailed", "Cause": "The processing task failed; see the error notification"},
        },
    }
