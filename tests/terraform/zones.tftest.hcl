# What the zone lookup does when the account's answer is not the usual one. `availability_zone = element(data.
# aws_availability_zones...names, n)` is only a string in cdk.tf.json; where a subnet lands exists once Terraform has
# read the zones. Plan level, mocked provider (aws.tfmock.hcl), no AWS account; the usual case is in stack.tftest.hcl.

mock_provider "aws" {
  source          = "./"
  override_during = plan # the mocked values are known at plan time: no apply, no teardown
}

# The account sees fewer zones than az_count (the data source asks for state "available", so a zone AWS reports as
# impaired or constrained drops out of the list). element() wraps around instead of failing, so without the
# postcondition the plan would go through with both subnets of each tier in the one zone, and AWS would refuse only at
# apply (RDS: DBSubnetGroupDoesNotCoverEnoughAZs, EFS: MountTargetConflict), after the VPC and subnets exist.
run "too_few_zones_stop_the_plan" {
  command = plan

  override_data {
    target = data.aws_availability_zones.network_zones_2241F3F0
    values = {
      names       = ["ap-northeast-1a"]
      zone_ids    = ["apne1-az4"]
      group_names = ["ap-northeast-1"]
    }
  }

  expect_failures = [data.aws_availability_zones.network_zones_2241F3F0]
}

# An account opted into a Local Zone (ap-northeast-1-tpe-1a, Taipei): the data source reads every available zone,
# Local Zones included, sorted by name, so the Local Zone would come first and take subnet 1 of every tier (NAT
# gateway 1, RDS, Redis, EFS). The postcondition refuses it.
run "a_local_zone_stops_the_plan" {
  command = plan

  override_data {
    target = data.aws_availability_zones.network_zones_2241F3F0
    values = {
      names       = ["ap-northeast-1-tpe-1a", "ap-northeast-1a", "ap-northeast-1c", "ap-northeast-1d"]
      zone_ids    = ["apne1-tpe1-az1", "apne1-az4", "apne1-az1", "apne1-az2"]
      group_names = ["ap-northeast-1", "ap-northeast-1-tpe-1"]
    }
  }

  expect_failures = [data.aws_availability_zones.network_zones_2241F3F0]
}

# RDS without a managed master secret (the list is empty until RDS manages the password): the container's secrets,
# the execution role's policy and the db_secret_arn output all index master_user_secret[0]. One clear message
# instead of four "Invalid index" errors.
run "a_database_without_its_managed_secret_stops_the_plan" {
  command = plan

  override_resource {
    target          = aws_db_instance.database_instance_D7FC2283
    override_during = plan
    values = {
      master_user_secret = []
    }
  }

  expect_failures = [aws_db_instance.database_instance_D7FC2283]
}
