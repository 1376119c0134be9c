"""Fixes of LocalStack 4.13.1 bugs that the shop's stack hits, applied when LocalStack starts.

Each patch replaces one LocalStack function and names the upstream bug (``AWS_IAM`` on function
URLs, a larger fix, lives in ``function_urls``); `docs/localstack-patches.md`
says how to tell when one can go. They are applied by the ``on_infra_start`` hook below, before
LocalStack serves a request.
"""

from __future__ import annotations

import functools
import hashlib
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from shop_localstack_ext.function_urls import require_aws_iam
from shop_localstack_ext.hooks import on_infra_start

FormattedEvent = dict[str, Any]


def kms_key_generate_key_material_id(self: Any, key_material: bytes) -> str:
    """Replaces ``localstack.services.kms.models.KmsKey.generate_key_material_id``.

    Upstream bug: it calls ``uuid.uuid5(namespace, key_material)`` with bytes, which Python
    accepts only from 3.12 on, so on 3.11 every ``CreateKey`` fails with "encoding without a
    string argument". This computes the same UUID as 3.12's ``uuid5`` does for bytes.
    """
    digest = hashlib.sha1(self._internal_key_id.bytes + key_material, usedforsecurity=False)
    return uuid.UUID(bytes=digest.digest()[:16], version=5).hex * 2


def archive_service_filter_events_start_end_time(
    self: Any, event_start_time: datetime, event_end_time: datetime
) -> list[FormattedEvent]:
    """Replaces ``localstack.services.events.archive.ArchiveService._filter_events_start_end_time``.

    Upstream bug: archived events keep ``time`` as the ISO string of the formatted event, and the
    original calls ``datetime.replace(second=0, ...)`` on it, so ``StartReplay`` fails with
    "str.replace() takes no keyword arguments" as soon as the archive holds an event (and
    ``re_format_event``/``get_event_time`` would fail the same way further on). This keeps the
    original's window (whole minutes, both ends included) and returns copies of the events with
    ``time`` as a timezone-aware datetime, which the replay code after it expects.
    """
    start = self._normalize_datetime(event_start_time)
    end = self._normalize_datetime(event_end_time)
    replayed = []
    for event in self.archive.events.values():
        moment = datetime.fromisoformat(event["time"]).astimezone(UTC)
        if start <= self._normalize_datetime(moment) <= end:
            replayed.append({**event, "time": moment})
    return replayed


def ses_email_identity_plugin_load(self: Any) -> None:
    """Replaces ``localstack.services.ses.resource_providers.aws_ses_emailidentity_plugin.
    SESEmailIdentityProviderPlugin.load``.

    Upstream bug: the ``AWS::SES::EmailIdentity`` provider it loads is a scaffolding stub whose
    create raises ``NotImplementedError``. This loads the working provider of
    ``shop_localstack_ext.cfn.ses`` instead, whichever of the two plugins registered under the
    type's name plux keeps.
    """
    from shop_localstack_ext.cfn.ses import EmailIdentityProvider

    self.factory = EmailIdentityProvider


def events_rule_provider_update(self: Any, request: Any) -> Any:
    """Replaces ``localstack.services.events.resource_providers.aws_events_rule.
    EventsRuleProvider.update``.

    Upstream bug: it raises ``NotImplementedError``, and the CloudFormation engine then reports
    the modification done while keeping the old rule (a changed ``EventPattern``, ``Targets``,
    ``State``, ... never reaches EventBridge). ``Name`` and ``EventBusName`` replace the rule, so
    an update keeps the rule of ``previous_state``: this removes the targets the template no
    longer has, then puts the rule and its targets as the provider's own ``create`` does.
    """
    from localstack.services.events.resource_providers.aws_events_rule import extract_rule_name

    model = request.desired_state
    named_by_template = "Name" in model
    model["Name"] = extract_rule_name(request.previous_state["Id"])
    bus = {"EventBusName": model["EventBusName"]} if model.get("EventBusName") else {}
    events = request.aws_client_factory.events
    kept = {target["Id"] for target in model.get("Targets") or []}
    current = events.list_targets_by_rule(Rule=model["Name"], **bus)["Targets"]
    if stale := [target["Id"] for target in current if target["Id"] not in kept]:
        events.remove_targets(Rule=model["Name"], Ids=stale, Force=True, **bus)
    event = self.create(request)
    if not named_by_template:
        event.resource_model.pop("Name")
    return event


def fifo_dead_letter_deduplication_id(put: Any) -> Any:
    """Wraps ``localstack.services.sqs.models.FifoQueue.put``.

    Upstream bug: a message moved from a FIFO queue to its FIFO dead-letter queue keeps its
    deduplication id, and a message redriven back (``StartMessageMoveTask``) keeps its message
    id; so within the five-minute deduplication interval the redrive, or the message's next trip
    to the DLQ, is silently dropped as a duplicate. AWS replaces the deduplication id with the
    message id on the way into a FIFO DLQ and gives every redriven message a new message id; so
    does this. A message's ``DeadLetterQueueSourceArn`` tells the two moves apart: it names
    another queue on the way in, this queue on the way back.
    """

    def put_with_aws_deduplication(self: Any, message: Any, *args: Any, **kwargs: Any) -> Any:
        source = message.get("Attributes", {}).get("DeadLetterQueueSourceArn")
        if source == self.arn:
            message = {**message, "MessageId": str(uuid.uuid4())}
        elif source and "message_deduplication_id" in kwargs:
            kwargs["message_deduplication_id"] = message["MessageId"]
        return put(self, message, *args, **kwargs)

    return put_with_aws_deduplication


def fifo_batch_in_one_invocation(messages: list[dict[str, Any]]) -> dict[str, list[Any]]:
    """Replaces ``localstack.services.lambda_.event_source_mapping.pollers.sqs_poller.
    split_by_message_group_id`` where ``SqsPoller.poll_events`` calls it.

    Upstream bug: the SQS poller splits each FIFO batch by message group and invokes the function
    once per group, one after another, so a batch of ten orders costs ten invocations. AWS hands
    the whole batch (received in order within each group) to one invocation, and the function
    reports partial failures itself (for FIFO: the failed record and the later records of its
    group, as powertools' ``SqsFifoPartialProcessor`` does); the poller's ``handle_messages``
    then deletes everything else, as for one group. This keeps the batch whole.
    """
    return {"batch": list(messages)}


def sqs_cloudwatch_dispatch_sqs_metric(self: Any, *args: Any, **kwargs: Any) -> None:
    """Replaces ``localstack.services.sqs.provider.CloudwatchDispatcher.dispatch_sqs_metric``.

    Upstream cost: every SQS call (each send, delete and receive, the empty polls of every event
    source mapping included) becomes a CloudWatch ``PutMetricData`` through a three-thread
    dispatcher into SQLite; with pollers polling every 50-500 ms that is most of LocalStack's
    CPU, idle or loaded. This records no per-call metric (``NumberOfMessagesSent``/``Received``/
    ``Deleted``, ``NumberOfEmptyReceives``, ``SentMessageSize``); the periodic queue-depth
    metrics (``ApproximateNumberOfMessages*`` every ``SQS_CLOUDWATCH_METRICS_REPORT_INTERVAL``,
    which the DLQ alarms use) do not go through it and keep working.
    """


def jsonpath_parse_once_per_path(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    """Replaces ``jsonpath_rw.parse``, which ``localstack.utils.json.extract_jsonpath`` looks up
    on each call.

    Upstream cost: ``extract_jsonpath`` parses its path again on every call, and jsonpath_rw's
    parser rebuilds its ply lexer and LALR tables each time (about 17 ms of CPU holding the GIL).
    EventBridge calls it for every delivery to a target with an ``InputPath`` and for each entry
    of an ``InputTransformer``'s ``InputPathsMap``, so under load it was a sixth of LocalStack's
    time. A parsed path is an immutable expression tree, so this keeps one per path string.
    """
    return functools.lru_cache(maxsize=512)(parse)


@on_infra_start
def apply_localstack_patches() -> None:
    import jsonpath_rw
    from localstack.services.events.archive import ArchiveService
    from localstack.services.events.resource_providers.aws_events_rule import EventsRuleProvider
    from localstack.services.kms.models import KmsKey
    from localstack.services.lambda_.event_source_mapping.pollers import sqs_poller
    from localstack.services.lambda_.urlrouter import FunctionUrlRouter
    from localstack.services.ses.resource_providers.aws_ses_emailidentity_plugin import (
        SESEmailIdentityProviderPlugin,
    )
    from localstack.services.sqs.models import FifoQueue
    from localstack.services.sqs.provider import CloudwatchDispatcher

    # Replacing methods is what mypy's method-assign refuses; it still checks that each exists.
    # Two replacements differ in type on purpose: replayed events carry `time` as a datetime,
    # and the FIFO batch stays one group.
    KmsKey.generate_key_material_id = kms_key_generate_key_material_id  # type: ignore[method-assign]
    ArchiveService._filter_events_start_end_time = archive_service_filter_events_start_end_time  # type: ignore[method-assign, assignment]
    SESEmailIdentityProviderPlugin.load = ses_email_identity_plugin_load  # type: ignore[method-assign]
    EventsRuleProvider.update = events_rule_provider_update  # type: ignore[method-assign]
    FifoQueue.put = fifo_dead_letter_deduplication_id(FifoQueue.put)  # type: ignore[method-assign]
    sqs_poller.split_by_message_group_id = fifo_batch_in_one_invocation  # type: ignore[assignment]
    CloudwatchDispatcher.dispatch_sqs_metric = sqs_cloudwatch_dispatch_sqs_metric  # type: ignore[method-assign]
    jsonpath_rw.parse = jsonpath_parse_once_per_path(jsonpath_rw.parse)
    FunctionUrlRouter.handle_lambda_url_invocation = require_aws_iam(  # type: ignore[method-assign]
        FunctionUrlRouter.handle_lambda_url_invocation
    )
