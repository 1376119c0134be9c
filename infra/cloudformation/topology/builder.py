"""`TemplateBuilder`: resources and outputs, and the pieces several concerns share (queues,
alarms, queue policies, functions with their role and log group)."""

from __future__ import annotations

from typing import Any

from infra.cloudformation.topology.blocks import Json, get_att, if_messaging_key, pascal, ref, sub

# The longest SQS keeps a message: what waits in a dead-letter queue waits for an operator.
DEAD_LETTER_RETENTION_SECONDS = 14 * 24 * 3600


class TemplateBuilder:
    """Accumulates resources and outputs, in the order the template lists them."""

    def __init__(self) -> None:
        self.resources: Json = {}
        self.outputs: Json = {}

    def add(self, logical_id: str, resource_type: str, properties: Json, **extra: Any) -> str:
        if logical_id in self.resources:
            raise ValueError(f"resource {logical_id} defined twice")
        self.resources[logical_id] = {"Type": resource_type, **extra, "Properties": properties}
        return logical_id

    def output(
        self, name: str, value: Any, description: str, *, condition: str | None = None
    ) -> None:
        self.outputs[name] = {"Description": description, "Value": value}
        if condition is not None:
            self.outputs[name]["Condition"] = condition

    def queue(self, logical_id: str, name: str, *, fifo: bool, dlq: str | None) -> str:
        """A KMS-encrypted source queue that long-polls and redrives to `dlq` after
        `MaxReceiveCount` receives; without `dlq`, a queue whose readers only peek (nothing
        receives it to completion, so receives must never move its messages)."""
        properties = self._queue_properties(name, fifo=fifo)
        properties["MessageRetentionPeriod"] = ref("QueueRetentionSeconds")
        properties["ReceiveMessageWaitTimeSeconds"] = ref("QueueReceiveWaitSeconds")
        if dlq is not None:
            properties["VisibilityTimeout"] = ref("QueueVisibilityTimeoutSeconds")
            properties["RedrivePolicy"] = {
                "deadLetterTargetArn": get_att(dlq, "Arn"),
                "maxReceiveCount": ref("MaxReceiveCount"),
            }
        return self.add(logical_id, "AWS::SQS::Queue", properties)

    def dead_letter_queue(self, logical_id: str, name: str, *, fifo: bool = False) -> str:
        """A KMS-encrypted dead-letter queue keeping messages for the longest SQS allows, and
        its depth alarm."""
        properties = self._queue_properties(name, fifo=fifo)
        properties["MessageRetentionPeriod"] = DEAD_LETTER_RETENTION_SECONDS
        self.add(logical_id, "AWS::SQS::Queue", properties)
        self.alarm(
            f"{logical_id}DepthAlarm",
            f"{logical_id}-not-empty",
            sub(f"Messages wait in ${{{logical_id}.QueueName}}: inspect, redrive"),
            namespace="AWS/SQS",
            metric="ApproximateNumberOfMessagesVisible",
            dimensions=[{"Name": "QueueName", "Value": get_att(logical_id, "QueueName")}],
            statistic="Maximum",
        )
        return logical_id

    @staticmethod
    def _queue_properties(name: str, *, fifo: bool) -> Json:
        suffix = ".fifo" if fifo else ""
        properties: Json = {
            "QueueName": sub(f"${{AWS::StackName}}-{name}{suffix}"),
            "KmsMasterKeyId": if_messaging_key(ref("MessagingKey")),
            "KmsDataKeyReusePeriodSeconds": if_messaging_key(300),
            "SqsManagedSseEnabled": if_messaging_key(ref("AWS::NoValue"), True),
        }
        if fifo:
            properties["FifoQueue"] = True
            properties["ContentBasedDeduplication"] = False
        return properties

    def subscription(
        self,
        logical_id: str,
        topic: str,
        protocol: str,
        endpoint: Any,
        dlq: str,
        properties: Json | None = None,
        condition: str | None = None,
    ) -> str:
        """A subscription of `topic` that sends what it cannot deliver to `dlq` (whose queue
        policy must admit SNS on behalf of `topic`)."""
        extra = {"Condition": condition} if condition else {}
        return self.add(
            logical_id,
            "AWS::SNS::Subscription",
            {
                "TopicArn": ref(topic),
                "Protocol": protocol,
                "Endpoint": endpoint,
                "RedrivePolicy": {"deadLetterTargetArn": get_att(dlq, "Arn")},
                **(properties or {}),
            },
            **extra,
        )

    @staticmethod
    def rule_target(target_id: str, arn: Any, dlq: str, **extra: Any) -> Json:
        """An EventBridge rule target that retries within the stack's bounds, then sends the
        event to `dlq` (whose queue policy must admit EventBridge on behalf of the rule)."""
        return {
            "Id": target_id,
            "Arn": arn,
            **extra,
            "RetryPolicy": {
                "MaximumRetryAttempts": ref("RuleTargetMaximumRetryAttempts"),
                "MaximumEventAgeInSeconds": ref("RuleTargetMaximumEventAgeSeconds"),
            },
            "DeadLetterConfig": {"Arn": get_att(dlq, "Arn")},
        }

    def alarm(
        self,
        logical_id: str,
        name: str,
        description: Any,
        *,
        namespace: str,
        metric: str,
        dimensions: list[Json],
        statistic: str,
    ) -> None:
        """An alarm to the ops-alerts topic as soon as the metric is above 0 in one period."""
        self.add(
            logical_id,
            "AWS::CloudWatch::Alarm",
            {
                "AlarmName": sub(f"${{AWS::StackName}}-{name}"),
                "AlarmDescription": description,
                "Namespace": namespace,
                "MetricName": metric,
                "Dimensions": dimensions,
                "Statistic": statistic,
                "Period": ref("AlarmPeriodSeconds"),
                "EvaluationPeriods": 1,
                "Threshold": 0,
                "ComparisonOperator": "GreaterThanThreshold",
                "TreatMissingData": "notBreaching",
                "AlarmActions": [ref("OpsAlertsTopic")],
                "OKActions": [ref("OpsAlertsTopic")],
            },
        )

    def queue_policy(self, logical_id: str, queue: str, service: str, sources: list[Any]) -> None:
        """Admit only `service` sending on behalf of the given source ARNs."""
        self.add(
            logical_id,
            "AWS::SQS::QueuePolicy",
            {
                "Queues": [ref(queue)],
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": service},
                            "Action": "sqs:SendMessage",
                            "Resource": get_att(queue, "Arn"),
                            "Condition": {"ArnEquals": {"aws:SourceArn": sources}},
                        }
                    ],
                },
            },
        )

    def function(
        self,
        logical_prefix: str,
        name: str,
        service: str,
        handler: str,
        statements: list[Json],
        environment: Json | None = None,
        dead_letter_queue: str | None = None,
    ) -> str:
        """Role, log group and function; returns the function's logical id."""
        function_name = sub(f"${{AWS::StackName}}-{name}")
        log_group = self.add(
            f"{logical_prefix}LogGroup",
            "AWS::Logs::LogGroup",
            {
                "LogGroupName": sub(f"/aws/lambda/${{AWS::StackName}}-{name}"),
                "RetentionInDays": ref("LogRetentionDays"),
            },
            UpdateReplacePolicy="Delete",
            DeletionPolicy="Delete",
        )
        log_statement = {
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": get_att(log_group, "Arn"),
        }
        tracing_statement = {
            "Fn::If": [
                "TracingEnabled",
                {
                    # X-Ray has no resource-level permissions: "*" is the only valid resource.
                    "Effect": "Allow",
                    "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
                    "Resource": "*",
                },
                ref("AWS::NoValue"),
            ]
        }
        role = self.add(
            f"{logical_prefix}Role",
            "AWS::IAM::Role",
            {
                "Description": sub(f"${{AWS::StackName}} {name} function"),
                "AssumeRolePolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "lambda.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                },
                "Policies": [
                    {
                        "PolicyName": f"{name}-least-privilege",
                        "PolicyDocument": {
                            "Version": "2012-10-17",
                            "Statement": [log_statement, tracing_statement, *statements],
                        },
                    }
                ],
            },
        )
        variables: Json = {
            "DATABASE_URL": ref(f"{pascal(service)}DatabaseUrl"),
            "EVENT_BUS_NAME": ref("EventBus"),
            "POWERTOOLS_SERVICE_NAME": service,
            "POWERTOOLS_METRICS_NAMESPACE": "Shop",
            "POWERTOOLS_TRACE_DISABLED": ref("PowertoolsTraceDisabled"),
            "POWERTOOLS_LOG_LEVEL": ref("PowertoolsLogLevel"),
            **(environment or {}),
        }
        properties: Json = {
            "FunctionName": function_name,
            "Description": sub(f"${{AWS::StackName}} {name}"),
            "Runtime": "python3.11",
            "Architectures": ["x86_64"],
            "Handler": handler,
            "Code": {"S3Bucket": ref("ArtifactsBucket"), "S3Key": ref(f"{pascal(service)}CodeKey")},
            "Role": get_att(role, "Arn"),
            "Timeout": ref("FunctionTimeoutSeconds"),
            "MemorySize": ref("FunctionMemoryMb"),
            "Environment": {"Variables": variables},
            "TracingConfig": {"Mode": {"Fn::If": ["TracingEnabled", "Active", "PassThrough"]}},
        }
        if dead_letter_queue:
            properties["DeadLetterConfig"] = {"TargetArn": get_att(dead_letter_queue, "Arn")}
        function = f"{logical_prefix}Function"
        # the log group exists before the function can write (and would create) it
        self.add(function, "AWS::Lambda::Function", properties, DependsOn=[log_group])
        self.output(f"{logical_prefix}FunctionName", ref(function), f"The {name} function")
        return function
