"""Putting envelopes on the EventBridge bus, the only way services reply."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import groupby
from typing import Any

from shared.contracts import REPLY_SOURCES, SCHEMAS
from shared.envelope import Envelope

MAX_ENTRIES_PER_CALL = 10


class PublishFailed(RuntimeError):
    """The bus refused some entries; the caller's retry (batch failure) sends them again."""


def put_envelopes(events: Any, bus_name: str, source: str, envelopes: Sequence[Envelope]) -> None:
    """PutEvents with detail-type = envelope type and detail = the envelope, all or raise."""
    for start in range(0, len(envelopes), MAX_ENTRIES_PER_CALL):
        chunk = envelopes[start : start + MAX_ENTRIES_PER_CALL]
        response = events.put_events(
            Entries=[
                {
                    "EventBusName": bus_name,
                    "Source": source,
                    "DetailType": envelope.type,
                    "Detail": envelope.to_json(),
                }
                for envelope in chunk
            ]
        )
        if response.get("FailedEntryCount"):
            failures = [
                f"{envelope.type} {envelope.event_id}: {entry.get('ErrorMessage')}"
                for envelope, entry in zip(chunk, response["Entries"], strict=True)
                if entry.get("ErrorCode")
            ]
            raise PublishFailed(f"bus {bus_name} refused {'; '.join(failures)}")


class ReplyPublisher:
    """Puts a consumer's replies on the bus, each with the source of its type (``REPLY_SOURCES``).

    ``clients`` gives the EventBridge client by service name when the first reply goes out, so a
    consumer that never replies never makes one."""

    def __init__(self, clients: Callable[[str], Any], bus_name: str) -> None:
        self.clients = clients
        self.bus_name = bus_name

    def publish(self, replies: Sequence[Envelope]) -> None:
        for source, group in groupby(replies, key=source_of):
            put_envelopes(self.clients("events"), self.bus_name, source, list(group))


def source_of(reply: Envelope) -> str:
    schema = SCHEMAS.get(reply.type)
    source = REPLY_SOURCES.get(schema) if schema else None
    if source is None:
        raise ValueError(f"{reply.type} is not a reply (not in shared.contracts.REPLY_SOURCES)")
    return source
