"""The envelope every message carries, validated at both ends."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.settings import problems_of

MAX_MESSAGE_BYTES = 256 * 1024


class MalformedMessage(ValueError):
    """A message that cannot be read as an envelope; it belongs in a dead-letter queue."""


class Envelope(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    event_id: uuid.UUID = Field(default_factory=uuid.uuid4)
    type: str = Field(min_length=1, pattern=r"^[A-Z][A-Za-z]+$")
    version: int = Field(default=1, ge=1)
    occurred_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    correlation_id: str = Field(min_length=1)
    causation_id: uuid.UUID | None = None
    payload: dict[str, Any] = Field(default_factory=dict)

    def caused(self, type: str, payload: dict[str, Any], version: int = 1) -> Envelope:
        """The envelope of a message this one caused: same correlation, causation = this."""
        return Envelope(
            type=type,
            version=version,
            correlation_id=self.correlation_id,
            causation_id=self.event_id,
            payload=payload,
        )

    def to_json(self) -> str:
        body = self.model_dump_json()
        if len(body.encode()) > MAX_MESSAGE_BYTES:
            raise MalformedMessage(f"{self.type} {self.event_id} exceeds {MAX_MESSAGE_BYTES} bytes")
        return body


def parse_envelope(raw: str | bytes | dict[str, Any]) -> Envelope:
    """Read an envelope from JSON text or a decoded object, naming what is wrong."""
    try:
        data = json.loads(raw) if isinstance(raw, str | bytes) else raw
    except json.JSONDecodeError as error:
        raise MalformedMessage(f"message is not JSON: {error}") from error
    if not isinstance(data, dict):
        raise MalformedMessage(f"message is a JSON {type(data).__name__}, expected an object")
    try:
        return Envelope.model_validate(data)
    except ValidationError as error:
        problems = "; ".join(
            f"{location or 'message'}: {message}" for location, message in problems_of(error)
        )
        raise MalformedMessage(f"invalid envelope: {problems}") from error
