"""Fraud screening: the fraud function, the EventBridge rules that split OrderPlaced into the
screened and the fast-pass (FraudCheckSkipped) paths after the fraud service's public policy,
and the dead-letter queue of the rule's target and of the function."""

from __future__ import annotations

from infra.cloudformation.topology.blocks import get_att, if_messaging_key, ref, sub
from infra.cloudformation.topology.builder import TemplateBuilder
from services.fraud.public import cloudformation_pattern, fast_pass_pattern, screening_pattern
from shared.contracts import FraudCheckSkipped

FRAUD_SERVICE = "fraud"
FRAUD_HANDLER = "services.fraud.handler.handler"


def add_fraud(builder: TemplateBuilder) -> None:
    """The fraud function, its two rules, their permissions and queue policies, and outputs."""
    builder.dead_letter_queue("FraudDeadLetterQueue", "fraud-dlq")
    function = builder.function(
        "Fraud",
        FRAUD_SERVICE,
        FRAUD_SERVICE,
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
    builder.add(
        "FraudInvokeConfig",
        "AWS::Lambda::EventInvokeConfig",
        {
            "FunctionName": ref(function),
            "Qualifier": "$LATEST",
            "MaximumRetryAttempts": ref("FraudFunctionRetryAttempts"),
        },
    )
    builder.add(
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
                builder.rule_target("fraud", get_att(function, "Arn"), "FraudDeadLetterQueue")
            ],
        },
    )
    builder.add(
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
    builder.add(
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
                builder.rule_target(
                    "fraud-check-skipped",
                    get_att("OrderUpdatesQueue", "Arn"),
                    "OrderUpdatesDeliveryDeadLetterQueue",
                    InputTransformer={
                        "InputPathsMap": {
                            "id": "$.id",
                            "time": "$.time",
                            "order_id": "$.detail.payload.order_id",
                            "cause": "$.detail.event_id",
                        },
                        "InputTemplate": skipped,
                    },
                )
            ],
        },
    )
    to_order_updates = [get_att("OrderUpdatesRule", "Arn"), get_att("FraudFastPassRule", "Arn")]
    for queue in ("OrderUpdatesQueue", "OrderUpdatesDeliveryDeadLetterQueue"):
        builder.queue_policy(f"{queue}Policy", queue, "events.amazonaws.com", to_order_updates)
    builder.queue_policy(
        "FraudDeadLetterQueuePolicy",
        "FraudDeadLetterQueue",
        "events.amazonaws.com",
        [get_att("FraudScreeningRule", "Arn")],
    )
    builder.output("FraudDlqUrl", ref("FraudDeadLetterQueue"), "DLQ of the fraud rule and function")
    builder.output(
        "FraudScreeningRuleName",
        sub("${AWS::StackName}-fraud-screening"),
        "Rule to the fraud function",
    )
    builder.output(
        "FraudFastPassRuleName",
        sub("${AWS::StackName}-fraud-fast-pass"),
        "Rule of the skipped verdict",
    )
    builder.output(
        "OrderUpdatesRuleName", sub("${AWS::StackName}-order-updates"), "Rule of the replies"
    )
