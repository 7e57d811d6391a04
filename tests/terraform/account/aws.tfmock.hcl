# Values the mocked hashicorp/aws provider returns in the account stack's `terraform test` (account.tftest.hcl loads
# it with `source = "./"`); see ../aws.tfmock.hcl for why ARNs that flow into other resources are given. Account
# 123456789012 (the shipped [account] placeholder), region ap-northeast-1.

mock_data "aws_iam_policy_document" {
  defaults = {
    json          = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"Mock\",\"Effect\":\"Allow\",\"Action\":\"sts:GetCallerIdentity\",\"Resource\":\"*\"}]}"
    minified_json = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"Mock\",\"Effect\":\"Allow\",\"Action\":\"sts:GetCallerIdentity\",\"Resource\":\"*\"}]}"
  }
}

mock_resource "aws_kms_key" {
  defaults = {
    arn    = "arn:aws:kms:ap-northeast-1:123456789012:key/0f1e2d3c-4b5a-6978-8899-aabbccddeeff"
    key_id = "0f1e2d3c-4b5a-6978-8899-aabbccddeeff"
  }
}

mock_resource "aws_s3_bucket" {
  defaults = {
    arn = "arn:aws:s3:::video-pipeline-tfstate-mock"
    id  = "video-pipeline-tfstate-mock"
  }
}

mock_resource "aws_iam_role" {
  defaults = { arn = "arn:aws:iam::123456789012:role/apigw-cloudwatch-mock" }
}
