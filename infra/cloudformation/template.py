"""The CloudFormation template of the whole topology, built in Python and emitted as YAML.

`build_template()` returns the template as a dict; `python -m infra.cloudformation.template`
writes it to `template.yaml` beside it (the file cfn-lint, reviewers and the AWS console read; a
test keeps it in step). Each consumer is one `Consumer` entry, from which its queue, dead-letter
queue, alarm, subscription, role, log group, function and event source mapping follow, so
adding a consumer is one line. Physical names derive from the stack name so that stacks
coexist on one account.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]

from infra.cloudformation.packaging import SERVICES
from services.fraud.public import cloudformation_pattern, fast_pass_pattern, screening_pattern
from shared import contracts
from shared.contracts import (
    ORDER_EVENTS,
    ORDERS_SOURCE,
    FraudCheckSkipped,
    OrderCancelled,
    OrderConfirmed,
    OrderPlaced,
)

TEMPLATE_PATH = Path(__file__).resolve().parent / "template.yaml"

Json = dict[str, Any]

ORDER_EVENT_TYPES = [event.__name__ for event in ORDER_EVENTS]
# Sources of the services that reply on the bus (FraudCheckSkipped is written by a rule instead).
REPLY_SOURCES = sorted(set(contracts.REPLY_SOURCES.values()) - {ORDERS_SOURCE})
CLOUDFRONT_ALIAS_ZONE_ID = "Z2FDTNDATAQYW2"
CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
ALL_VIEWER_EXCEPT_HOST_HEADER = "b689b0a8-53d0-40ab-baf2-68738e2966ac"
# AWS's advice: a queue's visibility timeout is at least six times its function's timeout.
VISIBILITY_TO_FUNCTION_TIMEOUT = 6
ALL_METHODS = ["GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"]


def ref(name: str) -> Json:
    return {"Ref": name}


def get_att(name: str, attribute: str) -> Json:
    return {"Fn::GetAtt": [name, attribute]}


def sub(text: str) -> Json:
    return {"Fn::Sub": text}


def if_messaging_key(value: Any, otherwise: Any = None) -> Json:
    """`value` when the stack has its own KMS key, else `otherwise` (default: no value)."""
    return {"Fn::If": ["UseMessagingKey", value, otherwise or ref("AWS::NoValue")]}


def pascal(name: str) -> str:
    """`inventory-catalogue` -> `InventoryCatalogue` (logical ids)."""
    return "".join(part.capitalize() for part in name.replace("_", "-").split("-"))


@dataclass(frozen=True)
class Consumer:
    """A Lambda consuming an SQS queue of its own, with a dead-letter queue and an alarm."""

    service: str
    handler: str
    subscribed_types: list[str] | None = None  # SNS filter; None: not subscribed to the topic
    fifo: bool = False
    replies_on_bus: bool = False
    sends_email: bool = False


@dataclass(frozen=True)
class HttpReader:
    """A Lambda behind a function URL, a CloudFront origin for one path pattern."""

    name: str
    service: str
    handler: str
    path_pattern: str


CONSUMERS = [
    Consumer(
        "inventory",
        "services.inventory.handler.handler",
        [OrderPlaced.__name__, OrderCancelled.__name__],
        replies_on_bus=True,
    ),
    Consumer(
        "email",
        "services.email.handler.handler",
        [OrderPlaced.__name__, OrderConfirmed.__name__, OrderCancelled.__name__],
        sends_email=True,
    ),
    Consumer("analytics", "services.analytics.handler.handler", ORDER_EVENT_TYPES),
    Consumer("payments", "services.payments.handler.handler", fifo=True, replies_on_bus=True),
]
HTTP_READERS = [
    HttpReader(
        "inventory-catalogue", "inventory", "services.inventory.http.handler", "/api/catalogue*"
    ),
    HttpReader(
        "analytics-dashboard", "analytics", "services.analytics.http.handler", "/api/analytics*"
    ),
]
FRAUD_HANDLER = "services.fraud.handler.handler"


def parameters() -> Json:
    """Every parameter; the defaults are the production values."""

    def text(default: str, description: str, **extra: Any) -> Json:
        return {"Type": "String", "Default": default, "Description": description, **extra}

    def number(default: int, description: str, **extra: Any) -> Json:
        return {"Type": "Number", "Default": default, "Description": description, **extra}

    result: Json = {
        "DeploymentTarget": text(
            "aws",
            "aws, or emulator (LocalStack): only the parts that cannot exist there differ",
            AllowedValues=["aws", "emulator"],
        ),
        "ArtifactsBucket": {"Type": "String", "Description": "Bucket holding the Lambda zips"},
    }
    for service in SERVICES:
        result[f"{pascal(service)}CodeKey"] = {
            "Type": "String",
            "Description": f"Key of the {service} zip in the artifacts bucket",
        }
    for service in SERVICES:
        result[f"{pascal(service)}DatabaseUrl"] = {
            "Type": "String",
            "NoEcho": True,
            "Description": f"SQLAlchemy URL of the {service} service's own database",
        }
    result |= {
        "MessagingEncryption": text(
            "customer-managed-key",
            "Topics and queues encrypted with the stack's KMS key, or with service-managed keys"
            " (SQS-managed SSE, aws/sns) where KMS keys cannot be created",
            AllowedValues=["customer-managed-key", "service-managed"],
        ),
        "SenderEmail": text("orders@example.com", "Address the email service sends from"),
        "CreateSenderIdentity": text(
            "true",
            "Create the SES identity of SenderEmail here (false: verified outside the stack)",
            AllowedValues=["true", "false"],
        ),
        "PowertoolsTraceDisabled": text(
            "false", "Disable the powertools tracer (X-Ray)", AllowedValues=["true", "false"]
        ),
        "PowertoolsLogLevel": text(
            "INFO", "Log level of every function", AllowedValues=["DEBUG", "INFO", "WARNING"]
        ),
        "FunctionTimeoutSeconds": number(30, "Timeout of every function", MinValue=1, MaxValue=900),
        "QueueVisibilityTimeoutSeconds": number(
            180,
            "Visibility timeout of the consumer queues: at least six times the function timeout"
            " (the deploy checks it)",
            MinValue=6,
            MaxValue=43200,
        ),
        "FunctionMemoryMb": number(512, "Memory of every function", MinValue=128, MaxValue=10240),
        "MaxReceiveCount": number(
            5, "Receives before a message moves to its DLQ", MinValue=1, MaxValue=1000
        ),
        "BatchSize": number(10, "Event source mapping batch size", MinValue=1, MaxValue=10),
        "MaximumBatchingWindowSeconds": number(
            1, "Batching window of the standard queues", MinValue=0, MaxValue=300
        ),
        "MaximumConcurrency": number(
            10, "Event source mapping maximum concurrency", MinValue=2, MaxValue=1000
        ),
        "FraudThresholdMinorUnits": number(
            50000, "Order totals at or above this (minor units) are screened", MinValue=1
        ),
        "FraudAllowedCountries": text(
            "AT,BE,DE,ES,FR,IT,NL",
            "Comma-separated shipping countries (ISO 3166 alpha-2) that may skip screening",
            AllowedPattern="^[A-Z]{2}(,[A-Z]{2})*$",
            ConstraintDescription="two-letter upper-case country codes separated by commas",
        ),
        "FraudMaximumRetryAttempts": number(
            3, "EventBridge retries of the fraud target", MinValue=0, MaxValue=185
        ),
        "FraudMaximumEventAgeSeconds": number(
            3600, "EventBridge retry window of the fraud target", MinValue=60, MaxValue=86400
        ),
        "FraudFunctionRetryAttempts": number(
            2,
            "Retries of a failed asynchronous fraud invocation before its DLQ",
            MinValue=0,
            MaxValue=2,
        ),
        "ArchiveRetentionDays": number(
            30, "Days the bus archive keeps events (0: forever)", MinValue=0
        ),
        "LogRetentionDays": number(
            30,
            "Days function logs are kept",
            AllowedValues=[1, 3, 5, 7, 14, 30, 60, 90, 180, 365],
        ),
        "AlarmPeriodSeconds": number(
            60, "Period of the DLQ depth alarms", AllowedValues=[10, 30, 60, 300]
        ),
        "SiteDomainName": text("shop.example.com", "Name of the site (hosted zone and alias)"),
        "CertificateArn": text(
            "", "ACM certificate (us-east-1) for SiteDomainName on AWS; empty: none"
        ),
        "ViewerProtocolPolicy": text(
            "redirect-to-https",
            "Viewer protocol policy of every behaviour",
            AllowedValues=["redirect-to-https", "https-only", "allow-all"],
        ),
        "OrdersApiDomain": text("api.example.com", "Domain of the orders API origin"),
        "OrdersApiPort": number(443, "Port of the orders API origin", MinValue=1, MaxValue=65535),
        "OrdersApiProtocol": text(
            "https-only", "Protocol to the orders API", AllowedValues=["http-only", "https-only"]
        ),
        "FunctionUrlOriginProtocol": text(
            "https-only",
            "Protocol to the function URL origins (http-only on the emulator)",
            AllowedValues=["http-only", "https-only"],
        ),
    }
    return result


def conditions() -> Json:
    return {
        # AWS-only production parts (VPC, managed PostgreSQL, orders compute) go under IsAws.
        "IsAws": {"Fn::Equals": [ref("DeploymentTarget"), "aws"]},
        "HasCertificate": {"Fn::Not": [{"Fn::Equals": [ref("CertificateArn"), ""]}]},
        "UseMessagingKey": {"Fn::Equals": [ref("MessagingEncryption"), "customer-managed-key"]},
        # Condition names differ from parameter names: LocalStack's engine confuses the two.
        "StackOwnsSenderIdentity": {"Fn::Equals": [ref("CreateSenderIdentity"), "true"]},
        "TracingEnabled": {"Fn::Equals": [ref("PowertoolsTraceDisabled"), "false"]},
        # A CloudFront alias needs a certificate on AWS; the emulator serves it over plain HTTP.
        "UseSiteAlias": {
            "Fn::Or": [{"Condition": "HasCertificate"}, {"Fn::Not": [{"Condition": "IsAws"}]}]
        },
    }


class TemplateBuilder:
    """Accumulates resources and outputs."""

    def __init__(self) -> None:
        self.resources: Json = {}
        self.outputs: Json = {}

    def add(self, logical_id: str, resource_type: str, properties: Json, **extra: Any) -> str:
        if logical_id in self.resources:
            raise ValueError(f"resource {logical_id} defined twice")
        self.resources[logical_id] = {"Type": resource_type, **extra, "Properties": properties}
        return logical_id

    def output(self, name: str, value: Any, description: str) -> None:
        self.outputs[name] = {"Description": description, "Value": value}

    # -- shared pieces ---------------------------------------------------------------------

    def encryption_key(self) -> None:
        account_root = sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root")
        admin_actions = [
            "kms:CancelKeyDeletion",
            "kms:CreateGrant",
            "kms:Decrypt",
            "kms:DescribeKey",
            "kms:DisableKey",
            "kms:DisableKeyRotation",
            "kms:EnableKey",
            "kms:EnableKeyRotation",
            "kms:Encrypt",
            "kms:GenerateDataKey",
            "kms:GetKeyPolicy",
            "kms:GetKeyRotationStatus",
            "kms:ListGrants",
            "kms:ListResourceTags",
            "kms:PutKeyPolicy",
            "kms:RetireGrant",
            "kms:RevokeGrant",
            "kms:ScheduleKeyDeletion",
            "kms:TagResource",
            "kms:UntagResource",
            "kms:UpdateKeyDescription",
        ]
        services = ["sns.amazonaws.com", "events.amazonaws.com", "cloudwatch.amazonaws.com"]
        self.add(
            "MessagingKey",
            "AWS::KMS::Key",
            {
                "Description": sub("${AWS::StackName} topics and queues"),
                "EnableKeyRotation": True,
                "KeyPolicy": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "AccountAdministersAndDelegatesToIam",
                            "Effect": "Allow",
                            "Principal": {"AWS": account_root},
                            "Action": admin_actions,
                            "Resource": "*",
                        },
                        {
                            "Sid": "ServicesDeliverToEncryptedTopicsAndQueues",
                            "Effect": "Allow",
                            "Principal": {"Service": services},
                            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                            "Resource": "*",
                            "Condition": {
                                "StringEquals": {"aws:SourceAccount": ref("AWS::AccountId")}
                            },
                        },
                    ],
                },
            },
            Condition="UseMessagingKey",
            UpdateReplacePolicy="Retain",
            DeletionPolicy="Delete",
        )

    def queue(self, logical_id: str, name: str, *, fifo: bool, dlq: str | None) -> str:
        """A KMS-encrypted queue; with `dlq` a source queue, without it a dead-letter queue."""
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
        if dlq is None:
            properties["MessageRetentionPeriod"] = 14 * 24 * 3600
        else:
            properties["VisibilityTimeout"] = ref("QueueVisibilityTimeoutSeconds")
            properties["RedrivePolicy"] = {
                "deadLetterTargetArn": get_att(dlq, "Arn"),
                "maxReceiveCount": ref("MaxReceiveCount"),
            }
        return self.add(logical_id, "AWS::SQS::Queue", properties)

    def dlq_alarm(self, dlq: str) -> None:
        self.add(
            f"{dlq}DepthAlarm",
            "AWS::CloudWatch::Alarm",
            {
                "AlarmName": sub(f"${{AWS::StackName}}-{dlq}-not-empty"),
                "AlarmDescription": sub(f"Messages wait in ${{{dlq}.QueueName}}: inspect, redrive"),
                "Namespace": "AWS/SQS",
                "MetricName": "ApproximateNumberOfMessagesVisible",
                "Dimensions": [{"Name": "QueueName", "Value": get_att(dlq, "QueueName")}],
                "Statistic": "Maximum",
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

    # -- the topology ----------------------------------------------------------------------

    def messaging(self) -> None:
        self.encryption_key()
        for topic, name in (("OrderEventsTopic", "order-events"), ("OpsAlertsTopic", "ops-alerts")):
            self.add(
                topic,
                "AWS::SNS::Topic",
                {
                    "TopicName": sub(f"${{AWS::StackName}}-{name}"),
                    "KmsMasterKeyId": if_messaging_key(ref("MessagingKey"), "alias/aws/sns"),
                },
            )
        self.add("EventBus", "AWS::Events::EventBus", {"Name": sub("${AWS::StackName}-orders")})
        self.add(
            "EventArchive",
            "AWS::Events::Archive",
            {
                "ArchiveName": sub("${AWS::StackName}-orders"),
                "Description": "Every event on the orders bus, replayable",
                "SourceArn": get_att("EventBus", "Arn"),
                "RetentionDays": ref("ArchiveRetentionDays"),
            },
        )
        self.output("OrderEventsTopicArn", ref("OrderEventsTopic"), "Topic of the order events")
        self.output("AlertsTopicArn", ref("OpsAlertsTopic"), "Topic of the operations alarms")
        self.output("EventBusName", ref("EventBus"), "The orders event bus")
        self.output("EventBusArn", get_att("EventBus", "Arn"), "ARN of the orders event bus")
        self.output("ArchiveName", ref("EventArchive"), "Archive of the orders bus")
        self.output(
            "MessagingKeyArn",
            if_messaging_key(get_att("MessagingKey", "Arn"), "service-managed"),
            "Key of topics and queues",
        )

    def consumer(self, consumer: Consumer) -> None:
        prefix = pascal(consumer.service)
        queue_id, dlq_id = f"{prefix}Queue", f"{prefix}DeadLetterQueue"
        self.queue(dlq_id, f"{consumer.service}-dlq", fifo=consumer.fifo, dlq=None)
        self.queue(queue_id, consumer.service, fifo=consumer.fifo, dlq=dlq_id)
        self.dlq_alarm(dlq_id)
        if consumer.subscribed_types is not None:
            self.add(
                f"{prefix}Subscription",
                "AWS::SNS::Subscription",
                {
                    "TopicArn": ref("OrderEventsTopic"),
                    "Protocol": "sqs",
                    "Endpoint": get_att(queue_id, "Arn"),
                    "RawMessageDelivery": True,
                    "FilterPolicyScope": "MessageAttributes",
                    "FilterPolicy": {"type": consumer.subscribed_types},
                },
            )
            self.queue_policy(
                f"{prefix}QueuePolicy", queue_id, "sns.amazonaws.com", [ref("OrderEventsTopic")]
            )
        statements: list[Json] = [
            {
                "Effect": "Allow",
                "Action": [
                    "sqs:ReceiveMessage",
                    "sqs:DeleteMessage",
                    "sqs:ChangeMessageVisibility",
                    "sqs:GetQueueAttributes",
                ],
                "Resource": get_att(queue_id, "Arn"),
            },
            if_messaging_key(
                {
                    "Effect": "Allow",
                    "Action": "kms:Decrypt",
                    "Resource": get_att("MessagingKey", "Arn"),
                }
            ),
        ]
        if consumer.replies_on_bus:
            statements.append(
                {
                    "Effect": "Allow",
                    "Action": "events:PutEvents",
                    "Resource": get_att("EventBus", "Arn"),
                }
            )
        environment: Json = {}
        if consumer.sends_email:
            statements.append(
                {
                    "Effect": "Allow",
                    "Action": ["ses:SendEmail", "ses:SendRawEmail"],
                    "Resource": sub(
                        "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}"
                        ":identity/${SenderEmail}"
                    ),
                }
            )
            environment["SENDER_EMAIL"] = ref("SenderEmail")
        function = self.function(
            prefix, consumer.service, consumer.service, consumer.handler, statements, environment
        )
        mapping: Json = {
            "EventSourceArn": get_att(queue_id, "Arn"),
            "FunctionName": ref(function),
            "BatchSize": ref("BatchSize"),
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
            "ScalingConfig": {"MaximumConcurrency": ref("MaximumConcurrency")},
        }
        if not consumer.fifo:  # FIFO event source mappings take no batching window
            mapping["MaximumBatchingWindowInSeconds"] = ref("MaximumBatchingWindowSeconds")
        self.add(f"{prefix}EventSourceMapping", "AWS::Lambda::EventSourceMapping", mapping)
        self.output(f"{prefix}QueueUrl", ref(queue_id), f"Queue of the {consumer.service} service")
        self.output(
            f"{prefix}QueueArn", get_att(queue_id, "Arn"), f"ARN of the {consumer.service} queue"
        )
        self.output(f"{prefix}DlqUrl", ref(dlq_id), f"Dead-letter queue of {consumer.service}")

    def order_updates(self) -> None:
        self.queue("OrderUpdatesDeadLetterQueue", "order-updates-dlq", fifo=False, dlq=None)
        self.queue(
            "OrderUpdatesQueue", "order-updates", fifo=False, dlq="OrderUpdatesDeadLetterQueue"
        )
        self.dlq_alarm("OrderUpdatesDeadLetterQueue")
        self.add(
            "OrderUpdatesRule",
            "AWS::Events::Rule",
            {
                "Name": sub("${AWS::StackName}-order-updates"),
                "Description": "Replies of inventory, payments and fraud to the orders service",
                "EventBusName": ref("EventBus"),
                "EventPattern": {"source": REPLY_SOURCES},
                "Targets": [
                    {
                        "Id": "order-updates",
                        "Arn": get_att("OrderUpdatesQueue", "Arn"),
                        "InputPath": "$.detail",
                    }
                ],
            },
        )
        self.output(
            "OrderUpdatesQueueUrl", ref("OrderUpdatesQueue"), "Replies to the orders service"
        )
        self.output(
            "OrderUpdatesQueueArn", get_att("OrderUpdatesQueue", "Arn"), "ARN of order-updates"
        )
        self.output(
            "OrderUpdatesDlqUrl", ref("OrderUpdatesDeadLetterQueue"), "DLQ of order-updates"
        )

    def fraud(self) -> None:
        self.queue("FraudDeadLetterQueue", "fraud-dlq", fifo=False, dlq=None)
        self.dlq_alarm("FraudDeadLetterQueue")
        function = self.function(
            "Fraud",
            "fraud",
            "fraud",
            FRAUD_HANDLER,
            [
                {
                    "Effect": "Allow",
                    "Action": "events:PutEvents",
                    "Resource": get_att("EventBus", "Arn"),
                },
                {
                    "Effect": "Allow",
                    "Action": "sqs:SendMessage",
                    "Resource": get_att("FraudDeadLetterQueue", "Arn"),
                },
                if_messaging_key(
                    {
                        "Effect": "Allow",
                        "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                        "Resource": get_att("MessagingKey", "Arn"),
                    }
                ),
            ],
            dead_letter_queue="FraudDeadLetterQueue",
        )
        self.add(
            "FraudInvokeConfig",
            "AWS::Lambda::EventInvokeConfig",
            {
                "FunctionName": ref(function),
                "Qualifier": "$LATEST",
                "MaximumRetryAttempts": ref("FraudFunctionRetryAttempts"),
            },
        )
        self.add(
            "FraudScreeningRule",
            "AWS::Events::Rule",
            {
                "Name": sub("${AWS::StackName}-fraud-screening"),
                "Description": "Risky OrderPlaced: total over threshold or country not allowed",
                "EventBusName": ref("EventBus"),
                "EventPattern": cloudformation_pattern(
                    screening_pattern, "FraudThresholdMinorUnits", "FraudAllowedCountries"
                ),
                "Targets": [
                    {
                        "Id": "fraud",
                        "Arn": get_att(function, "Arn"),
                        "RetryPolicy": {
                            "MaximumRetryAttempts": ref("FraudMaximumRetryAttempts"),
                            "MaximumEventAgeInSeconds": ref("FraudMaximumEventAgeSeconds"),
                        },
                        "DeadLetterConfig": {"Arn": get_att("FraudDeadLetterQueue", "Arn")},
                    }
                ],
            },
        )
        self.add(
            "FraudScreeningPermission",
            "AWS::Lambda::Permission",
            {
                "FunctionName": ref(function),
                "Action": "lambda:InvokeFunction",
                "Principal": "events.amazonaws.com",
                "SourceArn": get_att("FraudScreeningRule", "Arn"),
            },
        )
        skipped = (
            f'{{"event_id": <id>, "type": "{FraudCheckSkipped.__name__}", "version": 1, '
            '"occurred_at": <time>, "correlation_id": <order_id>, "causation_id": <cause>, '
            '"payload": {"order_id": <order_id>}}'
        )
        self.add(
            "FraudFastPassRule",
            "AWS::Events::Rule",
            {
                "Name": sub("${AWS::StackName}-fraud-fast-pass"),
                "Description": "Low-risk OrderPlaced (the complement): FraudCheckSkipped verdict",
                "EventBusName": ref("EventBus"),
                "EventPattern": cloudformation_pattern(
                    fast_pass_pattern, "FraudThresholdMinorUnits", "FraudAllowedCountries"
                ),
                "Targets": [
                    {
                        "Id": "fraud-check-skipped",
                        "Arn": get_att("OrderUpdatesQueue", "Arn"),
                        "InputTransformer": {
                            "InputPathsMap": {
                                "id": "$.id",
                                "time": "$.time",
                                "order_id": "$.detail.payload.order_id",
                                "cause": "$.detail.event_id",
                            },
                            "InputTemplate": skipped,
                        },
                    }
                ],
            },
        )
        self.queue_policy(
            "OrderUpdatesQueuePolicy",
            "OrderUpdatesQueue",
            "events.amazonaws.com",
            [get_att("OrderUpdatesRule", "Arn"), get_att("FraudFastPassRule", "Arn")],
        )
        self.queue_policy(
            "FraudDeadLetterQueuePolicy",
            "FraudDeadLetterQueue",
            "events.amazonaws.com",
            [get_att("FraudScreeningRule", "Arn")],
        )
        self.output(
            "FraudDlqUrl", ref("FraudDeadLetterQueue"), "DLQ of the fraud rule and function"
        )
        self.output(
            "FraudScreeningRuleName",
            sub("${AWS::StackName}-fraud-screening"),
            "Rule to the fraud function",
        )
        self.output(
            "FraudFastPassRuleName",
            sub("${AWS::StackName}-fraud-fast-pass"),
            "Rule of the skipped verdict",
        )
        self.output(
            "OrderUpdatesRuleName", sub("${AWS::StackName}-order-updates"), "Rule of the replies"
        )

    def http_reader(self, reader: HttpReader) -> None:
        prefix = pascal(reader.name)
        function = self.function(prefix, reader.name, reader.service, reader.handler, [])
        self.add(
            f"{prefix}Url",
            "AWS::Lambda::Url",
            {"TargetFunctionArn": get_att(function, "Arn"), "AuthType": "NONE"},
        )
        self.add(
            f"{prefix}UrlPermission",
            "AWS::Lambda::Permission",
            {
                "FunctionName": ref(function),
                "Action": "lambda:InvokeFunctionUrl",
                "Principal": "*",
                "FunctionUrlAuthType": "NONE",
            },
        )
        self.output(
            f"{prefix}FunctionUrl", get_att(f"{prefix}Url", "FunctionUrl"), f"URL of {reader.name}"
        )

    def email_identity(self) -> None:
        self.add(
            "SenderIdentity",
            "AWS::SES::EmailIdentity",
            {"EmailIdentity": ref("SenderEmail")},
            Condition="StackOwnsSenderIdentity",
        )

    def frontend(self) -> None:
        self.add(
            "FrontendBucket",
            "AWS::S3::Bucket",
            {
                "PublicAccessBlockConfiguration": {
                    "BlockPublicAcls": True,
                    "BlockPublicPolicy": True,
                    "IgnorePublicAcls": True,
                    "RestrictPublicBuckets": True,
                },
                "BucketEncryption": {
                    "ServerSideEncryptionConfiguration": [
                        {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
                    ]
                },
                "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
                "VersioningConfiguration": {"Status": "Enabled"},
            },
            UpdateReplacePolicy="Retain",
            DeletionPolicy="Delete",
        )
        self.add(
            "FrontendOriginAccessControl",
            "AWS::CloudFront::OriginAccessControl",
            {
                "OriginAccessControlConfig": {
                    "Name": sub("${AWS::StackName}-frontend"),
                    "Description": "CloudFront reads the private frontend bucket",
                    "OriginAccessControlOriginType": "s3",
                    "SigningBehavior": "always",
                    "SigningProtocol": "sigv4",
                }
            },
        )
        distribution_arn = sub(
            "arn:${AWS::Partition}:cloudfront::${AWS::AccountId}:distribution/${Distribution}"
        )
        bucket_objects = sub("${FrontendBucket.Arn}/*")
        self.add(
            "FrontendBucketPolicy",
            "AWS::S3::BucketPolicy",
            {
                "Bucket": ref("FrontendBucket"),
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "CloudFrontReadsThroughOriginAccessControl",
                            "Effect": "Allow",
                            "Principal": {"Service": "cloudfront.amazonaws.com"},
                            "Action": "s3:GetObject",
                            "Resource": bucket_objects,
                            "Condition": {"StringEquals": {"AWS:SourceArn": distribution_arn}},
                        },
                        {
                            "Sid": "DenyInsecureTransport",
                            "Effect": "Deny",
                            "Principal": {"AWS": "*"},
                            "Action": "s3:GetObject",
                            "Resource": bucket_objects,
                            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                        },
                    ],
                },
            },
        )

        def function_url_origin(reader: HttpReader) -> Json:
            url = get_att(f"{pascal(reader.name)}Url", "FunctionUrl")
            return {
                "Id": reader.name,
                "DomainName": {"Fn::Select": [2, {"Fn::Split": ["/", url]}]},
                "CustomOriginConfig": {
                    "OriginProtocolPolicy": ref("FunctionUrlOriginProtocol"),
                    "HTTPPort": 80,
                    "HTTPSPort": 443,
                    "OriginSSLProtocols": ["TLSv1.2"],
                },
            }

        def api_behaviour(path_pattern: str, origin_id: str) -> Json:
            return {
                "PathPattern": path_pattern,
                "TargetOriginId": origin_id,
                "ViewerProtocolPolicy": ref("ViewerProtocolPolicy"),
                "AllowedMethods": ALL_METHODS,
                "CachedMethods": ["GET", "HEAD"],
                "CachePolicyId": CACHING_DISABLED,
                "OriginRequestPolicyId": ALL_VIEWER_EXCEPT_HOST_HEADER,
                "Compress": True,
            }

        origins = [
            {
                "Id": "frontend",
                "DomainName": get_att("FrontendBucket", "RegionalDomainName"),
                "S3OriginConfig": {"OriginAccessIdentity": ""},
                "OriginAccessControlId": get_att("FrontendOriginAccessControl", "Id"),
            },
            *(function_url_origin(reader) for reader in HTTP_READERS),
            {
                "Id": "orders-api",
                "DomainName": ref("OrdersApiDomain"),
                "CustomOriginConfig": {
                    "OriginProtocolPolicy": ref("OrdersApiProtocol"),
                    "HTTPPort": ref("OrdersApiPort"),
                    "HTTPSPort": ref("OrdersApiPort"),
                    "OriginSSLProtocols": ["TLSv1.2"],
                },
            },
        ]
        behaviours = [
            *(api_behaviour(reader.path_pattern, reader.name) for reader in HTTP_READERS),
            api_behaviour("/api/*", "orders-api"),
        ]
        certificate = {
            "Fn::If": [
                "HasCertificate",
                {
                    "AcmCertificateArn": ref("CertificateArn"),
                    "SslSupportMethod": "sni-only",
                    "MinimumProtocolVersion": "TLSv1.2_2021",
                },
                {"CloudFrontDefaultCertificate": True},
            ]
        }
        self.add(
            "Distribution",
            "AWS::CloudFront::Distribution",
            {
                "DistributionConfig": {
                    "Enabled": True,
                    "Comment": sub("${AWS::StackName} shop"),
                    "Aliases": {
                        "Fn::If": ["UseSiteAlias", [ref("SiteDomainName")], ref("AWS::NoValue")]
                    },
                    "DefaultRootObject": "index.html",
                    "HttpVersion": "http2",
                    "IPV6Enabled": True,
                    "PriceClass": "PriceClass_100",
                    "Origins": origins,
                    "DefaultCacheBehavior": {
                        "TargetOriginId": "frontend",
                        "ViewerProtocolPolicy": ref("ViewerProtocolPolicy"),
                        "AllowedMethods": ["GET", "HEAD"],
                        "CachedMethods": ["GET", "HEAD"],
                        "CachePolicyId": CACHING_OPTIMIZED,
                        "Compress": True,
                    },
                    "CacheBehaviors": behaviours,
                    "CustomErrorResponses": [
                        {
                            "ErrorCode": code,
                            "ResponseCode": 200,
                            "ResponsePagePath": "/index.html",
                            "ErrorCachingMinTTL": 10,
                        }
                        for code in (403, 404)
                    ],
                    "ViewerCertificate": certificate,
                }
            },
        )
        self.add("HostedZone", "AWS::Route53::HostedZone", {"Name": ref("SiteDomainName")})
        for record_type in ("A", "AAAA"):
            self.add(
                f"SiteAlias{record_type}",
                "AWS::Route53::RecordSet",
                {
                    "HostedZoneId": ref("HostedZone"),
                    "Name": ref("SiteDomainName"),
                    "Type": record_type,
                    "AliasTarget": {
                        "DNSName": get_att("Distribution", "DomainName"),
                        "HostedZoneId": CLOUDFRONT_ALIAS_ZONE_ID,
                        "EvaluateTargetHealth": False,
                    },
                },
            )
        self.output("FrontendBucketName", ref("FrontendBucket"), "Bucket of the static site")
        self.output("DistributionId", ref("Distribution"), "The CloudFront distribution")
        self.output(
            "DistributionDomainName", get_att("Distribution", "DomainName"), "Its domain name"
        )
        self.output("HostedZoneId", ref("HostedZone"), "Hosted zone of the site")
        self.output("SiteDomainName", ref("SiteDomainName"), "Name of the site")
        self.output("SenderEmail", ref("SenderEmail"), "Address the email service sends from")


def build_template() -> Json:
    """The whole template as a dict, ready for `json.dumps` or `yaml.safe_dump`."""
    builder = TemplateBuilder()
    builder.messaging()
    builder.email_identity()
    for consumer in CONSUMERS:
        builder.consumer(consumer)
    builder.order_updates()
    builder.fraud()
    for reader in HTTP_READERS:
        builder.http_reader(reader)
    builder.frontend()
    # AWS-only production parts (VPC, managed PostgreSQL, compute for the orders service) belong
    # here, each resource under `Condition: IsAws`, feeding the *DatabaseUrl values.
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": "Event-sourced order processing: messaging, Lambdas, site (one stack)",
        "Parameters": parameters(),
        "Conditions": conditions(),
        "Resources": builder.resources,
        "Outputs": builder.outputs,
    }


class _NoAliasDumper(yaml.SafeDumper):  # type: ignore[misc]
    """CloudFormation rejects YAML anchors: write repeated values out in full."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def render() -> str:
    """The template as YAML text, with a header naming its source."""
    header = (
        "# Generated by `python -m infra.cloudformation.template`"
        " from infra/cloudformation/template.py: do not edit.\n"
    )
    body: str = yaml.dump(build_template(), Dumper=_NoAliasDumper, sort_keys=False, width=100)
    return header + body


def main() -> int:
    TEMPLATE_PATH.write_text(render())
    print(f"wrote {TEMPLATE_PATH}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
