"""Putting envelopes on the EventBridge bus, the only way services reply."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

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
