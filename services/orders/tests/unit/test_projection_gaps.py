"""The projection's gap rule: wait for a position that may still commit, pass one that is old."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from services.orders.adapters.summaries import contiguous
from services.orders.ports import RecordedEvent


def _event(position: int, age: timedelta) -> RecordedEvent:
    return RecordedEvent(
        position=position,
        event_id=uuid.uuid4(),
        stream_id="s",
        version=1,
        type="OrderPlaced",
        schema_version=1,
        payload={},
        metadata={},
        recorded_at=datetime.now(UTC) - age,
    )


def test_the_projector_stops_at_a_fresh_gap() -> None:
    fresh = timedelta(0)
    events = [_event(11, fresh), _event(12, fresh), _event(14, fresh), _event(15, fresh)]
    batch = contiguous(10, events, gap_timeout=timedelta(seconds=3))
    assert [e.position for e in batch] == [11, 12]


def test_the_projector_passes_a_gap_once_the_event_after_it_is_old() -> None:
    events = [_event(11, timedelta(seconds=5)), _event(13, timedelta(seconds=4))]
    batch = contiguous(10, events, gap_timeout=timedelta(seconds=3))
    assert [e.position for e in batch] == [11, 13]


def test_a_gap_right_after_the_tracking_position_is_waited_for_too() -> None:
    assert contiguous(10, [_event(12, timedelta(0))], gap_timeout=timedelta(seconds=3)) == []
