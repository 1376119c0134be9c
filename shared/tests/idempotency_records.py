"""The records powertools' idempotency keeps per handled event, as tests look them up."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable

from sqlalchemy import Connection, delete

from shared.idempotency import idempotency_records


def idempotency_key(service: str, event_id: uuid.UUID | str) -> str:
    """The key powertools stores for an event id (``<service>#md5(json(event_id))``)."""
    digest = hashlib.md5(json.dumps(str(event_id)).encode(), usedforsecurity=False).hexdigest()
    return f"{service}#{digest}"


def forget_idempotency(
    connection: Connection, service: str, event_ids: Iterable[uuid.UUID | str]
) -> int:
    """Delete the service's idempotency records of ``event_ids``; returns how many there were."""
    keys = [idempotency_key(service, event_id) for event_id in event_ids]
    return connection.execute(
        delete(idempotency_records).where(idempotency_records.c.id.in_(keys))
    ).rowcount


def forget_service(connection: Connection, service: str) -> int:
    """Delete every idempotency record of ``service`` (a name of one test's own)."""
    return connection.execute(
        delete(idempotency_records).where(idempotency_records.c.id.like(f"{service}#%"))
    ).rowcount
