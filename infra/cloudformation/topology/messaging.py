"""Messaging: the KMS key, the order-events and ops-alerts topics, the orders event bus and its
archive, the order-updates queue of the replies, and the SES identity the email service sends
from."""

from __future__ import annotations

from infra.cloudformation.topology.blocks import get_att, if_messaging_key, ref, sub
from infra.cloudformation.topology.builder import TemplateBuilder
from services.orders.public import (
    METRICS_NAMESPACE,
    PROJECTION_EVENTS_SET_ASIDE,
    SERVICE_DIMENSION,
)
from shared import contracts
from shared.contracts import ORDER_EVENTS, ORDERS_SOURCE

# Read by the orders operations view without consuming (`add_alarm_subscriptions`): never
# empty while its notifications are retained. Physical name `<stack>-alarms`.
ALARMS_QUEUE = "AlarmsQueue"
ALARMS_QUEUE_NAME = "alarms"
ORDER_EVENT_TYPES = [event.__name__ for event in ORDER_EVENTS]
# Sources of the services that reply on the bus (FraudCheckSkipped is written by a rule instead).
REPLY_SOURCES = sorted(set(contracts.REPLY_SOURCES.values()) - {ORDERS_SOURCE})


def add_messaging(builder: TemplateBuilder) -> None:
    """The KMS key, the order-events and ops-alerts topics, the bus and its archive."""
    add_encryption_key(builder)
    for topic, name in (("OrderEventsTopic", "order-events"), ("OpsAlertsTopic", "ops-alerts")):
        builder.add(
            topic,
            "AWS::SNS::Topic",
            {
                "TopicName": sub(f"${{AWS::StackName}}-{name}"),
                "KmsMasterKeyId": if_messaging_key(ref("MessagingKey"), "alias/aws/sns"),
            },
        )
    builder.add("EventBus", "AWS::Events::EventBus", {"Name": sub("${AWS::StackName}-orders")})
    builder.add(
        "EventArchive",
        "AWS::Events::Archive",
        {
            "ArchiveName": sub("${AWS::StackName}-orders"),
            "Description": "Every event on the orders bus, replayable",
            "SourceArn": get_att("EventBus", "Arn"),
            "RetentionDays": ref("ArchiveRetentionDays"),
        },
    )
    builder.output("OrderEventsTopicArn", ref("OrderEventsTopic"), "Topic of the order events")
    builder.output("AlertsTopicArn", ref("OpsAlertsTopic"), "Topic of the operations alarms")
    builder.output("EventBusName", ref("EventBus"), "The orders event bus")
    builder.output("EventBusArn", get_att("EventBus", "Arn"), "ARN of the orders event bus")
    builder.output("ArchiveName", ref("EventArchive"), "Archive of the orders bus")
    builder.output(
        "MessagingKeyArn",
        if_messaging_key(get_att("MessagingKey", "Arn"), "service-managed"),
        "Key of topics and queues",
    )


def add_encryption_key(builder: TemplateBuilder) -> None:
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
    builder.add(
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
                        "Condition": {"StringEquals": {"aws:SourceAccount": ref("AWS::AccountId")}},
                    },
                ],
            },
        },
        Condition="UseMessagingKey",
        UpdateReplacePolicy="Retain",
        DeletionPolicy="Delete",
    )


def add_email_identity(builder: TemplateBuilder) -> None:
    builder.add(
        "SenderIdentity",
        "AWS::SES::EmailIdentity",
        {"EmailIdentity": ref("SenderEmail")},
        Condition="StackOwnsSenderIdentity",
    )


def add_order_updates(builder: TemplateBuilder) -> None:
    """The queue of the orders service, fed by a rule with the replies of the other services,
    and the alarm on the events its read model sets aside."""
    builder.dead_letter_queue("OrderUpdatesDeadLetterQueue", "order-updates-dlq")
    builder.queue(
        "OrderUpdatesQueue", "order-updates", fifo=False, dlq="OrderUpdatesDeadLetterQueue"
    )
    # What the rules cannot deliver to the queue (both rules to it; the policy is in `fraud`).
    builder.dead_letter_queue("OrderUpdatesDeliveryDeadLetterQueue", "order-updates-delivery-dlq")
    builder.alarm(
        "ProjectionEventsSetAsideAlarm",
        "orders-projection-events-set-aside",
        "The orders read model set events aside: GET /api/ops/set-aside-events, fix the cause,"
        " run python -m services.orders rebuild-projections",
        namespace=METRICS_NAMESPACE,
        metric=PROJECTION_EVENTS_SET_ASIDE,
        dimensions=[SERVICE_DIMENSION],
        statistic="Sum",
    )
    builder.add(
        "OrderUpdatesRule",
        "AWS::Events::Rule",
        {
            "Name": sub("${AWS::StackName}-order-updates"),
            "Description": "Replies of inventory, payments and fraud to the orders service",
            "EventBusName": ref("EventBus"),
            "EventPattern": {"source": REPLY_SOURCES},
            "Targets": [
                builder.rule_target(
                    "order-updates",
                    get_att("OrderUpdatesQueue", "Arn"),
                    "OrderUpdatesDeliveryDeadLetterQueue",
                    InputPath="$.detail",
                )
            ],
        },
    )
    builder.output(
        "OrderUpdatesQueueUrl", ref("OrderUpdatesQueue"), "Replies to the orders service"
    )
    builder.output(
        "OrderUpdatesQueueArn", get_att("OrderUpdatesQueue", "Arn"), "ARN of order-updates"
    )
    builder.output("OrderUpdatesDlqUrl", ref("OrderUpdatesDeadLetterQueue"), "DLQ of order-updates")
    builder.output(
        "OrderUpdatesDeliveryDlqUrl",
        ref("OrderUpdatesDeliveryDeadLetterQueue"),
        "Events the rules could not deliver to order-updates",
    )


def add_alarm_subscriptions(builder: TemplateBuilder) -> None:
    """Who hears the alarms: the alarms queue, which the orders operations view reads without
    consuming (so it has no redrive policy: its readers' receives must not move what they
    read), and on AWS the `AlarmEmail` address when one is given."""
    delivery_dlq = builder.dead_letter_queue(
        "OpsAlertsDeliveryDeadLetterQueue", "ops-alerts-delivery-dlq"
    )
    builder.queue(ALARMS_QUEUE, ALARMS_QUEUE_NAME, fifo=False, dlq=None)
    builder.subscription(
        "AlarmsSubscription",
        "OpsAlertsTopic",
        "sqs",
        get_att(ALARMS_QUEUE, "Arn"),
        delivery_dlq,
        {"RawMessageDelivery": True},
    )
    builder.subscription(
        "AlarmEmailSubscription",
        "OpsAlertsTopic",
        "email",
        ref("AlarmEmail"),
        delivery_dlq,
        condition="MailsAlarms",
    )
    for queue in (ALARMS_QUEUE, delivery_dlq):
        builder.queue_policy(f"{queue}Policy", queue, "sns.amazonaws.com", [ref("OpsAlertsTopic")])
    builder.output("AlarmsQueueUrl", ref(ALARMS_QUEUE), "Alarm notifications, for operators")
    builder.output(
        "OpsAlertsDeliveryDlqUrl",
        ref(delivery_dlq),
        "Alarm notifications the ops-alerts topic could not deliver",
    )
