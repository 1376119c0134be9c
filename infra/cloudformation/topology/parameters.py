"""The template's parameters (defaults are the production values) and conditions."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from infra.cloudformation.topology.blocks import Json, pascal, ref

# AWS's advice: a queue's visibility timeout is at least six times its function's timeout.
VISIBILITY_TO_FUNCTION_TIMEOUT = 6


def parameters(lambda_services: Sequence[str]) -> Json:
    """Every parameter, with a code key and a database URL per service in `lambda_services`."""

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
    for service in lambda_services:
        result[f"{pascal(service)}CodeKey"] = {
            "Type": "String",
            "Description": f"Key of the {service} zip in the artifacts bucket",
        }
    for service in lambda_services:
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
        "QueueReceiveWaitSeconds": number(
            20,
            "Long-poll wait of a receive on a source queue that names none (every reader here"
            " names its own)",
            MinValue=0,
            MaxValue=20,
        ),
        "QueueRetentionSeconds": number(
            4 * 24 * 3600,
            "How long a source queue keeps a message (its dead-letter queue keeps it 14 days)",
            MinValue=60,
            MaxValue=14 * 24 * 3600,
        ),
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
        "RuleTargetMaximumRetryAttempts": number(
            185,
            "EventBridge retries of every rule target before the event goes to its DLQ",
            MinValue=0,
            MaxValue=185,
        ),
        "RuleTargetMaximumEventAgeSeconds": number(
            3600,
            "EventBridge retry window of every rule target: older events go to its DLQ",
            MinValue=60,
            MaxValue=86400,
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
        "AlarmEmail": text(
            "",
            "AWS only: address the alarms are mailed to (it must confirm the subscription);"
            " empty: alarms go to the alarms queue only",
        ),
        "SiteDomainName": text("shop.example.com", "Name of the site (hosted zone and alias)"),
        "CertificateArn": text(
            "",
            "ACM certificate (us-east-1) for SiteDomainName: required on AWS, where viewers need"
            " TLS 1.2 or later (rule CertificateOnAws); unused on the emulator (plain HTTP)",
        ),
        "EdgeRateLimit": number(
            1200,
            "AWS only: requests to /api/* per client IP in any 60 s before the web ACL answers 429"
            " (the orders API limits each client too, per process)",
            MinValue=10,
            MaxValue=2000000000,
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
        # Always true on AWS (rule CertificateOnAws).
        "HasCertificate": {"Fn::Not": [{"Fn::Equals": [ref("CertificateArn"), ""]}]},
        "UseMessagingKey": {"Fn::Equals": [ref("MessagingEncryption"), "customer-managed-key"]},
        # Condition names differ from parameter names: LocalStack's engine confuses the two.
        "StackOwnsSenderIdentity": {"Fn::Equals": [ref("CreateSenderIdentity"), "true"]},
        "TracingEnabled": {"Fn::Equals": [ref("PowertoolsTraceDisabled"), "false"]},
        # An e-mail subscription waits for its confirmation: only on AWS, and only with an address.
        "MailsAlarms": {
            "Fn::And": [
                {"Condition": "IsAws"},
                {"Fn::Not": [{"Fn::Equals": [ref("AlarmEmail"), ""]}]},
            ]
        },
    }


def rules() -> Json:
    """What CloudFormation checks of the parameters before it changes anything."""
    return {
        "CertificateOnAws": {
            "RuleCondition": {"Fn::Equals": [ref("DeploymentTarget"), "aws"]},
            "Assertions": [
                {
                    "Assert": {"Fn::Not": [{"Fn::Equals": [ref("CertificateArn"), ""]}]},
                    "AssertDescription": "On AWS the site needs CertificateArn (TLS 1.2 or later"
                    " is only possible with a certificate of its own)",
                }
            ],
        }
    }
