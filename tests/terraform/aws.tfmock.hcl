# Values the mocked hashicorp/aws provider returns in `terraform test` (the *.tftest.hcl files beside this one load
# it with `source = "./"` and `override_during = plan`, so these values are known at plan time).
#
# A mock provider invents random strings for computed attributes, known only after apply; the real provider still
# validates every configured value, so an ARN that flows into another resource must look like one. Defaults are per
# type; resources that a test tells apart from their siblings get an override_resource (a target absent from a
# stack, e.g. the monitoring role or NAT gateway 2 in dev, is ignored). Account 123456789012, partition aws,
# region ap-northeast-1 (every environment's today).

mock_data "aws_availability_zones" {
  defaults = {
    id          = "ap-northeast-1"
    names       = ["ap-northeast-1a", "ap-northeast-1c", "ap-northeast-1d"]
    zone_ids    = ["apne1-az4", "apne1-az1", "apne1-az2"]
    group_names = ["ap-northeast-1"]
  }
}

mock_data "aws_caller_identity" {
  defaults = {
    id         = "123456789012"
    account_id = "123456789012"
    arn        = "arn:aws:sts::123456789012:assumed-role/video-pipeline-deploy/terraform"
    user_id    = "AROAEXAMPLEID:terraform"
  }
}

mock_data "aws_partition" {
  defaults = {
    id                 = "aws"
    partition          = "aws"
    dns_suffix         = "amazonaws.com"
    reverse_dns_prefix = "com.amazonaws"
  }
}

# The mock cannot render a policy document; roles and policies need valid JSON all the same. Tests read the
# evaluated `statement` blocks instead.
mock_data "aws_iam_policy_document" {
  defaults = {
    json          = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"Mock\",\"Effect\":\"Allow\",\"Action\":\"sts:GetCallerIdentity\",\"Resource\":\"*\"}]}"
    minified_json = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"Mock\",\"Effect\":\"Allow\",\"Action\":\"sts:GetCallerIdentity\",\"Resource\":\"*\"}]}"
  }
}

mock_resource "aws_db_instance" {
  defaults = {
    arn         = "arn:aws:rds:ap-northeast-1:123456789012:db:rds-postgresql-mock"
    address     = "rds-postgresql-mock.c0abcdefghij.ap-northeast-1.rds.amazonaws.com"
    endpoint    = "rds-postgresql-mock.c0abcdefghij.ap-northeast-1.rds.amazonaws.com:5432"
    resource_id = "db-ABCDEFGHIJKLMNOPQRSTUVWXY2"
    # What RDS reports once it manages the master password (manage_master_user_password = true).
    master_user_secret = [{
      secret_arn    = "arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:rds!db-0f1e2d3c-4b5a-6978-8899-aabbccddeeff-AbC123"
      kms_key_id    = "arn:aws:kms:ap-northeast-1:123456789012:alias/aws/secretsmanager"
      secret_status = "active"
    }]
  }
}

mock_resource "aws_elasticache_replication_group" {
  defaults = {
    arn                      = "arn:aws:elasticache:ap-northeast-1:123456789012:replicationgroup:redis-mock"
    primary_endpoint_address = "master.redis-mock.abcdef.apne1.cache.amazonaws.com"
    reader_endpoint_address  = "replica.redis-mock.abcdef.apne1.cache.amazonaws.com"
  }
}

mock_resource "aws_elasticache_user" {
  defaults = { arn = "arn:aws:elasticache:ap-northeast-1:123456789012:user:redis-app-mock" }
}

mock_resource "aws_elasticache_user_group" {
  defaults = { id = "redis-mock" } # the provider's id is the user group id
}

mock_resource "aws_iam_role" {
  defaults = { arn = "arn:aws:iam::123456789012:role/mock-role" }
}

mock_resource "aws_cloudwatch_log_group" {
  defaults = { arn = "arn:aws:logs:ap-northeast-1:123456789012:log-group:/mock" }
}

mock_resource "aws_kms_key" {
  defaults = {
    arn    = "arn:aws:kms:ap-northeast-1:123456789012:key/0f1e2d3c-4b5a-6978-8899-aabbccddeeff"
    key_id = "0f1e2d3c-4b5a-6978-8899-aabbccddeeff"
  }
}

mock_resource "aws_sns_topic" {
  defaults = { arn = "arn:aws:sns:ap-northeast-1:123456789012:mock-topic" }
}

mock_resource "aws_subnet" {
  defaults = { id = "subnet-0000000000000000f" }
}

mock_resource "aws_security_group" {
  defaults = { id = "sg-0000000000000000f" }
}

mock_resource "aws_nat_gateway" {
  defaults = { id = "nat-0000000000000000f" }
}

mock_resource "aws_secretsmanager_secret" {
  defaults = {
    id  = "arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:api-secret-mock-AbC123"
    arn = "arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:api-secret-mock-AbC123"
  }
}

mock_resource "aws_sfn_state_machine" {
  defaults = { arn = "arn:aws:states:ap-northeast-1:123456789012:stateMachine:video-processing-workflow-mock" }
}

mock_resource "aws_ecs_cluster" {
  defaults = { arn = "arn:aws:ecs:ap-northeast-1:123456789012:cluster/video-processing-mock" }
}

mock_resource "aws_ecs_task_definition" {
  defaults = {
    arn                  = "arn:aws:ecs:ap-northeast-1:123456789012:task-definition/video-processor-mock:1"
    arn_without_revision = "arn:aws:ecs:ap-northeast-1:123456789012:task-definition/video-processor-mock"
    revision             = 1
  }
}

mock_resource "aws_efs_file_system" {
  defaults = {
    id  = "fs-0123456789abcdef0"
    arn = "arn:aws:elasticfilesystem:ap-northeast-1:123456789012:file-system/fs-0123456789abcdef0"
  }
}

mock_resource "aws_efs_access_point" {
  defaults = {
    id  = "fsap-0123456789abcdef0"
    arn = "arn:aws:elasticfilesystem:ap-northeast-1:123456789012:access-point/fsap-0123456789abcdef0"
  }
}

mock_resource "aws_lambda_function" {
  defaults = {
    arn           = "arn:aws:lambda:ap-northeast-1:123456789012:function:video-api-mock"
    qualified_arn = "arn:aws:lambda:ap-northeast-1:123456789012:function:video-api-mock:$LATEST"
    invoke_arn    = "arn:aws:apigateway:ap-northeast-1:lambda:path/2015-03-31/functions/arn:aws:lambda:ap-northeast-1:123456789012:function:video-api-mock/invocations"
  }
}

mock_resource "aws_api_gateway_rest_api" {
  defaults = {
    id            = "a1b2c3d4e5"
    execution_arn = "arn:aws:execute-api:ap-northeast-1:123456789012:a1b2c3d4e5"
  }
}

mock_resource "aws_api_gateway_stage" {
  defaults = {
    arn           = "arn:aws:apigateway:ap-northeast-1::/restapis/a1b2c3d4e5/stages/prod"
    invoke_url    = "https://a1b2c3d4e5.execute-api.ap-northeast-1.amazonaws.com/prod"
    execution_arn = "arn:aws:execute-api:ap-northeast-1:123456789012:a1b2c3d4e5/prod"
  }
}

mock_resource "aws_wafv2_web_acl" {
  defaults = { arn = "arn:aws:wafv2:ap-northeast-1:123456789012:regional/webacl/video-metadata-acl-mock/0f1e2d3c-4b5a-6978-8899-aabbccddeeff" }
}

# Distinct ARNs where a test tells siblings apart.
override_resource {
  target = aws_sns_topic.notifications_completion_8E84A537
  values = { arn = "arn:aws:sns:ap-northeast-1:123456789012:video-processing-completion-mock" }
}

override_resource {
  target = aws_sns_topic.notifications_error_D76AB151
  values = { arn = "arn:aws:sns:ap-northeast-1:123456789012:video-processing-error-mock" }
}

override_resource {
  target = aws_iam_role.compute_execution-role_F24B9D14
  values = { arn = "arn:aws:iam::123456789012:role/ecs-task-execution-mock" }
}

override_resource {
  target = aws_iam_role.compute_task-role_A24B9A88
  values = { arn = "arn:aws:iam::123456789012:role/ecs-task-mock" }
}

override_resource {
  target = aws_iam_role.workflow-role_F25369AE
  values = { arn = "arn:aws:iam::123456789012:role/sfn-workflow-mock" }
}

override_resource {
  target = aws_kms_key.secrets_kms_EDFA5EE4
  values = {
    arn    = "arn:aws:kms:ap-northeast-1:123456789012:key/11111111-2222-3333-4444-555555555555"
    key_id = "11111111-2222-3333-4444-555555555555"
  }
}

override_resource {
  target = aws_subnet.network_subnet-public-1_C3FFD777
  values = { id = "subnet-0a000000000000001" }
}

override_resource {
  target = aws_subnet.network_subnet-public-2_03FE0ADF
  values = { id = "subnet-0a000000000000002" }
}

override_resource {
  target = aws_subnet.network_subnet-private-1_5017AFE3
  values = { id = "subnet-0b000000000000001" }
}

override_resource {
  target = aws_subnet.network_subnet-private-2_FBDAA556
  values = { id = "subnet-0b000000000000002" }
}

override_resource {
  target = aws_subnet.network_subnet-isolated-1_AFFAA491
  values = { id = "subnet-0c000000000000001" }
}

override_resource {
  target = aws_subnet.network_subnet-isolated-2_740C986E
  values = { id = "subnet-0c000000000000002" }
}

override_resource {
  target = aws_nat_gateway.network_nat-1_A72B97BB
  values = { id = "nat-0d000000000000001" }
}

override_resource {
  target = aws_nat_gateway.network_nat-2_1CA02788
  values = { id = "nat-0d000000000000002" }
}

override_resource {
  target = aws_security_group.network_sg-ecs_7971BAFA
  values = { id = "sg-0e000000000000001" }
}

override_resource {
  target = aws_security_group.network_sg-efs_A1B49FE0
  values = { id = "sg-0e000000000000002" }
}

override_resource {
  target = aws_security_group.network_sg-rds_09294E6A
  values = { id = "sg-0e000000000000003" }
}

override_resource {
  target = aws_security_group.network_sg-redis_42007AC4
  values = { id = "sg-0e000000000000004" }
}
