# The stack as Terraform evaluates it. cdk.tf.json holds expressions, not values: "${element(data.aws_availability_
# zones...names, 1)}", "${aws_db_instance...master_user_secret[0].secret_arn}:username::" inside a JSON string, ARNs
# built from data.aws_partition and data.aws_caller_identity. The JSON snapshots compare those strings; they cannot
# tell whether they evaluate, parse, or point at the right thing. Here the mocked provider (aws.tfmock.hcl: no AWS
# account, nothing leaves the machine) makes IDs, ARNs and endpoints known at plan time, so the rendered container
# definitions and state machine definition are decoded and followed to the resources and outputs they name.
#
# Plan only, on purpose: with Terraform 1.11 a mocked apply cannot be cleaned up in prod (prevent_destroy on the data
# stores fails the test's destroy; terraform 1.14 lifts that), and an apply after `override_during = plan` fails with
# "Provider produced inconsistent final plan" (the random mock values are drawn again).
#
# The same file runs in every stack folder (main.py copies it there): relations hold in every environment, and what
# differs (NAT gateways, Multi-AZ, the secrets KMS key of prod) is read from the configuration itself. Every
# environment has at least two zones (config/settings.py refuses az_count < 2), so subnet 1 and 2 of each tier,
# NAT gateway 1 and EFS mount target 1 and 2 exist in every stack; further ones are covered through the outputs.
#
#   cd cdktf.out/stacks/video-pipeline-dev && terraform init -backend=false && terraform test

mock_provider "aws" {
  source          = "./"
  override_during = plan # the mocked values are known at plan time: no apply, no teardown
}

run "wiring" {
  command = plan

  # --- subnets take the zones in order ---
  assert {
    condition = alltrue([
      for tier in [
        [aws_subnet.network_subnet-public-1_C3FFD777, aws_subnet.network_subnet-public-2_03FE0ADF],
        [aws_subnet.network_subnet-private-1_5017AFE3, aws_subnet.network_subnet-private-2_FBDAA556],
        [aws_subnet.network_subnet-isolated-1_AFFAA491, aws_subnet.network_subnet-isolated-2_740C986E],
      ] : tolist([for subnet in tier : subnet.availability_zone]) == slice(data.aws_availability_zones.network_zones_2241F3F0.names, 0, 2)
    ])
    error_message = "Subnet n of every tier must sit in the n-th zone the region reports (ap-northeast-1a, ap-northeast-1c)."
  }

  assert {
    # One subnet per zone and tier, at least two zones, no more subnets than zones: the outputs list every subnet.
    condition = (length(output.private_subnet_ids) == length(output.isolated_subnet_ids)
      && length(output.private_subnet_ids) >= 2
    && length(output.private_subnet_ids) <= length(data.aws_availability_zones.network_zones_2241F3F0.names))
    error_message = "Each tier needs one subnet per zone in at least two zones, and no more subnets than the region has zones."
  }

  # --- database secret reaches the container ---
  # The RDS-managed master secret is only known after apply, as master_user_secret[0] (a computed list that is empty
  # until RDS manages the password): the output, the ECS secrets and the execution role's policy all index it.
  assert {
    condition     = output.db_secret_arn == aws_db_instance.database_instance_D7FC2283.master_user_secret[0].secret_arn
    error_message = "The db_secret_arn output must be the RDS-managed master secret."
  }

  assert {
    condition     = can(regex("^arn:aws:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:rds!", output.db_secret_arn))
    error_message = "db_secret_arn is not a Secrets Manager ARN: ${output.db_secret_arn}"
  }

  assert {
    condition = {
      for secret in jsondecode(aws_ecs_task_definition.compute_task_EC0E96B6.container_definitions)[0].secrets :
      secret.name => secret.valueFrom
      } == {
      DB_USERNAME = "${output.db_secret_arn}:username::"
      DB_PASSWORD = "${output.db_secret_arn}:password::"
    }
    error_message = "The container must take DB_USERNAME/DB_PASSWORD from the JSON keys of the RDS master secret."
  }

  assert {
    condition = [
      for statement in data.aws_iam_policy_document.compute_execution-role-policy-doc_1B61B04D.statement :
      statement.resources if statement.sid == "ReadDbSecret"
    ] == [toset([output.db_secret_arn])]
    error_message = "The execution role must read exactly the secret the container's secrets point at."
  }

  assert {
    # Per environment: with a secrets KMS key (prod), the RDS secret is encrypted with it and the execution role may
    # decrypt with it through Secrets Manager; without one (dev, staging, pr123), no such grant.
    condition = (aws_secretsmanager_secret.secrets_api-secret_DA88898D.kms_key_id == null
      ? length([for s in data.aws_iam_policy_document.compute_execution-role-policy-doc_1B61B04D.statement : s if s.sid == "DecryptDbSecret"]) == 0
      : ([for s in data.aws_iam_policy_document.compute_execution-role-policy-doc_1B61B04D.statement : s.resources if s.sid == "DecryptDbSecret"] == [toset([aws_secretsmanager_secret.secrets_api-secret_DA88898D.kms_key_id])]
    && aws_db_instance.database_instance_D7FC2283.master_user_secret_kms_key_id == aws_secretsmanager_secret.secrets_api-secret_DA88898D.kms_key_id))
    error_message = "The execution role's kms:Decrypt grant and the RDS secret's key must follow the stack's secrets KMS key."
  }

  # --- container definitions render ---
  # The container definitions are a JSON string with interpolations: only the evaluated string shows that it parses
  # and that each value landed where the processor reads it.
  assert {
    condition     = length(jsondecode(aws_ecs_task_definition.compute_task_EC0E96B6.container_definitions)) == 1
    error_message = "Expected one container definition."
  }

  assert {
    condition = {
      for variable in jsondecode(aws_ecs_task_definition.compute_task_EC0E96B6.container_definitions)[0].environment :
      variable.name => variable.value
      } == {
      ENVIRONMENT                = trimprefix(aws_ecs_cluster.compute_cluster_E15A6318.name, "video-processing-")
      REGION                     = jsondecode(aws_ecs_task_definition.compute_task_EC0E96B6.container_definitions)[0].logConfiguration.options["awslogs-region"]
      REDIS_ENDPOINT             = output.redis_primary_endpoint
      REDIS_PORT                 = tostring(aws_elasticache_replication_group.cache_redis_F9D2CAF5.port)
      REDIS_TLS                  = "true"
      REDIS_URL                  = "rediss://${output.redis_primary_endpoint}:${aws_elasticache_replication_group.cache_redis_F9D2CAF5.port}"
      REDIS_USER                 = aws_elasticache_user.cache_app-user_A79268DA.user_name
      REDIS_AUTH                 = "iam"
      REDIS_REPLICATION_GROUP_ID = aws_elasticache_replication_group.cache_redis_F9D2CAF5.replication_group_id
      DB_HOST                    = output.rds_endpoint
      DB_PORT                    = tostring(aws_db_instance.database_instance_D7FC2283.port)
      DB_NAME                    = aws_db_instance.database_instance_D7FC2283.db_name
      PGSSLMODE                  = "require"
    }
    error_message = "Container environment must carry the environment, region, Redis endpoint, port, TLS URL and IAM user and group, and the database address, port, name and TLS mode (and nothing else)."
  }

  # --- Redis admits the IAM user the container signs in as, and the task role may connect as that user ---
  assert {
    condition = (one(aws_elasticache_replication_group.cache_redis_F9D2CAF5.user_group_ids) == aws_elasticache_user_group.cache_user-group_99C09024.id
      && toset(aws_elasticache_user_group.cache_user-group_99C09024.user_ids) == toset([aws_elasticache_user.cache_app-user_A79268DA.user_id, aws_elasticache_user.cache_default-user_25F2A90A.user_id])
    && aws_elasticache_user.cache_app-user_A79268DA.authentication_mode[0].type == "iam")
    error_message = "Redis must admit its user group only: the IAM-authenticated app user and the disabled default."
  }

  assert {
    condition = [
      for statement in data.aws_iam_policy_document.compute_task-role-policy-doc_EA05DEB9.statement :
      statement.resources if statement.sid == "ConnectToRedis"
    ] == [toset([aws_elasticache_replication_group.cache_redis_F9D2CAF5.arn, aws_elasticache_user.cache_app-user_A79268DA.arn])]
    error_message = "The task role must connect to exactly the stack's replication group as its app user."
  }

  # --- the container is locked down, as the EFS access point's POSIX user ---
  assert {
    condition = (jsondecode(aws_ecs_task_definition.compute_task_EC0E96B6.container_definitions)[0].user == "${aws_efs_access_point.storage_access-point_6DF311E5.posix_user[0].uid}:${aws_efs_access_point.storage_access-point_6DF311E5.posix_user[0].gid}"
      && jsondecode(aws_ecs_task_definition.compute_task_EC0E96B6.container_definitions)[0].readonlyRootFilesystem
    && jsondecode(aws_ecs_task_definition.compute_task_EC0E96B6.container_definitions)[0].linuxParameters.capabilities.drop == ["ALL"])
    error_message = "The container must run as the access point's user, on a read-only root file system, with every capability dropped."
  }

  assert {
    # The job's shell command reaches the container as written: Terraform must not read its ${VAR:-} as its own.
    condition     = strcontains(jsondecode(aws_ecs_task_definition.compute_task_EC0E96B6.container_definitions)[0].command[0], "case \"$${VIDEO_ID:-}\" in")
    error_message = "The container command must keep the shell's $${VIDEO_ID:-} literally."
  }

  assert {
    condition     = output.redis_port == aws_elasticache_replication_group.cache_redis_F9D2CAF5.port && output.rds_endpoint == aws_db_instance.database_instance_D7FC2283.address
    error_message = "The endpoint outputs must be the cache's and the database's."
  }

  assert {
    condition     = jsondecode(aws_ecs_task_definition.compute_task_EC0E96B6.container_definitions)[0].logConfiguration.options["awslogs-group"] == aws_cloudwatch_log_group.compute_logs_4E494666.name
    error_message = "The container must log to the stack's ECS log group."
  }

  assert {
    condition = alltrue([
      for mount in jsondecode(aws_ecs_task_definition.compute_task_EC0E96B6.container_definitions)[0].mountPoints :
      contains([for volume in aws_ecs_task_definition.compute_task_EC0E96B6.volume : volume.name], mount.sourceVolume)
    ])
    error_message = "Every mount point must name a volume of the task definition."
  }

  assert {
    condition = alltrue([
      for volume in aws_ecs_task_definition.compute_task_EC0E96B6.volume : alltrue([
        for efs in volume.efs_volume_configuration :
        efs.file_system_id == output.efs_file_system_id && efs.authorization_config[0].access_point_id == output.efs_access_point_id
      ])
    ])
    error_message = "The EFS volume must mount the stack's file system through its access point."
  }

  # --- state machine runs this task ---
  # The Step Functions definition is another rendered JSON string; the workflow role's policy must allow exactly what
  # it runs, and the container override must name the task definition's container (else RunTask fails at run time).
  assert {
    condition = (jsondecode(aws_sfn_state_machine.workflow_state-machine_5D8A73B7.definition).States.ProcessVideo.Parameters.TaskDefinition == output.task_definition_arn
    && jsondecode(aws_sfn_state_machine.workflow_state-machine_5D8A73B7.definition).States.ProcessVideo.Parameters.Cluster == aws_ecs_cluster.compute_cluster_E15A6318.arn)
    error_message = "The state machine must run the stack's task definition on the stack's cluster."
  }

  assert {
    condition     = jsondecode(aws_sfn_state_machine.workflow_state-machine_5D8A73B7.definition).States.ProcessVideo.Parameters.NetworkConfiguration.AwsvpcConfiguration.Subnets == output.private_subnet_ids
    error_message = "Tasks must run in the private subnets (every one of them, in order)."
  }

  assert {
    condition = (jsondecode(aws_sfn_state_machine.workflow_state-machine_5D8A73B7.definition).States.ProcessVideo.Parameters.NetworkConfiguration.AwsvpcConfiguration.SecurityGroups == [aws_security_group.network_sg-ecs_7971BAFA.id]
    && jsondecode(aws_sfn_state_machine.workflow_state-machine_5D8A73B7.definition).States.ProcessVideo.Parameters.NetworkConfiguration.AwsvpcConfiguration.AssignPublicIp == "DISABLED")
    error_message = "Tasks must run with the ECS security group and no public IP."
  }

  assert {
    condition = [
      for override in jsondecode(aws_sfn_state_machine.workflow_state-machine_5D8A73B7.definition).States.ProcessVideo.Parameters.Overrides.ContainerOverrides :
      override.Name
    ] == [jsondecode(aws_ecs_task_definition.compute_task_EC0E96B6.container_definitions)[0].name]
    error_message = "The container override must name the task definition's container."
  }

  assert {
    condition = (jsondecode(aws_sfn_state_machine.workflow_state-machine_5D8A73B7.definition).States.NotifyCompletion.Parameters.TopicArn == output.completion_topic_arn
      && jsondecode(aws_sfn_state_machine.workflow_state-machine_5D8A73B7.definition).States.NotifyError.Parameters.TopicArn == output.error_topic_arn
    && output.completion_topic_arn != output.error_topic_arn)
    error_message = "Success and failure must be published to their own topics."
  }

  assert {
    condition = alltrue([
      for name, state in jsondecode(aws_sfn_state_machine.workflow_state-machine_5D8A73B7.definition).States :
      alltrue([for next in concat(try([state.Next], []), [for c in try(state.Catch, []) : c.Next]) :
      contains(keys(jsondecode(aws_sfn_state_machine.workflow_state-machine_5D8A73B7.definition).States), next)])
    ]) && contains(keys(jsondecode(aws_sfn_state_machine.workflow_state-machine_5D8A73B7.definition).States), jsondecode(aws_sfn_state_machine.workflow_state-machine_5D8A73B7.definition).StartAt)
    error_message = "StartAt and every Next must name a state of the definition."
  }

  assert {
    condition = {
      for statement in data.aws_iam_policy_document.workflow_policy-doc_E6079634.statement :
      statement.sid => statement.resources if contains(["RunTask", "PassTaskRoles", "Notify"], statement.sid)
      } == {
      RunTask       = toset(["${aws_ecs_task_definition.compute_task_EC0E96B6.arn_without_revision}:*"]) # every revision
      PassTaskRoles = toset([aws_ecs_task_definition.compute_task_EC0E96B6.task_role_arn, aws_ecs_task_definition.compute_task_EC0E96B6.execution_role_arn])
      Notify        = toset([output.completion_topic_arn, output.error_topic_arn])
    }
    error_message = "The workflow role must run every revision of this task definition's family (a retry after a deploy runs the revision it started with), pass exactly its two roles and publish to both topics."
  }

  assert {
    condition = alltrue([
      for document in [
        data.aws_iam_policy_document.notifications_completion-policy-doc_DABC2239,
        data.aws_iam_policy_document.notifications_error-policy-doc_801B066A,
      ] : one([for s in document.statement : one(s.principals).identifiers if s.sid == "WorkflowPublishes"]) == toset([aws_sfn_state_machine.workflow_state-machine_5D8A73B7.role_arn])
    ])
    error_message = "The topic policies must let the state machine's role publish."
  }

  assert {
    # The trust policy spells the state machine's ARN out (a reference would be a cycle): it must evaluate to this
    # machine's ARN in this account and partition.
    condition = one([
      for condition in one(data.aws_iam_policy_document.workflow-role_trust_FC0D531E.statement).condition :
      one(condition.values) if condition.variable == "aws:SourceArn"
      ]) == format("arn:%s:states:%s:%s:stateMachine:%s", data.aws_partition.partition.partition,
      jsondecode(aws_ecs_task_definition.compute_task_EC0E96B6.container_definitions)[0].logConfiguration.options["awslogs-region"],
    data.aws_caller_identity.account.account_id, aws_sfn_state_machine.workflow_state-machine_5D8A73B7.name)
    error_message = "The workflow role's trust must name this state machine (arn:aws:states:<region>:123456789012:stateMachine:<name>)."
  }

  # --- api reaches the workflow ---
  assert {
    condition     = aws_lambda_function.api_function_AF620FF3.environment[0].variables.STATE_MACHINE_ARN == output.state_machine_arn
    error_message = "The API function must start the stack's state machine."
  }

  assert {
    condition = {
      for statement in data.aws_iam_policy_document.api_function-role-policy-doc_2A3602F0.statement :
      statement.sid => statement.resources if contains(["StartExecutions", "DescribeExecutions"], statement.sid)
      } == {
      StartExecutions    = toset([output.state_machine_arn])
      DescribeExecutions = toset([format("arn:%s:states:%s:%s:execution:%s:*", data.aws_partition.partition.partition, split(":", output.state_machine_arn)[3], data.aws_caller_identity.account.account_id, output.state_machine_name)])
    }
    error_message = "The API role must start and describe executions of exactly this state machine."
  }

  assert {
    condition     = aws_lambda_permission.api_invoke-permission_194DC006.source_arn == "${aws_api_gateway_rest_api.api_rest-api_FFFBAE81.execution_arn}/${aws_api_gateway_stage.api_stage_9CA2AE48.stage_name}/*/*"
    error_message = "API Gateway may invoke the function from the deployed stage only, and from all of it."
  }

  assert {
    # API Gateway names this log group itself; the stack only owns it (retention) if the name matches.
    condition     = aws_cloudwatch_log_group.api_execution-logs_87D8804E.name == "API-Gateway-Execution-Logs_${aws_api_gateway_rest_api.api_rest-api_FFFBAE81.id}/${aws_api_gateway_stage.api_stage_9CA2AE48.stage_name}"
    error_message = "The execution log group must be the one API Gateway writes to for this stage."
  }

  assert {
    condition = alltrue([
      for integration in [
        aws_api_gateway_integration.api_integration-get-metadata_B85401CC,
        aws_api_gateway_integration.api_integration-get-videos-videoId_3E20F989,
        aws_api_gateway_integration.api_integration-post-videos_33B4ABAC,
      ] : integration.uri == aws_lambda_function.api_function_AF620FF3.invoke_arn
    ])
    error_message = "Every route must proxy to the function."
  }

  assert {
    condition     = output.api_url == aws_api_gateway_stage.api_stage_9CA2AE48.invoke_url && aws_secretsmanager_secret_version.api_api-secret-value_FF1FD349.secret_id == aws_secretsmanager_secret.secrets_api-secret_DA88898D.id
    error_message = "api_url must be the stage URL, and the API key value must be stored in the stack's API secret."
  }

  # --- data tier spans zones ---
  # With IDs known, follow each subnet group and mount target to its subnets' zones: RDS refuses a subnet group in
  # one zone, Multi-AZ Redis needs two, and EFS allows one mount target per zone.
  assert {
    condition = (aws_db_subnet_group.database_subnets_53A37123.subnet_ids == toset(output.isolated_subnet_ids)
    && aws_elasticache_subnet_group.cache_subnets_C4370C03.subnet_ids == toset(output.isolated_subnet_ids))
    error_message = "RDS and Redis must use every isolated subnet, and only those."
  }

  assert {
    condition = length(distinct([
      for subnet in [aws_subnet.network_subnet-isolated-1_AFFAA491, aws_subnet.network_subnet-isolated-2_740C986E] :
      subnet.availability_zone if contains(aws_db_subnet_group.database_subnets_53A37123.subnet_ids, subnet.id)
    ])) >= 2
    error_message = "The database subnet group must cover at least two zones."
  }

  assert {
    condition = ([aws_efs_mount_target.storage_mount-1_D537E02E.subnet_id, aws_efs_mount_target.storage_mount-2_8E9553BB.subnet_id] == slice(output.private_subnet_ids, 0, 2)
    && aws_subnet.network_subnet-private-1_5017AFE3.availability_zone != aws_subnet.network_subnet-private-2_FBDAA556.availability_zone)
    error_message = "EFS mount targets must sit in the private subnets, one per zone."
  }

  assert {
    # Zone 1's private route leaves through NAT 1, which sits in zone 1's public subnet (with fewer NATs than zones,
    # the other zones share them round-robin).
    condition = (aws_route.network_route-private-1_E9BED90E.nat_gateway_id == aws_nat_gateway.network_nat-1_A72B97BB.id
      && aws_nat_gateway.network_nat-1_A72B97BB.subnet_id == aws_subnet.network_subnet-public-1_C3FFD777.id
    && aws_subnet.network_subnet-public-1_C3FFD777.availability_zone == aws_subnet.network_subnet-private-1_5017AFE3.availability_zone)
    error_message = "Private subnet 1 must reach the internet through the NAT gateway in its own zone."
  }

  assert {
    # Per environment: Multi-AZ Redis (automatic failover) needs a replica to fail over to.
    condition     = !aws_elasticache_replication_group.cache_redis_F9D2CAF5.multi_az_enabled || aws_elasticache_replication_group.cache_redis_F9D2CAF5.num_cache_clusters >= 2
    error_message = "Multi-AZ Redis needs at least two cache clusters."
  }
}

run "arns_follow_the_partition" {
  # config/regions.py accepts the China and GovCloud regions: every ARN the stack builds itself must take the
  # partition from data.aws_partition. (The state machine definition's Task resources are not listed: they spell
  # arn:aws:states:::..., a known gap; see README, Tests.)
  command = plan

  override_data {
    target = data.aws_partition.partition
    values = { id = "aws-cn", partition = "aws-cn", dns_suffix = "amazonaws.com.cn", reverse_dns_prefix = "cn.com.amazonaws" }
  }

  assert {
    condition = alltrue([
      for arn in concat(
        [aws_iam_role_policy_attachment.compute_execution-role-managed-0_E264DE9A.policy_arn],
        flatten([for s in data.aws_iam_policy_document.notifications_kms-policy_2AD6AB50.statement : [for p in s.principals : tolist(p.identifiers)] if s.sid == "AccountAdministers"]),
        flatten([for c in one(data.aws_iam_policy_document.workflow-role_trust_FC0D531E.statement).condition : tolist(c.values) if c.variable == "aws:SourceArn"]),
        flatten([for s in data.aws_iam_policy_document.workflow_policy-doc_E6079634.statement : tolist(s.resources) if contains(["FollowTask", "SyncRule"], s.sid)]),
        flatten([for s in data.aws_iam_policy_document.api_function-role-policy-doc_2A3602F0.statement : tolist(s.resources) if s.sid == "DescribeExecutions"]),
        flatten([for s in data.aws_iam_policy_document.compute_task-role-policy-doc_EA05DEB9.statement : tolist(s.resources) if s.sid == "ConnectAsDbUser"]),
      ) : startswith(arn, "arn:aws-cn:")
    ])
    error_message = "An ARN the stack builds spells the partition out instead of reading data.aws_partition."
  }
}
