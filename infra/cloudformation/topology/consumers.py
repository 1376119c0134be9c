"""The SQS consumers: one `Consumer` entry each in `CONSUMERS`, from which its queue, dead-letter
queue, alarm, subscription, role, log group, function and event source mapping follow."""

from __future__ import annotations

from dataclasses import dataclass

from infra.cloudformation.topology.blocks import Json, get_att, if_messaging_key, pascal, ref, sub
from infra.cloudformation.topology.builder import TemplateBuilder
from infra.cloudformation.topology.messaging import ORDER_EVENT_TYPES
from shared.contracts import OrderCancelled, OrderConfirmed, OrderPlaced


@dataclass(frozen=True)
class Consumer:
    """A Lambda consuming an SQS queue of its own, with a dead-letter queue and an alarm."""

    service: str
    handler: str
    subscribed_types: list[str] | None = None  # SNS filter; None: not subscribed to the topic
    fifo: bool = False
    replies_on_bus: bool = False
    sends_email: bool = False


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


def add_consumer(builder: TemplateBuilder, consumer: Consumer) -> None:
    """Everything one `Consumer` entry stands for."""
    prefix = pascal(consumer.service)
    queue_id, dlq_id = f"{prefix}Queue", f"{prefix}DeadLetterQueue"
    builder.dead_letter_queue(dlq_id, f"{consumer.service}-dlq", fifo=consumer.fifo)
    builder.queue(queue_id, consumer.service, fifo=consumer.fifo, dlq=dlq_id)
    if consumer.subscribed_types is not None:
        # What SNS cannot deliver waits in the queue's own DLQ: SQS moves messages back only
        # from a queue that is some queue's DLQ, and this one is redriven into the queue anyway.
        builder.subscription(
            f"{prefix}Subscription",
            "OrderEventsTopic",
            "sqs",
            get_att(queue_id, "Arn"),
            dlq_id,
            {
                "RawMessageDelivery": True,
                "FilterPolicyScope": "MessageAttributes",
                "FilterPolicy": {"type": consumer.subscribed_types},
            },
        )
        for queue in (queue_id, dlq_id):
            builder.queue_policy(
                f"{queue}Policy", queue, "sns.amazonaws.com", [ref("OrderEventsTopic")]
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
    function = builder.function(
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
    builder.add(f"{prefix}EventSourceMapping", "AWS::Lambda::EventSourceMapping", mapping)
    builder.output(f"{prefix}QueueUrl", ref(queue_id), f"Queue of the {consumer.service} service")
    builder.output(
        f"{prefix}QueueArn", get_att(queue_id, "Arn"), f"ARN of the {consumer.service} queue"
    )
    builder.output(f"{prefix}DlqUrl", ref(dlq_id), f"Dead-letter queue of {consumer.service}")
