"""Step Functions workflow: run the video-processor task synchronously, retry, and notify."""

from __future__ import annotations

import json
from typing import Any

from cdktf_cdktf_provider_aws.sfn_state_machine import (
    SfnStateMachine,
    SfnStateMachineEncryptionConfiguration,
    SfnStateMachineLoggingConfiguration,
    SfnStateMachineTracingConfiguration,
)
from constructs import Construct

from modules.compute import Compute
from modules.context import StackContext, log_streams_arn
from modules.iam import Placement, Role, Statement, source_conditions
from modules.notifications import Notifications

TIMEOUT_SECONDS = 1800
# What the error notice says when the execution input has no string videoId (the API never starts one like that).
INVALID_INPUT_ERROR = "InvalidInput"
INVALID_INPUT_CAUSE = "The execution input needs a string videoId"


class Workflow(Construct):
    def __init__(
        self, scope: Construct, id_: str, *, ctx: StackContext, compute: Compute, notifications: Notifications
    ) -> None:
        super().__init__(scope, id_)
        self._ctx = ctx
        names = ctx.names
        # Built from the name: the role's trust policy cannot reference the machine that needs the role.
        machine_arn = ctx.arn("states", f"stateMachine:{names.state_machine}")
        self._machine_arn = machine_arn
        # Under /aws/vendedlogs/: one wildcard entry in the account's 5,120-character CloudWatch Logs resource policy
        # covers every such group; any other name adds an entry per stack that destroy never removes.
        logs = ctx.log_group(self, "logs", name=f"/aws/vendedlogs/states/{names('video-processing')}")
        # First deployed as a construct of its own beside this one (`workflow-role/`); these are its addresses.
        first_release = Construct(scope, "workflow-role")
        self.role = Role(
            first_release,
            "role",
            name=names.role("sfn-workflow"),
            service="states.amazonaws.com",
            trust_conditions=source_conditions(ctx.account_id, machine_arn),
            placement=Placement(
                trust=(first_release, "trust"),
                policy_document=(self, "policy-doc"),
                policy=(self, "policy"),
                attachments=(self, "managed"),
            ),
        )
        # What CDK's EcsRunTask(.sync) + SnsPublish grant, scoped to this environment's resources.
        compute.grant_run(self.role)
        self.role.add(
            # .sync waits on Step Functions' own managed rule; it is not a resource of this stack.
            Statement(
                sid="SyncRule",
                actions=["events:PutTargets", "events:PutRule", "events:DescribeRule"],
                resources=[ctx.arn("events", "rule/StepFunctionsGetEventsForECSTaskRule")],
            )
        )
        notifications.grant_publish(self.role)
        self.role.add(
            # Log delivery and X-Ray APIs have no resource-level permissions.
            Statement(
                sid="LogDelivery",
                actions=[
                    "logs:CreateLogDelivery",
                    "logs:GetLogDelivery",
                    "logs:UpdateLogDelivery",
                    "logs:DeleteLogDelivery",
                    "logs:ListLogDeliveries",
                    "logs:PutResourcePolicy",
                    "logs:DescribeResourcePolicies",
                    "logs:DescribeLogGroups",
                ],
            ),
            Statement(
                sid="Tracing",
                actions=[
                    "xray:PutTraceSegments",
                    "xray:PutTelemetryRecords",
                    "xray:GetSamplingRules",
                    "xray:GetSamplingTargets",
                ],
            ),
        )
        encryption = None
        if ctx.key:
            # The machine's role reads and writes execution data, and encrypts what it logs with execution data.
            self._grant_data_key(self.role, ["kms:Decrypt", "kms:GenerateDataKey"])
            ctx.key.grant(
                self.role,
                "LogExecutionData",
                ["kms:GenerateDataKey"],
                ("StringLike", "kms:EncryptionContext:SourceArn", [ctx.arn("logs", "*")]),
            )
            ctx.key.allow_log_delivery()
            encryption = SfnStateMachineEncryptionConfiguration(
                type="CUSTOMER_MANAGED_KMS_KEY",
                kms_key_id=ctx.key.for_service("states"),
                kms_data_key_reuse_period_seconds=300,
            )
        machine = SfnStateMachine(
            self,
            "state-machine",
            name=names.state_machine,
            role_arn=self.role.arn,
            type="STANDARD",
            definition=json.dumps(definition(compute, notifications, ctx.partition)),
            logging_configuration=SfnStateMachineLoggingConfiguration(
                level="ALL", include_execution_data=True, log_destination=log_streams_arn(logs)
            ),
            tracing_configuration=SfnStateMachineTracingConfiguration(enabled=True),
            encryption_configuration=encryption,
            depends_on=[self.role.policy],  # the log-destination check runs at create time with the role's policy
        )
        self.state_machine_arn: str = machine.arn
        self.state_machine_name: str = machine.name

    def grant_start_and_read(self, role: Role) -> None:
        """Start executions of this state machine and describe any of them: what the API's handler calls (it finds
        an execution by its name, never by listing them)."""
        role.add(
            Statement(
                sid="StartExecutions",
                actions=["states:StartExecution"],
                resources=[self.state_machine_arn],
            ),
            Statement(
                sid="DescribeExecutions",
                actions=["states:DescribeExecution"],
                resources=[self._ctx.arn("states", f"execution:{self.state_machine_name}:*")],
            ),
        )
        # DescribeExecution decrypts the execution's input and output (StartExecution needs no key permission).
        self._grant_data_key(role, ["kms:Decrypt"])

    def _grant_data_key(self, role: Role, actions: list[str]) -> None:
        """Executions' data is encrypted under the environment's key, in this machine's encryption context."""
        if self._ctx.key:
            context = ("StringEquals", "kms:EncryptionContext:aws:states:stateMachineArn", [self._machine_arn])
            self._ctx.key.grant(role, "StateMachineData", actions, context)


def definition(compute: Compute, notifications: Notifications, partition: str) -> dict[str, Any]:
    """The ASL document. Notices use only data that exists on every path (the seed read a missing `$.result`).

    `partition` (a token in the stack) starts the service integrations' ARNs: `arn:aws-cn:states:::...` in China.
    Input without a string `videoId` is refused before ProcessVideo: its `$.videoId` would raise States.Runtime,
    which no Catch handles, and the execution would end without an error notice."""
    return {
        "Comment": "Process one video on ECS Fargate and report the outcome through SNS",
        "StartAt": "CheckInput",
        "TimeoutSeconds": TIMEOUT_SECONDS,
        "States": {
            "CheckInput": {
                "Type": "Choice",
                # In order: a comparison other than IsPresent on a missing path is itself a States.Runtime error.
                "Choices": [
                    {"Not": {"Variable": "$.videoId", "IsPresent": True}, "Next": "InvalidInput"},
                    {"Variable": "$.videoId", "IsString": True, "Next": "ProcessVideo"},
                ],
                "Default": "InvalidInput",
            },
            "InvalidInput": {
                "Type": "Pass",
                # The whole state becomes {"error": ...}, as a Catch would write it: NotifyError reads $.error only,
                # whatever the input was (even not an object).
                "Result": {"error": {"Error": INVALID_INPUT_ERROR, "Cause": INVALID_INPUT_CAUSE}},
                "Next": "NotifyError",
            },
            "ProcessVideo": {
                "Type": "Task",
                "Resource": f"arn:{partition}:states:::ecs:runTask.sync",
                "Parameters": {
                    # No LaunchType: the cluster's default capacity provider strategy applies.
                    "Cluster": compute.cluster_arn,
                    "TaskDefinition": compute.task_definition_arn,
                    "NetworkConfiguration": {
                        "AwsvpcConfiguration": {
                            "Subnets": compute.subnet_ids,
                            "SecurityGroups": [compute.connections.security_group_id],
                            "AssignPublicIp": "DISABLED",
                        }
                    },
                    "Overrides": {
                        "ContainerOverrides": [
                            {
                                "Name": compute.container_name,
                                "Environment": [{"Name": "VIDEO_ID", "Value.$": "$.videoId"}],
                            }
                        ]
                    },
                },
                "ResultPath": "$.taskResult",
                "Retry": [
                    {"ErrorEquals": ["States.TaskFailed"], "IntervalSeconds": 30, "MaxAttempts": 3, "BackoffRate": 2}
                ],
                "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "NotifyError"}],
                "Next": "NotifyCompletion",
            },
            "NotifyCompletion": {
                "Type": "Task",
                "Resource": f"arn:{partition}:states:::sns:publish",
                "Parameters": {
                    "TopicArn": notifications.completion_topic_arn,
                    "Subject": "Video processing completed",
                    "Message": {"status": "SUCCEEDED", "videoId.$": "$.videoId", "execution.$": "$$.Execution.Id"},
                },
                "ResultPath": None,
                "Next": "Succeeded",
            },
            "NotifyError": {
                "Type": "Task",
                "Resource": f"arn:{partition}:states:::sns:publish",
                "Parameters": {
                    "TopicArn": notifications.error_topic_arn,
                    "Subject": "Video processing failed",
                    # $$.Execution.Input and $.error exist on both paths here (Catch, InvalidInput), with or without
                    # a videoId.
                    "Message": {
                        "status": "FAILED",
                        "input.$": "$$.Execution.Input",
                        "execution.$": "$$.Execution.Id",
                        "error.$": "$.error.Error",
                        "cause.$": "$.error.Cause",
                    },
                },
                "ResultPath": None,
                "Next": "Failed",
            },
            "Succeeded": {"Type": "Succeed"},
            "Failed": {
                "Type": "Fail",
                "Error": "VideoProcessingFailed",
                "Cause": "The processing task failed; see the error notification",
            },
        },
    }
