# The account stack as Terraform evaluates it, planned against the mocked provider (aws.tfmock.hcl beside this file:
# no AWS account, nothing leaves the machine); the JSON itself is pinned by tests/test_account_stack.py and the
# snapshot. Plan only: the bucket and the key carry prevent_destroy, so a mocked apply could not be cleaned up.
#
#   cd cdktf.out/stacks/video-pipeline-account && terraform init -backend=false && terraform test

mock_provider "aws" {
  source          = "./"
  override_during = plan
}

run "state_bucket_and_logging_role" {
  command = plan

  assert {
    condition = alltrue([
      for rule in aws_s3_bucket_server_side_encryption_configuration.state_encryption_3FDA0990.rule :
      rule.bucket_key_enabled && one(rule.apply_server_side_encryption_by_default).sse_algorithm == "aws:kms"
      && one(rule.apply_server_side_encryption_by_default).kms_master_key_id == aws_kms_key.state_key_84A4E4B8.arn
    ])
    error_message = "The state bucket must encrypt by default with SSE-KMS under the state key, with a bucket key."
  }

  assert {
    condition     = aws_kms_alias.state_key-alias_A8408006.target_key_id == aws_kms_key.state_key_84A4E4B8.key_id
    error_message = "alias/video-pipeline-tfstate (every backend's kms_key_id) must name the key the bucket encrypts with."
  }

  assert {
    # Both denials cover the bucket and every object in it.
    condition = alltrue([
      for statement in data.aws_iam_policy_document.state_policy-doc_2B19496A.statement :
      statement.effect == "Deny" && statement.resources == toset([aws_s3_bucket.state_bucket_803B4E61.arn, "${aws_s3_bucket.state_bucket_803B4E61.arn}/*"])
    ])
    error_message = "The bucket policy's statements must deny, on the bucket and on its objects."
  }

  assert {
    condition     = aws_api_gateway_account.apigateway-logging_account_2F30A91F.cloudwatch_role_arn == aws_iam_role.apigateway-logging_role_479C089E.arn
    error_message = "The account's API Gateway logging must use the account stack's role."
  }

  assert {
    condition     = output.state_kms_key_arn == aws_kms_key.state_key_84A4E4B8.arn && output.apigateway_cloudwatch_role_arn == aws_iam_role.apigateway-logging_role_479C089E.arn
    error_message = "The outputs must name the state key and the logging role."
  }
}
