# What the zone lookup does when the account's answer is not the usual one. `availability_zone = element(data.
# aws_availability_zones...names, n)` is only a string in cdk.tf.json; where a subnet lands exists once Terraform has
# read the zones. Plan level, mocked provider (aws.tfmock.hcl), no AWS account; the usual case is in stack.tftest.hcl.

mock_provider "aws" {
  source          = "./"
  override_during = plan # the mocked values are known at plan time: no apply, no teardown
}

# A real failure mode: the account sees fewer zones than az_count (the data source asks for state "available", so a
# zone AWS reports as impaired or constrained drops out of the list). element() wraps around instead of failing, so
# the plan goes through with both subnets of each tier in the one zone; AWS refuses only at apply (RDS:
# DBSubnetGroupDoesNotCoverEnoughAZs, EFS: MountTargetConflict), after the VPC and subnets exist. Nothing in the
# configuration catches it today. When data.aws_availability_zones gets the proposed postcondition
# (length(self.names) >= az_count), replace the asserts with:
#   expect_failures = [data.aws_availability_zones.network_zones_2241F3F0]
run "too_few_zones_go_unnoticed_until_apply" {
  command = plan

  override_data {
    target = data.aws_availability_zones.network_zones_2241F3F0
    values = {
      names    = ["ap-northeast-1a"]
      zone_ids = ["apne1-az4"]
    }
  }

  assert {
    condition     = aws_subnet.network_subnet-isolated-1_AFFAA491.availability_zone == aws_subnet.network_subnet-isolated-2_740C986E.availability_zone
    error_message = "Expected element() to wrap around (both data-tier subnets in ap-northeast-1a); if the plan now fails on purpose, switch this run to expect_failures."
  }

  assert {
    condition     = aws_subnet.network_subnet-private-1_5017AFE3.availability_zone == aws_subnet.network_subnet-private-2_FBDAA556.availability_zone
    error_message = "Expected element() to wrap around for the private tier as well."
  }
}

# Another: an account opted into a Local Zone (ap-northeast-1-tpe-1a, Taipei). The data source reads every zone of
# the account with state "available", Local Zones included, and the provider sorts them by name, so the Local Zone
# comes first and subnet 1 of every tier (NAT gateway 1, RDS, Redis, EFS) lands there. The data source has no
# opt-in-status / zone-type filter (see README, Tests).
run "a_local_zone_sorts_first" {
  command = plan

  override_data {
    target = data.aws_availability_zones.network_zones_2241F3F0
    values = {
      names       = ["ap-northeast-1-tpe-1a", "ap-northeast-1a", "ap-northeast-1c", "ap-northeast-1d"]
      zone_ids    = ["apne1-tpe1-az1", "apne1-az4", "apne1-az1", "apne1-az2"]
      group_names = ["ap-northeast-1", "ap-northeast-1-tpe-1"]
    }
  }

  assert {
    condition     = aws_subnet.network_subnet-isolated-1_AFFAA491.availability_zone == "ap-northeast-1-tpe-1a"
    error_message = "Expected the Local Zone to be picked for subnet 1; if the data source now filters it out (or a postcondition refuses it), update this run."
  }
}
