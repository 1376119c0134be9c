"""The fixes of `shop_localstack_ext.patches` and `shop_localstack_ext.cfn.ses`, on LocalStack.

Each test fails on an unpatched LocalStack 4.13.1: CreateKey answers 500 on Python 3.11, an
`AWS::SES::EmailIdentity` stack fails to create, StartReplay answers 500 once the archive holds
an event. The JSONPath cache changes speed, not answers (the bench shows its gain): its test
checks that every event still gets its own values through the cached paths.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from shared.tests.cloudformation import failures, outputs, settle
from shared.tests.lambda_zip import zip_of
from shared.tests.queues import arn_of, receive_bodies

pytestmark = pytest.mark.integration


def nothing_more_arrives(sqs: Any, queue_url: str, seconds: float = 2) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        messages = sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=1).get("Messages", [])
        assert not messages, [m["Body"] for m in messages]


@pytest.fixture
def kms_key(localstack: Any, unique_name: str) -> Iterator[str]:
    kms = localstack.client("kms")
    key_id: str = kms.create_key(Description=unique_name)["KeyMetadata"]["KeyId"]
    yield key_id
    kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)


def test_create_key_works_and_sns_delivers_to_a_kms_encrypted_queue(
    localstack: Any, unique_name: str, kms_key: str, queues: Callable[..., str]
) -> None:
    kms, sns, sqs = (localstack.client(name) for name in ("kms", "sns", "sqs"))
    metadata = kms.describe_key(KeyId=kms_key)["KeyMetadata"]
    assert metadata["KeyState"] == "Enabled"
    assert len(metadata["CurrentKeyMaterialId"]) == 64
    ciphertext = kms.encrypt(KeyId=kms_key, Plaintext=b"order")["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=ciphertext)["Plaintext"] == b"order"

    queue_url = queues(unique_name, KmsMasterKeyId=kms_key)
    topic_arn = sns.create_topic(Name=unique_name, Attributes={"KmsMasterKeyId": kms_key})[
        "TopicArn"
    ]
    try:
        assert sns.get_topic_attributes(TopicArn=topic_arn)["Attributes"]["KmsMasterKeyId"] == (
            kms_key
        )
        sns.subscribe(
            TopicArn=topic_arn,
            Protocol="sqs",
            Endpoint=arn_of(sqs, queue_url),
            Attributes={"RawMessageDelivery": "true"},
        )
        sns.publish(TopicArn=topic_arn, Message='{"type": "OrderPlaced"}')
        assert receive_bodies(sqs, queue_url, 1) == ['{"type": "OrderPlaced"}']
    finally:
        sns.delete_topic(TopicArn=topic_arn)


def email_identity_template(address: str, domain: str) -> dict[str, Any]:
    return {
        "Resources": {
            "Sender": {"Type": "AWS::SES::EmailIdentity", "Properties": {"EmailIdentity": address}},
            "Domain": {"Type": "AWS::SES::EmailIdentity", "Properties": {"EmailIdentity": domain}},
        },
        "Outputs": {
            "SenderRef": {"Value": {"Ref": "Sender"}},
            "DomainRef": {"Value": {"Ref": "Domain"}},
            "DkimName": {"Value": {"Fn::GetAtt": ["Domain", "DkimDNSTokenName1"]}},
            "DkimValue": {"Value": {"Fn::GetAtt": ["Domain", "DkimDNSTokenValue1"]}},
        },
    }


def test_an_email_identity_stack_verifies_its_identities_and_deletes_them(
    localstack: Any, unique_name: str
) -> None:
    cloudformation, ses = localstack.client("cloudformation"), localstack.client("ses")
    address, domain = f"orders@{unique_name}.example", f"{unique_name}.example"
    body = json.dumps(email_identity_template(address, domain))
    stack_id = cloudformation.create_stack(StackName=unique_name, TemplateBody=body)["StackId"]
    try:
        created = settle(cloudformation, stack_id)
        assert created["StackStatus"] == "CREATE_COMPLETE", failures(cloudformation, stack_id)
        stack_outputs = outputs(created)
        assert stack_outputs["SenderRef"] == address
        assert stack_outputs["DomainRef"] == domain
        assert stack_outputs["DkimName"].endswith(f"._domainkey.{domain}")
        assert stack_outputs["DkimValue"].endswith(".dkim.amazonses.com")
        assert {address, domain} <= set(ses.list_identities()["Identities"])
        ses.send_email(
            Source=address,
            Destination={"ToAddresses": ["ada@example.com"]},
            Message={"Subject": {"Data": "verified"}, "Body": {"Text": {"Data": "by the stack"}}},
        )
    finally:
        cloudformation.delete_stack(StackName=stack_id)
        deleted = settle(cloudformation, stack_id)
    assert deleted["StackStatus"] == "DELETE_COMPLETE", failures(cloudformation, stack_id)
    assert not {address, domain} & set(ses.list_identities()["Identities"])


@pytest.fixture
def archived_bus(localstack: Any, unique_name: str, queues: Callable[..., str]) -> Iterator[Any]:
    """A bus with an archive of every event and a rule (source `shop.test`) to an SQS queue."""
    events, sqs = localstack.client("events"), localstack.client("sqs")
    bus_arn = events.create_event_bus(Name=unique_name)["EventBusArn"]
    archive_arn = events.create_archive(ArchiveName=unique_name, EventSourceArn=bus_arn)[
        "ArchiveArn"
    ]
    queue_url = queues(unique_name)
    events.put_rule(
        Name=unique_name,
        EventBusName=unique_name,
        EventPattern=json.dumps({"source": ["shop.test"]}),
    )
    events.put_targets(
        Rule=unique_name,
        EventBusName=unique_name,
        Targets=[{"Id": "queue", "Arn": arn_of(sqs, queue_url)}],
    )
    yield bus_arn, archive_arn, queue_url
    events.remove_targets(Rule=unique_name, EventBusName=unique_name, Ids=["queue"])
    events.delete_rule(Name=unique_name, EventBusName=unique_name)
    events.delete_archive(ArchiveName=unique_name)
    events.delete_event_bus(Name=unique_name)


def test_a_replay_redelivers_the_archived_events_of_its_window_to_the_rules(
    localstack: Any, unique_name: str, archived_bus: Any
) -> None:
    events, sqs = localstack.client("events"), localstack.client("sqs")
    bus_arn, archive_arn, queue_url = archived_bus
    now = datetime.now(UTC)

    def entry(number: int, moment: datetime) -> dict[str, Any]:
        return {
            "EventBusName": unique_name,
            "Source": "shop.test",
            "DetailType": "OrderPlaced",
            "Detail": json.dumps({"number": number}),
            "Time": moment,
        }

    put = events.put_events(
        Entries=[entry(1, now - timedelta(hours=3)), entry(2, now), entry(3, now)]
    )
    assert put["FailedEntryCount"] == 0
    first = [json.loads(body) for body in receive_bodies(sqs, queue_url, 3)]
    assert all("replay-name" not in event for event in first)

    events.start_replay(
        ReplayName=unique_name,
        EventSourceArn=archive_arn,
        EventStartTime=now - timedelta(minutes=5),
        EventEndTime=now + timedelta(minutes=1),
        Destination={"Arn": bus_arn},
    )
    deadline = time.monotonic() + 10
    while (state := events.describe_replay(ReplayName=unique_name))["State"] != "COMPLETED":
        assert state["State"] in ("STARTING", "RUNNING"), state
        assert time.monotonic() < deadline, state
        time.sleep(0.2)

    replayed = [json.loads(body) for body in receive_bodies(sqs, queue_url, 2)]
    nothing_more_arrives(sqs, queue_url)
    assert sorted(event["detail"]["number"] for event in replayed) == [2, 3]
    assert {event["replay-name"] for event in replayed} == {unique_name}
    originals = {event["detail"]["number"]: event["time"] for event in first}
    assert {event["detail"]["number"]: event["time"] for event in replayed} == {
        2: originals[2],
        3: originals[3],
    }


def rule_template(name: str, source: str, target: str, input_path: str | None) -> dict[str, Any]:
    """A bus, two queues and a rule (named by CloudFormation) routing `source` to `target`."""
    rule_target: dict[str, Any] = {"Id": target, "Arn": {"Fn::GetAtt": [target, "Arn"]}}
    if input_path:
        rule_target["InputPath"] = input_path
    return {
        "Resources": {
            "Bus": {"Type": "AWS::Events::EventBus", "Properties": {"Name": name}},
            "First": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": f"{name}-first"}},
            "Second": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": f"{name}-second"}},
            "Route": {
                "Type": "AWS::Events::Rule",
                "Properties": {
                    "EventBusName": {"Ref": "Bus"},
                    "EventPattern": {"source": [source]},
                    "Targets": [rule_target],
                },
            },
        },
        "Outputs": {
            "RuleId": {"Value": {"Ref": "Route"}},
            "RuleArn": {"Value": {"Fn::GetAtt": ["Route", "Arn"]}},
            "FirstUrl": {"Value": {"Ref": "First"}},
            "SecondUrl": {"Value": {"Ref": "Second"}},
        },
    }


def test_a_stack_update_changes_the_pattern_and_targets_of_a_rule_in_place(
    localstack: Any, unique_name: str
) -> None:
    cloudformation, events, sqs = (
        localstack.client(name) for name in ("cloudformation", "events", "sqs")
    )
    first = json.dumps(rule_template(unique_name, "shop.first", "First", None))
    stack_id = cloudformation.create_stack(StackName=unique_name, TemplateBody=first)["StackId"]
    try:
        created = settle(cloudformation, stack_id)
        assert created["StackStatus"] == "CREATE_COMPLETE", failures(cloudformation, stack_id)
        before = outputs(created)
        rule_name = before["RuleArn"].rsplit("/", 1)[-1]

        second = json.dumps(rule_template(unique_name, "shop.second", "Second", "$.detail"))
        cloudformation.update_stack(StackName=stack_id, TemplateBody=second)
        updated = settle(cloudformation, stack_id)
        assert updated["StackStatus"] == "UPDATE_COMPLETE", failures(cloudformation, stack_id)
        after = outputs(updated)
        assert after["RuleArn"] == before["RuleArn"]

        rule = events.describe_rule(Name=rule_name, EventBusName=unique_name)
        assert json.loads(rule["EventPattern"]) == {"source": ["shop.second"]}
        targets = events.list_targets_by_rule(Rule=rule_name, EventBusName=unique_name)
        assert [(t["Id"], t.get("InputPath")) for t in targets["Targets"]] == [
            ("Second", "$.detail")
        ]

        events.put_events(
            Entries=[
                {"EventBusName": unique_name, "Source": source, "DetailType": "T", "Detail": body}
                for source, body in (("shop.first", '{"n": 1}'), ("shop.second", '{"n": 2}'))
            ]
        )
        assert [json.loads(body) for body in receive_bodies(sqs, after["SecondUrl"], 1)] == [
            {"n": 2}
        ]
        nothing_more_arrives(sqs, after["FirstUrl"])
    finally:
        cloudformation.delete_stack(StackName=stack_id)
        settle(cloudformation, stack_id)


def test_a_fifo_message_redriven_from_its_dead_letter_queue_arrives_and_fails_again(
    localstack: Any, queues: Callable[..., str], unique_name: str
) -> None:
    sqs = localstack.client("sqs")
    dlq = queues(f"{unique_name}-dlq.fifo", FifoQueue="true")
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    source = queues(
        f"{unique_name}.fifo",
        FifoQueue="true",
        VisibilityTimeout="1",
        RedrivePolicy=json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 1}),
    )
    sqs.send_message(
        QueueUrl=source, MessageBody="poison", MessageGroupId="g", MessageDeduplicationId="d-1"
    )
    assert dead_lettered(sqs, source, dlq) == ["poison"]

    sqs.start_message_move_task(SourceArn=dlq_arn)
    assert dead_lettered(sqs, source, dlq) == ["poison"], "redriven, failing again: back in the DLQ"

    sqs.start_message_move_task(SourceArn=dlq_arn)
    assert receive_bodies(sqs, source, 1) == ["poison"]


def dead_lettered(sqs: Any, source: str, dlq: str, timeout: float = 10) -> list[str]:
    """Receive from ``source`` without deleting until its messages are in ``dlq``; their bodies
    (looked at without consuming them)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sqs.receive_message(QueueUrl=source, WaitTimeSeconds=1)
        messages = sqs.receive_message(
            QueueUrl=dlq, MaxNumberOfMessages=10, VisibilityTimeout=0
        ).get("Messages", [])
        if messages:
            return [message["Body"] for message in messages]
    return []


FIFO_RECORDING_HANDLER = """
import json, os


def handler(event, context):
    failed_groups, failures, handled = set(), [], []
    for record in event["Records"]:
        group = record["attributes"]["MessageGroupId"]
        if group in failed_groups or record["body"] == "poison":
            failed_groups.add(group)
            failures.append({"itemIdentifier": record["messageId"]})
            continue
        handled.append([group, record["body"]])
    groups = sorted({record["attributes"]["MessageGroupId"] for record in event["Records"]})
    with open(os.environ["SEEN_FILE"], "a") as seen:
        seen.write(json.dumps({"groups": groups, "handled": handled}) + "\\n")
    return {"batchItemFailures": failures}
"""


@pytest.fixture
def recording_fifo_function(localstack: Any, unique_name: str, tmp_path: Path) -> Iterator[Any]:
    """A function that skips a group from its first ``poison`` record on (as powertools'
    ``SqsFifoPartialProcessor`` does) and writes each invocation's groups and handled records
    to a file; yields (name, file)."""
    client = localstack.client("lambda")
    seen = tmp_path / "invocations.jsonl"
    client.create_function(
        FunctionName=unique_name,
        Runtime="python3.11",
        Role="arn:aws:iam::000000000000:role/lambda-role",
        Handler="app.handler",
        Code={"ZipFile": zip_of({"app.py": FIFO_RECORDING_HANDLER})},
        Environment={"Variables": {"SEEN_FILE": str(seen)}},
    )
    client.get_waiter("function_active_v2").wait(FunctionName=unique_name)
    yield unique_name, seen
    client.delete_function(FunctionName=unique_name)


def test_a_fifo_batch_of_several_groups_is_one_invocation_in_order_per_group(
    localstack: Any, queues: Callable[..., str], unique_name: str, recording_fifo_function: Any
) -> None:
    sqs, lambda_client = localstack.client("sqs"), localstack.client("lambda")
    function, seen = recording_fifo_function
    queue_url = queues(f"{unique_name}.fifo", FifoQueue="true", VisibilityTimeout="2")
    sent = [("a", "a-1"), ("b", "poison"), ("c", "c-1"), ("a", "a-2"), ("b", "b-2")]
    sent += [("c", "c-2"), ("a", "a-3"), ("c", "c-3")]
    for number, (group, body) in enumerate(sent):
        sqs.send_message(
            QueueUrl=queue_url,
            MessageBody=body,
            MessageGroupId=group,
            MessageDeduplicationId=str(number),
        )
    mapping = lambda_client.create_event_source_mapping(
        FunctionName=function,
        EventSourceArn=arn_of(sqs, queue_url),
        BatchSize=10,
        FunctionResponseTypes=["ReportBatchItemFailures"],
    )["UUID"]
    try:
        expected = {"a": ["a-1", "a-2", "a-3"], "c": ["c-1", "c-2", "c-3"]}
        deadline = time.monotonic() + 20
        while True:
            lines = seen.read_text().splitlines() if seen.exists() else []
            invocations = [json.loads(line) for line in lines]
            handled: dict[str, list[str]] = {}
            for invocation in invocations:
                for group, body in invocation["handled"]:
                    handled.setdefault(group, []).append(body)
            if (handled == expected and len(invocations) >= 2) or time.monotonic() > deadline:
                break
            time.sleep(0.2)
    finally:
        lambda_client.delete_event_source_mapping(UUID=mapping)
    assert handled == expected, invocations
    assert invocations[0]["groups"] == ["a", "b", "c"], invocations
    assert all("b" in invocation["groups"] for invocation in invocations[1:]), (
        "the skipped group comes back, nothing after its poison record handled"
    )


def test_sqs_calls_record_no_per_call_metrics_and_queue_depth_is_still_reported(
    localstack: Any, queues: Callable[..., str], unique_name: str
) -> None:
    sqs, cloudwatch = localstack.client("sqs"), localstack.client("cloudwatch")
    queue_url = queues(unique_name)
    sqs.send_message(QueueUrl=queue_url, MessageBody="kept")
    sqs.send_message(QueueUrl=queue_url, MessageBody="taken")
    taken = sqs.receive_message(QueueUrl=queue_url)["Messages"][0]
    sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=taken["ReceiptHandle"])
    sqs.receive_message(QueueUrl=queue_url, VisibilityTimeout=30)
    sqs.receive_message(QueueUrl=queue_url)

    def metric_names() -> set[str]:
        metrics = cloudwatch.list_metrics(
            Namespace="AWS/SQS", Dimensions=[{"Name": "QueueName", "Value": unique_name}]
        )["Metrics"]
        return {metric["MetricName"] for metric in metrics}

    deadline = time.monotonic() + 20
    while "ApproximateNumberOfMessagesVisible" not in (names := metric_names()):
        assert time.monotonic() < deadline, f"no queue depth reported in 20 s: {names}"
        time.sleep(0.5)
    assert names == {
        "ApproximateNumberOfMessagesVisible",
        "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesDelayed",
    }


def test_rule_targets_get_each_event_through_their_input_path_and_transformer(
    localstack: Any, queues: Callable[..., str], unique_name: str
) -> None:
    """JSONPath expressions are parsed once per path and kept: every event still gets its own
    values through them."""
    events, sqs = localstack.client("events"), localstack.client("sqs")
    detail_url, transformed_url = queues(f"{unique_name}-detail"), queues(f"{unique_name}-shaped")
    events.create_event_bus(Name=unique_name)
    try:
        events.put_rule(
            Name=unique_name, EventBusName=unique_name, EventPattern='{"source": ["shop.test"]}'
        )
        events.put_targets(
            Rule=unique_name,
            EventBusName=unique_name,
            Targets=[
                {"Id": "detail", "Arn": arn_of(sqs, detail_url), "InputPath": "$.detail"},
                {
                    "Id": "shaped",
                    "Arn": arn_of(sqs, transformed_url),
                    "InputTransformer": {
                        "InputPathsMap": {"order": "$.detail.order_id", "kind": "$.detail-type"},
                        "InputTemplate": '{"order": <order>, "kind": <kind>}',
                    },
                },
            ],
        )
        orders = [f"{unique_name}-{n}" for n in range(3)]
        events.put_events(
            Entries=[
                {
                    "EventBusName": unique_name,
                    "Source": "shop.test",
                    "DetailType": f"Kind{n}",
                    "Detail": json.dumps({"order_id": order}),
                }
                for n, order in enumerate(orders)
            ]
        )

        details = [json.loads(body) for body in receive_bodies(sqs, detail_url, 3)]
        shaped = [json.loads(body) for body in receive_bodies(sqs, transformed_url, 3)]
        assert sorted(details, key=str) == [{"order_id": order} for order in orders]
        assert sorted(shaped, key=str) == [
            {"order": order, "kind": f"Kind{n}"} for n, order in enumerate(orders)
        ]
    finally:
        events.remove_targets(Rule=unique_name, EventBusName=unique_name, Ids=["detail", "shaped"])
        events.delete_rule(Name=unique_name, EventBusName=unique_name)
        events.delete_event_bus(Name=unique_name)
