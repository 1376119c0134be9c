"""Fixtures of the relay tests: a broker of the test's own on LocalStack, and the outbox."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import Engine

from services.orders.adapters.outbox import SqlOutbox
from services.orders.tests.integration.relay.broker import Broker
from shared.tests.queues import arn_of


@pytest.fixture
def outbox(engine: Engine) -> SqlOutbox:
    return SqlOutbox(engine)


@pytest.fixture
def broker(localstack: Any, queues: Callable[..., str], unique_name: str) -> Iterator[Broker]:
    sqs, sns, events = (
        localstack.client("sqs"),
        localstack.client("sns"),
        localstack.client("events"),
    )
    topic_arn = sns.create_topic(Name=f"{unique_name}-events")["TopicArn"]
    topic_capture = queues(f"{unique_name}-topic-capture")
    subscription = sns.subscribe(
        TopicArn=topic_arn,
        Protocol="sqs",
        Endpoint=arn_of(sqs, topic_capture),
        Attributes={"RawMessageDelivery": "true"},
        ReturnSubscriptionArn=True,
    )["SubscriptionArn"]
    fifo_url = queues(
        f"{unique_name}-payments.fifo", FifoQueue="true", ContentBasedDeduplication="false"
    )
    bus_name = f"{unique_name}-bus"
    events.create_event_bus(Name=bus_name)
    bus_capture = queues(f"{unique_name}-bus-capture")
    rule = f"{unique_name}-all"
    events.put_rule(
        Name=rule, EventBusName=bus_name, EventPattern=json.dumps({"source": ["shop.orders"]})
    )
    events.put_targets(
        Rule=rule,
        EventBusName=bus_name,
        Targets=[{"Id": "capture", "Arn": arn_of(sqs, bus_capture)}],
    )
    try:
        yield Broker(
            sqs=sqs,
            topic_arn=topic_arn,
            topic_capture=topic_capture,
            fifo_url=fifo_url,
            bus_name=bus_name,
            bus_capture=bus_capture,
            endpoint=os.environ["AWS_ENDPOINT_URL"],
        )
    finally:
        events.remove_targets(Rule=rule, EventBusName=bus_name, Ids=["capture"])
        events.delete_rule(Name=rule, EventBusName=bus_name)
        events.delete_event_bus(Name=bus_name)
        sns.unsubscribe(SubscriptionArn=subscription)
        sns.delete_topic(TopicArn=topic_arn)
