import json
import uuid

import pytest

from shared.envelope import MAX_MESSAGE_BYTES, Envelope, MalformedMessage, parse_envelope


def placed(order_id: str = "ord-1") -> Envelope:
    return Envelope(type="OrderPlaced", correlation_id=order_id, payload={"total": 1200})


def test_round_trip_keeps_every_field() -> None:
    original = placed()
    assert parse_envelope(original.to_json()) == original


def test_caused_envelope_carries_correlation_and_causation() -> None:
    cause = placed("ord-7")
    effect = cause.caused("InventoryReserved", {"lines": []})
    assert effect.correlation_id == "ord-7"
    assert effect.causation_id == cause.event_id
    assert effect.event_id != cause.event_id


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("{not json", "not JSON"),
        ("[1, 2]", "JSON list"),
        (json.dumps({"type": "OrderPlaced"}), "correlation_id: Field required"),
        (json.dumps({"type": "orderPlaced", "correlation_id": "x"}), "type:"),
        (json.dumps({"type": "OrderPlaced", "correlation_id": "x", "extra": 1}), "extra:"),
        (json.dumps({"type": "A", "correlation_id": "x", "event_id": "nope"}), "event_id:"),
    ],
)
def test_malformed_messages_say_what_is_wrong(raw: str, message: str) -> None:
    with pytest.raises(MalformedMessage, match=message):
        parse_envelope(raw)


def test_oversized_message_is_refused() -> None:
    big = Envelope(
        type="OrderPlaced", correlation_id="x", payload={"blob": "a" * MAX_MESSAGE_BYTES}
    )
    with pytest.raises(MalformedMessage, match="exceeds"):
        big.to_json()


def test_event_ids_are_unique() -> None:
    assert len({placed().event_id for _ in range(100)}) == 100
    assert isinstance(placed().event_id, uuid.UUID)
