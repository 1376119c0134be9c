"""Deploy the whole stack from nothing to LocalStack and check its topology through the AWS APIs."""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from infra.cloudformation import operations
from infra.cloudformation.deploy import DeployResult, deploy, destroy, format_outputs
from infra.cloudformation.names import site_domain_name
from infra.cloudformation.operations import DEAD_LETTER_QUEUES, queue_depths
from infra.cloudformation.profiles import TEST_PROFILE
from infra.cloudformation.target import DeployError, Target
from infra.cloudformation.template import build_template
from infra.cloudformation.topology.blocks import pascal
from infra.cloudformation.topology.consumers import CONSUMERS
from infra.cloudformation.topology.messaging import ORDER_EVENT_TYPES
from infra.cloudformation.topology.site import (
    ALL_VIEWER_EXCEPT_HOST_HEADER,
    CACHING_DISABLED,
    CACHING_OPTIMIZED,
    CLOUDFRONT_ALIAS_ZONE_ID,
)
from services.fraud.public import FraudPolicy
from shared.envelope import Envelope, parse_envelope
from shared.function_url import CREDENTIAL_HEADER
from shared.tests.operators import parameter_store_operators

pytestmark = [
    pytest.mark.integration,
    pytest.mark.emulator_only,
    pytest.mark.xdist_group("topology"),  # one stack for the module, not one per worker
]

# The target is 30 s (`make bench` reports the figure); on a loaded two-core machine a deploy
# from nothing takes 14-40 s, so the test fails only at twice the target.
DEPLOY_TARGET_SECONDS = 30
DEPLOY_LIMIT_SECONDS = 2 * DEPLOY_TARGET_SECONDS
ORDERS_API_PORT = 8123
PARAMETERS = build_template()["Parameters"]
POLICY = FraudPolicy(
    int(PARAMETERS["FraudThresholdMinorUnits"]["Default"]),
    tuple(PARAMETERS["FraudAllowedCountries"]["Default"].split(",")),
)


@dataclass(frozen=True)
class Deployed:
    target: Target
    first: DeployResult
    second: DeployResult

    @property
    def outputs(self) -> dict[str, str]:
        return self.first.outputs


@pytest.fixture(scope="module")
def stack(localstack: Any) -> Iterator[Deployed]:
    """One uniquely named stack, deployed from nothing then again, destroyed at the end."""
    target = Target(
        stack_name=f"topo-{uuid.uuid4().hex[:8]}",
        region=os.environ["AWS_DEFAULT_REGION"],
        endpoint_url=os.environ["AWS_ENDPOINT_URL"],
    )
    try:
        first = deploy(target, "test", orders_api_port=ORDERS_API_PORT)
        print(f"\ndeploy of {target.stack_name} from nothing: {first.seconds:.1f} s")
        second = deploy(target, "test", orders_api_port=ORDERS_API_PORT)
        print(f"second deploy: {second.stack_change} in {second.seconds:.1f} s")
        yield Deployed(target, first, second)
    finally:
        destroy(target)


def client(stack: Deployed, service: str) -> Any:
    return stack.target.client(service)


def queue_attributes(stack: Deployed, output: str) -> dict[str, str]:
    attributes: dict[str, str] = client(stack, "sqs").get_queue_attributes(
        QueueUrl=stack.outputs[output], AttributeNames=["All"]
    )["Attributes"]
    return attributes


def receive_one(stack: Deployed, output: str, timeout: float = 10) -> dict[str, Any]:
    sqs = client(stack, "sqs")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        messages = sqs.receive_message(
            QueueUrl=stack.outputs[output], MaxNumberOfMessages=1, WaitTimeSeconds=1
        ).get("Messages", [])
        if messages:
            sqs.delete_message(
                QueueUrl=stack.outputs[output], ReceiptHandle=messages[0]["ReceiptHandle"]
            )
            message: dict[str, Any] = messages[0]
            return message
    raise AssertionError(f"nothing arrived on {output} in {timeout} s")


def order_placed(total: int, country: str) -> Envelope:
    order_id = f"ord-{uuid.uuid4().hex[:10]}"
    return Envelope(
        type="OrderPlaced",
        correlation_id=order_id,
        payload={
            "order_id": order_id,
            "customer_email": "ada@example.com",
            "shipping_country": country,
            "lines": [
                {"sku": "TEA-1", "quantity": 1, "unit_price": {"amount": total, "currency": "EUR"}}
            ],
            "total": {"amount": total, "currency": "EUR"},
        },
    )


def bus_event(envelope: Envelope, source: str = "shop.orders") -> dict[str, Any]:
    """The event EventBridge builds around a PutEvents entry, for TestEventPattern."""
    return {
        "id": str(uuid.uuid4()),
        "detail-type": envelope.type,
        "source": source,
        "account": "000000000000",
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": "us-east-1",
        "resources": [],
        "detail": json.loads(envelope.to_json()),
    }


def test_deploy_from_nothing_is_fast_and_a_second_deploy_changes_nothing(stack: Deployed) -> None:
    assert stack.first.stack_change == "created"
    assert stack.first.seconds <= DEPLOY_LIMIT_SECONDS, f"{stack.first.seconds:.1f} s"
    assert stack.second.stack_change == "unchanged"
    assert stack.second.uploaded_frontend_files == 0
    assert stack.second.seconds < 10, f"{stack.second.seconds:.1f} s"
    assert stack.second.outputs == stack.first.outputs


def test_a_changed_fraud_policy_updates_both_rules_in_place(stack: Deployed) -> None:
    events = client(stack, "events")
    bus = stack.outputs["EventBusName"]
    changed = FraudPolicy(1234, POLICY.allowed_countries)
    try:
        result = deploy(stack.target, "test", {"FraudThresholdMinorUnits": "1234"}, ORDERS_API_PORT)
        assert result.stack_change == "updated"
        for output, pattern in (
            ("FraudScreeningRuleName", changed.screening()),
            ("FraudFastPassRuleName", changed.fast_pass()),
        ):
            rule = events.describe_rule(Name=stack.outputs[output], EventBusName=bus)
            assert json.loads(rule["EventPattern"]) == pattern
    finally:
        deploy(stack.target, "test", orders_api_port=ORDERS_API_PORT)
    rule = events.describe_rule(Name=stack.outputs["FraudScreeningRuleName"], EventBusName=bus)
    assert json.loads(rule["EventPattern"]) == POLICY.screening()


def test_a_change_the_emulator_would_skip_is_refused_not_reported_done(stack: Deployed) -> None:
    """LocalStack 4.13.1 keeps a CloudWatch alarm as it was when asked to modify it."""
    with pytest.raises(DeployError, match=r"cannot update \w+ \(AWS::CloudWatch::Alarm\)"):
        deploy(stack.target, "test", {"AlarmPeriodSeconds": "30"}, ORDERS_API_PORT)


def test_outputs_give_the_orders_service_its_settings(stack: Deployed) -> None:
    lines = format_outputs(stack.outputs, "env").splitlines()
    settings = dict(line.split("=", 1) for line in lines)
    assert settings == {
        "ORDERS_TOPIC_ARN": stack.outputs["OrderEventsTopicArn"],
        "ORDERS_PAYMENTS_QUEUE_URL": stack.outputs["PaymentsQueueUrl"],
        "ORDERS_EVENT_BUS_NAME": f"{stack.target.stack_name}-orders",
        "ORDERS_UPDATES_QUEUE_URL": stack.outputs["OrderUpdatesQueueUrl"],
        "OPERATORS_PATH": f"/{stack.target.stack_name}/operators",
    }


def test_topic_subscriptions_filter_on_the_event_type_with_raw_delivery(stack: Deployed) -> None:
    sns = client(stack, "sns")
    subscriptions = sns.list_subscriptions_by_topic(TopicArn=stack.outputs["OrderEventsTopicArn"])
    by_queue = {}
    for subscription in subscriptions["Subscriptions"]:
        attributes = sns.get_subscription_attributes(
            SubscriptionArn=subscription["SubscriptionArn"]
        )["Attributes"]
        assert attributes["RawMessageDelivery"] == "true"
        assert attributes.get("FilterPolicyScope", "MessageAttributes") == "MessageAttributes"
        by_queue[subscription["Endpoint"]] = json.loads(attributes["FilterPolicy"])
    assert by_queue == {
        stack.outputs[f"{pascal(consumer.service)}QueueArn"]: {"type": consumer.subscribed_types}
        for consumer in CONSUMERS
        if consumer.subscribed_types is not None
    }
    assert by_queue[stack.outputs["InventoryQueueArn"]] == {
        "type": ["OrderPlaced", "OrderCancelled"]
    }
    assert by_queue[stack.outputs["EmailQueueArn"]] == {
        "type": ["OrderPlaced", "OrderConfirmed", "OrderCancelled"]
    }
    assert by_queue[stack.outputs["AnalyticsQueueArn"]] == {"type": ORDER_EVENT_TYPES}


def test_every_queue_redrives_to_its_dead_letter_queue(stack: Deployed) -> None:
    for name in (*(pascal(consumer.service) for consumer in CONSUMERS), "OrderUpdates"):
        attributes = queue_attributes(stack, f"{name}QueueUrl")
        dlq = queue_attributes(stack, f"{name}DlqUrl")
        redrive = json.loads(attributes["RedrivePolicy"])
        assert redrive["deadLetterTargetArn"] == dlq["QueueArn"], name
        assert int(redrive["maxReceiveCount"]) == int(TEST_PROFILE["MaxReceiveCount"])
        assert attributes["VisibilityTimeout"] == TEST_PROFILE["QueueVisibilityTimeoutSeconds"]


def test_source_queues_long_poll_and_every_queue_keeps_messages_as_stated(
    stack: Deployed,
) -> None:
    dead_letter_outputs = [output for output in stack.outputs if output.endswith("DlqUrl")]
    source_outputs = [
        output
        for output in stack.outputs
        if output.endswith("QueueUrl") and not output.endswith("DlqUrl")
    ]
    assert dead_letter_outputs and "AlarmsQueueUrl" in source_outputs
    for output in source_outputs:
        attributes = queue_attributes(stack, output)
        wait = attributes["ReceiveMessageWaitTimeSeconds"]
        assert wait == TEST_PROFILE["QueueReceiveWaitSeconds"], output
        retention = PARAMETERS["QueueRetentionSeconds"]["Default"]
        assert attributes["MessageRetentionPeriod"] == str(retention), output
    for output in dead_letter_outputs:
        retention = queue_attributes(stack, output)["MessageRetentionPeriod"]
        assert retention == str(14 * 24 * 3600), output


def test_every_rule_target_retries_then_dead_letters(stack: Deployed) -> None:
    events = client(stack, "events")
    bus = stack.outputs["EventBusName"]
    # the stack's own rules (the archive's managed rule, `Events-Archive-...`, has no targets
    # to configure)
    rules = [
        rule
        for rule in events.list_rules(EventBusName=bus)["Rules"]
        if rule["Name"].startswith(f"{stack.target.stack_name}-")
    ]
    assert {rule["Name"] for rule in rules} == {
        stack.outputs[output]
        for output in ("FraudScreeningRuleName", "FraudFastPassRuleName", "OrderUpdatesRuleName")
    }
    dead_letter_arns = {
        queue_attributes(stack, output)["QueueArn"]
        for output in stack.outputs
        if output.endswith("DlqUrl")
    }
    for rule in rules:
        for target in events.list_targets_by_rule(Rule=rule["Name"], EventBusName=bus)["Targets"]:
            assert target["RetryPolicy"] == {
                "MaximumRetryAttempts": int(TEST_PROFILE["RuleTargetMaximumRetryAttempts"]),
                "MaximumEventAgeInSeconds": int(TEST_PROFILE["RuleTargetMaximumEventAgeSeconds"]),
            }, rule["Name"]
            assert target["DeadLetterConfig"]["Arn"] in dead_letter_arns, rule["Name"]


def test_every_subscription_redrives_to_a_dead_letter_queue(stack: Deployed) -> None:
    sns = client(stack, "sns")
    dead_letter_arns = {
        queue_attributes(stack, output)["QueueArn"]
        for output in stack.outputs
        if output.endswith("DlqUrl")
    }
    endpoints = set()
    for topic in ("OrderEventsTopicArn", "AlertsTopicArn"):
        subscriptions = sns.list_subscriptions_by_topic(TopicArn=stack.outputs[topic])
        for subscription in subscriptions["Subscriptions"]:
            attributes = sns.get_subscription_attributes(
                SubscriptionArn=subscription["SubscriptionArn"]
            )["Attributes"]
            redrive = json.loads(attributes["RedrivePolicy"])
            assert redrive["deadLetterTargetArn"] in dead_letter_arns, subscription["Endpoint"]
            endpoints.add(subscription["Endpoint"])
    alarms_queue = queue_attributes(stack, "AlarmsQueueUrl")["QueueArn"]
    assert alarms_queue in endpoints  # and no e-mail subscription on the emulator
    assert len(endpoints) == 1 + sum(1 for c in CONSUMERS if c.subscribed_types is not None)


def test_an_undeliverable_notification_lands_in_the_subscription_dlq_and_alarms_operators(
    stack: Deployed,
) -> None:
    """LocalStack honours the stack's subscription redrive policy: a subscription like the
    inventory one whose queue is gone sends the message to the inventory DLQ, whose alarm then
    reaches the alarms queue, and `deploy redrive` moves it into the inventory queue."""
    sns, sqs = client(stack, "sns"), client(stack, "sqs")
    topic = stack.outputs["OrderEventsTopicArn"]
    inventory = next(
        s
        for s in sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
        if s["Endpoint"] == stack.outputs["InventoryQueueArn"]
    )
    redrive = sns.get_subscription_attributes(SubscriptionArn=inventory["SubscriptionArn"])[
        "Attributes"
    ]["RedrivePolicy"]
    probe_type = f"RedriveProbe{uuid.uuid4().hex[:8]}"  # no consumer subscribes to it
    gone = sqs.create_queue(QueueName=f"{stack.target.stack_name}-gone-{uuid.uuid4().hex[:6]}")
    gone_arn = sqs.get_queue_attributes(QueueUrl=gone["QueueUrl"], AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    subscription = sns.subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=gone_arn,
        Attributes={
            "RawMessageDelivery": "true",
            "FilterPolicy": json.dumps({"type": [probe_type]}),
            "RedrivePolicy": redrive,
        },
        ReturnSubscriptionArn=True,
    )["SubscriptionArn"]
    sqs.delete_queue(QueueUrl=gone["QueueUrl"])
    try:
        sns.publish(
            TopicArn=topic,
            Message=json.dumps({"probe": probe_type}),
            MessageAttributes={"type": {"DataType": "String", "StringValue": probe_type}},
        )
        alarm_name = f"{stack.target.stack_name}-InventoryDeadLetterQueue-not-empty"
        wait_for_alarm_notification(stack, alarm_name, "ALARM", timeout=60)
    finally:
        sns.unsubscribe(SubscriptionArn=subscription)
    # `deploy redrive --queue inventory` moves it, raw, into the inventory queue (whose function
    # is paused meanwhile, so that the test, not the function, receives it)
    with paused_event_source_mapping(stack, "InventoryFunctionName"):
        outcome = operations.redrive(stack.target, "inventory")
        assert "COMPLETED, 1 message(s) moved" in outcome
        moved = receive_one(stack, "InventoryQueueUrl")
    assert json.loads(moved["Body"]) == {"probe": probe_type}


def test_undelivered_alarm_notifications_are_redriven_to_the_alarms_queue(stack: Deployed) -> None:
    """No queue names the ops-alerts delivery DLQ in its redrive policy, so SQS would refuse a
    move task from it: the command copies its messages into the alarms queue instead."""
    sqs = client(stack, "sqs")
    alarm_name = f"{stack.target.stack_name}-undelivered-{uuid.uuid4().hex[:6]}"
    notification = {"AlarmName": alarm_name, "NewStateValue": "ALARM"}
    sqs.send_message(
        QueueUrl=stack.outputs["OpsAlertsDeliveryDlqUrl"], MessageBody=json.dumps(notification)
    )

    outcome = operations.redrive(stack.target, "ops-alerts-delivery")

    assert outcome == "redrive of ops-alerts-delivery: 1 message(s) copied and deleted"
    wait_for_alarm_notification(stack, alarm_name, "ALARM", timeout=10)
    depth = queue_attributes(stack, "OpsAlertsDeliveryDlqUrl")["ApproximateNumberOfMessages"]
    assert depth == "0"


@contextmanager
def paused_event_source_mapping(stack: Deployed, function_output: str) -> Iterator[None]:
    lambda_ = client(stack, "lambda")
    (mapping,) = lambda_.list_event_source_mappings(FunctionName=stack.outputs[function_output])[
        "EventSourceMappings"
    ]

    def switch(enabled: bool, state: str) -> None:
        lambda_.update_event_source_mapping(UUID=mapping["UUID"], Enabled=enabled)
        deadline = time.monotonic() + 30
        while lambda_.get_event_source_mapping(UUID=mapping["UUID"])["State"] != state:
            assert time.monotonic() < deadline, f"the mapping did not become {state} in 30 s"
            time.sleep(0.2)

    switch(False, "Disabled")
    try:
        yield
    finally:
        switch(True, "Enabled")


def wait_for_alarm_notification(
    stack: Deployed, alarm_name: str, state: str, timeout: float
) -> None:
    """Wait for a notification that `alarm_name` went to `state` on the alarms queue (the
    notifications read are hidden for the rest of the module: no other test reads them)."""
    sqs = client(stack, "sqs")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        messages = sqs.receive_message(
            QueueUrl=stack.outputs["AlarmsQueueUrl"],
            MaxNumberOfMessages=10,
            VisibilityTimeout=600,
            WaitTimeSeconds=1,
        ).get("Messages", [])
        for message in messages:
            notification = json.loads(message["Body"])
            if (notification["AlarmName"], notification["NewStateValue"]) == (alarm_name, state):
                return
    raise AssertionError(f"no {state} of {alarm_name} on the alarms queue in {timeout} s")


def test_payments_queue_and_its_dlq_are_fifo(stack: Deployed) -> None:
    queue = queue_attributes(stack, "PaymentsQueueUrl")
    dlq = queue_attributes(stack, "PaymentsDlqUrl")
    assert queue["FifoQueue"] == "true" and dlq["FifoQueue"] == "true"
    assert queue["ContentBasedDeduplication"] == "false"
    assert stack.outputs["PaymentsQueueUrl"].endswith(f"{stack.target.stack_name}-payments.fifo")


def test_every_consumer_reports_batch_item_failures(stack: Deployed) -> None:
    lambda_ = client(stack, "lambda")
    for name in ("Inventory", "Email", "Analytics", "Payments"):
        (mapping,) = lambda_.list_event_source_mappings(
            FunctionName=stack.outputs[f"{name}FunctionName"]
        )["EventSourceMappings"]
        assert mapping["EventSourceArn"] == stack.outputs[f"{name}QueueArn"]
        assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        assert mapping["ScalingConfig"] == {
            "MaximumConcurrency": int(TEST_PROFILE["MaximumConcurrency"])
        }


def test_functions_have_their_handlers_and_configuration(stack: Deployed) -> None:
    lambda_ = client(stack, "lambda")
    handlers = {
        "Inventory": "services.inventory.handler.handler",
        "InventoryCatalogue": "services.inventory.http.handler",
        "Email": "services.email.handler.handler",
        "Analytics": "services.analytics.handler.handler",
        "AnalyticsDashboard": "services.analytics.http.handler",
        "Payments": "services.payments.handler.handler",
        "Fraud": "services.fraud.handler.handler",
    }
    for name, handler in handlers.items():
        configuration = lambda_.get_function_configuration(
            FunctionName=stack.outputs[f"{name}FunctionName"]
        )
        assert configuration["Handler"] == handler and configuration["Runtime"] == "python3.11"
        variables = configuration["Environment"]["Variables"]
        assert variables["EVENT_BUS_NAME"] == stack.outputs["EventBusName"]
        assert variables["DATABASE_URL"].startswith("sqlite:///")
        assert variables["POWERTOOLS_TRACE_DISABLED"] == "true"
    for name in ("InventoryCatalogue", "AnalyticsDashboard"):
        url = lambda_.get_function_url_config(FunctionName=stack.outputs[f"{name}FunctionName"])
        assert url["AuthType"] == "AWS_IAM"
        assert url["FunctionUrl"] == stack.outputs[f"{name}FunctionUrl"]


@pytest.mark.parametrize(
    ("total", "country", "risky"),
    [
        (1_000, "DE", False),
        (POLICY.threshold_minor_units - 1, "FR", False),
        (POLICY.threshold_minor_units, "FR", True),
        (1_000, "US", True),
        (900_000, "BR", True),
    ],
)
def test_each_order_matches_exactly_one_fraud_rule(
    stack: Deployed, total: int, country: str, risky: bool
) -> None:
    events = client(stack, "events")
    event = json.dumps(bus_event(order_placed(total, country)))
    matches = {}
    for output in ("FraudScreeningRuleName", "FraudFastPassRuleName"):
        rule = events.describe_rule(
            Name=stack.outputs[output], EventBusName=stack.outputs["EventBusName"]
        )
        matches[output] = events.test_event_pattern(EventPattern=rule["EventPattern"], Event=event)[
            "Result"
        ]
    assert matches == {"FraudScreeningRuleName": risky, "FraudFastPassRuleName": not risky}


def test_fraud_rules_are_the_patterns_of_the_policy_and_target_as_designed(
    stack: Deployed,
) -> None:
    events = client(stack, "events")
    bus = stack.outputs["EventBusName"]
    screening = events.describe_rule(Name=stack.outputs["FraudScreeningRuleName"], EventBusName=bus)
    fast_pass = events.describe_rule(Name=stack.outputs["FraudFastPassRuleName"], EventBusName=bus)
    assert json.loads(screening["EventPattern"]) == POLICY.screening()
    assert json.loads(fast_pass["EventPattern"]) == POLICY.fast_pass()

    (fraud_target,) = events.list_targets_by_rule(Rule=screening["Name"], EventBusName=bus)[
        "Targets"
    ]
    assert fraud_target["Arn"].endswith(f":function:{stack.outputs['FraudFunctionName']}")
    assert fraud_target["RetryPolicy"]["MaximumRetryAttempts"] == 0
    assert fraud_target["DeadLetterConfig"]["Arn"].endswith(f"{stack.target.stack_name}-fraud-dlq")
    invoke_config = client(stack, "lambda").get_function_event_invoke_config(
        FunctionName=stack.outputs["FraudFunctionName"]
    )
    assert invoke_config["MaximumRetryAttempts"] == 0

    (skip_target,) = events.list_targets_by_rule(Rule=fast_pass["Name"], EventBusName=bus)[
        "Targets"
    ]
    assert skip_target["Arn"] == stack.outputs["OrderUpdatesQueueArn"]
    assert "FraudCheckSkipped" in skip_target["InputTransformer"]["InputTemplate"]


def test_a_low_risk_order_gets_a_fraud_check_skipped_envelope(stack: Deployed) -> None:
    placed = order_placed(1_000, "NL")
    events = client(stack, "events")
    response = events.put_events(
        Entries=[
            {
                "EventBusName": stack.outputs["EventBusName"],
                "Source": "shop.orders",
                "DetailType": placed.type,
                "Detail": placed.to_json(),
            }
        ]
    )
    assert response["FailedEntryCount"] == 0
    verdict = parse_envelope(receive_one(stack, "OrderUpdatesQueueUrl")["Body"])
    assert verdict.type == "FraudCheckSkipped" and verdict.version == 1
    assert verdict.correlation_id == placed.correlation_id
    assert verdict.causation_id == placed.event_id
    assert verdict.payload == {"order_id": placed.correlation_id}
    assert str(verdict.event_id) == response["Entries"][0]["EventId"]


def test_replies_on_the_bus_arrive_as_envelopes_on_order_updates(stack: Deployed) -> None:
    reply = order_placed(1_000, "DE").caused("InventoryReserved", {"order_id": "o-1"})
    client(stack, "events").put_events(
        Entries=[
            {
                "EventBusName": stack.outputs["EventBusName"],
                "Source": "shop.inventory",
                "DetailType": reply.type,
                "Detail": reply.to_json(),
            }
        ]
    )
    assert parse_envelope(receive_one(stack, "OrderUpdatesQueueUrl")["Body"]) == reply


def test_distribution_serves_the_bucket_and_routes_api_paths(stack: Deployed) -> None:
    config = client(stack, "cloudfront").get_distribution_config(
        Id=stack.outputs["DistributionId"]
    )["DistributionConfig"]
    assert config["DefaultRootObject"] == "index.html"
    assert config["Aliases"]["Items"] == [site_domain_name(stack.target.stack_name)]
    errors = {e["ErrorCode"]: e for e in config["CustomErrorResponses"]["Items"]}
    assert set(errors) == {403}, "an API's 404 must reach the client"
    assert all(
        str(e["ResponseCode"]) == "200" and e["ResponsePagePath"] == "/index.html"
        for e in errors.values()
    )

    origins = {origin["Id"]: origin for origin in config["Origins"]["Items"]}
    assert set(origins) == {"frontend", "inventory-catalogue", "analytics-dashboard", "orders-api"}
    assert origins["frontend"]["DomainName"].startswith(stack.outputs["FrontendBucketName"])
    assert origins["frontend"]["OriginAccessControlId"]
    for origin_id, output in (
        ("inventory-catalogue", "InventoryCatalogueFunctionUrl"),
        ("analytics-dashboard", "AnalyticsDashboardFunctionUrl"),
    ):
        assert origins[origin_id]["DomainName"] == stack.outputs[output].split("/")[2]
        assert origins[origin_id]["OriginAccessControlId"]
    api = origins["orders-api"]
    assert api["DomainName"] == "127.0.0.1"
    assert api["CustomOriginConfig"]["HTTPPort"] == ORDERS_API_PORT
    assert api["CustomOriginConfig"]["OriginProtocolPolicy"] == "http-only"

    default = config["DefaultCacheBehavior"]
    assert default["TargetOriginId"] == "frontend" and default["CachePolicyId"] == CACHING_OPTIMIZED
    behaviours = [
        (b["PathPattern"], b["TargetOriginId"], b["CachePolicyId"], b["OriginRequestPolicyId"])
        for b in config["CacheBehaviors"]["Items"]
    ]
    api_policies = (CACHING_DISABLED, ALL_VIEWER_EXCEPT_HOST_HEADER)
    assert behaviours == [
        ("/api/catalogue*", "inventory-catalogue", *api_policies),
        ("/api/analytics*", "analytics-dashboard", *api_policies),
        ("/api/*", "orders-api", *api_policies),
    ]
    methods = [b["AllowedMethods"]["Quantity"] for b in config["CacheBehaviors"]["Items"]]
    assert methods == [2, 2, 7], "the readers take GET and HEAD only"


def get_through_the_site(
    stack: Deployed, path: str, headers: dict[str, str] | None = None
) -> tuple[int, str, bytes]:
    """GET through the gateway with the site's Host header (Python cannot resolve *.localhost)."""
    request = urllib.request.Request(
        f"{stack.target.endpoint_url}{path}",
        headers={"Host": site_domain_name(stack.target.stack_name), **(headers or {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # nosec B310  # emulator URL
            return response.status, response.headers["Content-Type"], response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read()


def test_the_site_name_serves_the_frontend_and_the_function_url_origins(stack: Deployed) -> None:
    status, content_type, body = get_through_the_site(stack, "/")
    assert (status, content_type) == (200, "text/html; charset=utf-8")
    assert get_through_the_site(stack, "/orders/some-client-side-route")[2] == body
    status, content_type, _ = get_through_the_site(stack, "/api/catalogue")
    assert (status, content_type) == (200, "application/json")
    status, content_type, _ = get_through_the_site(stack, "/api/analytics")
    assert (status, content_type) == (401, "application/json"), "for operators only"
    with parameter_store_operators(client(stack, "ssm"), stack.outputs["OperatorsPath"]) as ops:
        operator = {CREDENTIAL_HEADER: f"Bearer {ops.add('topology')}"}
        status, content_type, _ = get_through_the_site(stack, "/api/analytics", operator)
    assert (status, content_type) == (200, "application/json"), "the edge forwards credentials"


def test_frontend_bucket_is_private_encrypted_and_read_through_the_distribution(
    stack: Deployed,
) -> None:
    s3 = client(stack, "s3")
    bucket = stack.outputs["FrontendBucketName"]
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert set(block.values()) == {True}
    (rule,) = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    policy = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
    (allow,) = [s for s in policy["Statement"] if s["Effect"] == "Allow"]
    assert allow["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    source = allow["Condition"]["StringEquals"]["AWS:SourceArn"]
    assert source.endswith(f":distribution/{stack.outputs['DistributionId']}")


def test_site_name_is_an_alias_of_the_distribution(stack: Deployed) -> None:
    records = client(stack, "route53").list_resource_record_sets(
        HostedZoneId=stack.outputs["HostedZoneId"]
    )["ResourceRecordSets"]
    aliases = {r["Type"]: r for r in records if "AliasTarget" in r}
    assert set(aliases) == {"A", "AAAA"}
    for record in aliases.values():
        assert record["Name"].rstrip(".") == site_domain_name(stack.target.stack_name)
        assert (
            record["AliasTarget"]["DNSName"].rstrip(".")
            == (stack.outputs["DistributionDomainName"])
        )
        assert record["AliasTarget"]["HostedZoneId"] == CLOUDFRONT_ALIAS_ZONE_ID


def test_every_dead_letter_queue_has_an_alarm_to_ops_alerts(stack: Deployed) -> None:
    every_alarm = client(stack, "cloudwatch").describe_alarms(
        AlarmNamePrefix=f"{stack.target.stack_name}-"
    )["MetricAlarms"]
    alarms = [alarm for alarm in every_alarm if alarm["Namespace"] == "AWS/SQS"]
    shop = {alarm["MetricName"]: alarm for alarm in every_alarm if alarm["Namespace"] == "Shop"}
    assert set(shop) == {"ProjectionEventsSetAside", "OutboxRecordsParked"}
    for alarm in shop.values():
        assert alarm["Dimensions"] == [{"Name": "service", "Value": "orders"}]
        assert alarm["AlarmActions"] == [stack.outputs["AlertsTopicArn"]]
    watched = {dimension["Value"] for alarm in alarms for dimension in alarm["Dimensions"]}
    dlqs = {url.rsplit("/", 1)[1] for key, url in stack.outputs.items() if key.endswith("DlqUrl")}
    assert len(dlqs) == len(DEAD_LETTER_QUEUES)
    assert watched == dlqs
    for alarm in alarms:
        assert alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
        assert alarm["Period"] == int(TEST_PROFILE["AlarmPeriodSeconds"])
        assert alarm["AlarmActions"] == [stack.outputs["AlertsTopicArn"]]


def test_the_bus_is_archived(stack: Deployed) -> None:
    archive = client(stack, "events").describe_archive(ArchiveName=stack.outputs["ArchiveName"])
    assert archive["EventSourceArn"] == stack.outputs["EventBusArn"]
    assert archive["RetentionDays"] == int(TEST_PROFILE["ArchiveRetentionDays"])


def test_dlq_command_lists_every_queue(stack: Deployed) -> None:
    rows = queue_depths(stack.target)
    names = {name for name, _, _ in rows}
    outputs = {output for pair in DEAD_LETTER_QUEUES.values() for output in pair if output}
    assert names == {stack.outputs[output].rsplit("/", 1)[1] for output in outputs}
    assert all(name.startswith(stack.target.stack_name) for name in names)
