"""Turn synthesized `aws_iam_policy_document` data blocks into IAM JSON and lint them with parliament.

Terraform references (`${aws_sns_topic.x.arn}`) are replaced by well-formed sample ARNs of the right
service, so parliament checks that each action matches the resource types it is granted on."""

from __future__ import annotations

from tests.helpers import REFERENCE, find_all, referenced

SAMPLE_ACCOUNT = "123456789012"
SAMPLE_REGION = "ap-northeast-1"

# Terraform resource type -> sample ARN of that resource (name = the logical id).
SAMPLE_ARNS = {
    "aws_sns_topic": "arn:aws:sns:{r}:{a}:{n}",
    "aws_kms_key": "arn:aws:kms:{r}:{a}:key/{n}",
    "aws_ecs_task_definition": "arn:aws:ecs:{r}:{a}:task-definition/{n}:1",
    "aws_ecs_cluster": "arn:aws:ecs:{r}:{a}:cluster/{n}",
    "aws_iam_role": "arn:aws:iam::{a}:role/{n}",
    "aws_cloudwatch_log_group": "arn:aws:logs:{r}:{a}:log-group:{n}",
    "aws_efs_file_system": "arn:aws:elasticfilesystem:{r}:{a}:file-system/fs-{n}",
    "aws_efs_access_point": "arn:aws:elasticfilesystem:{r}:{a}:access-point/fsap-{n}",
    "aws_sqs_queue": "arn:aws:sqs:{r}:{a}:{n}",
    "aws_secretsmanager_secret": "arn:aws:secretsmanager:{r}:{a}:secret:{n}",
    "aws_db_instance": "arn:aws:secretsmanager:{r}:{a}:secret:rds!db-{n}",  # master_user_secret[0].secret_arn
    "aws_sfn_state_machine": "arn:aws:states:{r}:{a}:stateMachine:{n}",
    "aws_api_gateway_rest_api": "arn:aws:execute-api:{r}:{a}:{n}",
    "aws_lambda_function": "arn:aws:lambda:{r}:{a}:function:{n}",
    "aws_elasticache_replication_group": "arn:aws:elasticache:{r}:{a}:replicationgroup:{n}",
    "aws_elasticache_user": "arn:aws:elasticache:{r}:{a}:user:{n}",
}


def _sample(match) -> str:
    data, type_, name, attribute = match["data"], match["type"], match["name"], match["attribute"]
    if data and type_ == "aws_caller_identity":
        return SAMPLE_ACCOUNT
    if data and type_ == "aws_partition":
        return "aws"
    if type_ == "aws_db_instance" and attribute == "resource_id":
        return "db-ABCDEFGHIJKLMNOPQRSTUVWXY"
    if attribute == "name":
        return name.lower()
    if type_ not in SAMPLE_ARNS:
        raise KeyError(f"no sample ARN for {type_}.{attribute}; add one to SAMPLE_ARNS")
    return SAMPLE_ARNS[type_].format(r=SAMPLE_REGION, a=SAMPLE_ACCOUNT, n=name.lower())


def resolve(value):
    if isinstance(value, str):
        return REFERENCE.sub(_sample, value)
    if isinstance(value, list):
        return [resolve(v) for v in value]
    return value


def to_iam_json(document: dict) -> dict:
    statements = []
    for block in document["statement"]:
        statement = {"Effect": block.get("effect", "Allow"), "Action": resolve(block["actions"])}
        if "sid" in block:
            statement["Sid"] = block["sid"]
        if block.get("resources"):
            statement["Resource"] = resolve(block["resources"])
        for principal in block.get("principals", []):
            statement.setdefault("Principal", {})[principal["type"]] = resolve(principal["identifiers"])
        for condition in block.get("condition", []):
            statement.setdefault("Condition", {}).setdefault(condition["test"], {})[condition["variable"]] = resolve(
                condition["values"]
            )
        statements.append(statement)
    return {"Version": "2012-10-17", "Statement": statements}


def identity_policies(stack: dict) -> dict[str, dict]:
    """The policy documents attached to roles as inline policies (identity-based), by the inline policy's name."""
    return {
        policy["name"]: to_iam_json(referenced(stack, policy["policy"], "json"))
        for policy in find_all(stack, "aws_iam_role_policy")
    }


# parliament flags ARN values under StringEquals; AWS documents StringEquals for these String-typed keys.
ACCEPTED_FINDINGS = {"MISMATCHED_TYPE_BUT_USABLE"}
# parliament 1.6.4 checks this against one resource type only (express); AWS's Service Authorization
# Reference lists execution, which is what the policy grants. (states:ListExecutions was here while the API listed.)
ACCEPTED_RESOURCE_MISMATCH = {"states:DescribeExecution"}


def _accepted(finding) -> bool:
    if finding.issue in ACCEPTED_FINDINGS:
        return True
    return finding.issue == "RESOURCE_MISMATCH" and all(
        d["action"] in ACCEPTED_RESOURCE_MISMATCH for d in finding.detail
    )


def lint(policy: dict) -> list[str]:
    """parliament's findings, except the accepted ones above, as readable strings."""
    import json

    from parliament import analyze_policy_string

    findings = analyze_policy_string(json.dumps(policy)).findings
    return [f"{f.issue}: {f.detail} {f.location}" for f in findings if not _accepted(f)]
