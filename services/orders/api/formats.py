"""The formats of what a client sends, each decided once: the constraint the server enforces is
the one the OpenAPI document declares, so the schema and the server agree.

- order id (path): a canonical lowercase UUID, as ``OrderService.new_order_id`` hands out; any
  other id names no order (404, the answer to an unknown id), so no malformed id reaches SQL;
- list cursor (query): ``<placed_at in microseconds since the epoch>.<order id>``, the keyset
  position after the last order of a page; every string of this form is a valid position;
- ``If-Match`` (header): an order version ETag, ``"3"`` (or weak, ``W/"3"``);
- ``Idempotency-Key`` (header): 1-200 visible ASCII characters;
- text in request bodies: no control characters (U+0000-U+001F, U+007F-U+009F).

Parameters that break their format are refused with 422 naming the parameter, before any
handler runs.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import Depends, Header, Path, Query
from pydantic import AfterValidator, Field

from services.orders.service import UnknownOrder

ORDER_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
CURSOR = re.compile(r"([0-9]{1,17})\.([!-~]{1,200})")
VERSION_ETAG = re.compile(r'(?:W/)?"([0-9]{1,9})"')
IDEMPOTENCY_KEY = re.compile(r"[!-~]{1,200}")
CONTROL_CHARACTERS = r"\x00-\x1f\x7f-\x9f"

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)

_CONTROL_CHARACTER = re.compile(f"[{CONTROL_CHARACTERS}]")


def schema_pattern(pattern: re.Pattern[str]) -> str:
    """``pattern`` anchored at both ends, as JSON Schema (and pydantic) want it."""
    return f"^{pattern.pattern}$"


def _without_control_characters(value: str) -> str:
    if _CONTROL_CHARACTER.search(value):
        raise ValueError("must not contain control characters (U+0000-U+001F, U+007F-U+009F)")
    return value


Text = Annotated[
    str,
    AfterValidator(_without_control_characters),
    Field(json_schema_extra={"pattern": f"^[^{CONTROL_CHARACTERS}]*$"}),
]
"""A string of a request body: any text but control characters."""


def _order_id_in_path(
    order_id: Annotated[
        str,
        Path(
            description="The order's id, as placing it answered (a lowercase UUID)",
            json_schema_extra={"pattern": schema_pattern(ORDER_ID)},
        ),
    ],
) -> str:
    if not ORDER_ID.fullmatch(order_id):
        raise UnknownOrder(order_id)
    return order_id


OrderIdInPath = Annotated[str, Depends(_order_id_in_path)]

CursorQuery = Annotated[
    str | None,
    Query(
        description="`next_cursor` of the page before: `<microseconds since the epoch>.<order id>`",
        pattern=schema_pattern(CURSOR),
        min_length=3,
        max_length=218,
    ),
]

IfMatchHeader = Annotated[
    str | None,
    Header(
        description='ETag of GET, such as `"3"`: refuse (409) if the order changed',
        pattern=schema_pattern(VERSION_ETAG),
    ),
]

IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        description="Optional, 1-200 visible ASCII characters. The same key with the same body"
        " returns the first response again; with another body it is refused (422).",
        pattern=schema_pattern(IDEMPOTENCY_KEY),
        min_length=1,
        max_length=200,
    ),
]


def encode_cursor(placed_at: datetime, order_id: str) -> str:
    return f"{(placed_at - EPOCH) // MICROSECOND}.{order_id}"


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """The keyset position of a cursor that matched ``CURSOR`` (FastAPI checked it)."""
    match = CURSOR.fullmatch(cursor)
    if match is None:
        raise ValueError(f"cursor {cursor!r} is not in the cursor format")
    return EPOCH + int(match.group(1)) * MICROSECOND, match.group(2)


def expected_version(if_match: str | None) -> int | None:
    """The version an ``If-Match`` that matched ``VERSION_ETAG`` names (FastAPI checked it)."""
    if if_match is None:
        return None
    match = VERSION_ETAG.fullmatch(if_match)
    if match is None:
        raise ValueError(f"If-Match {if_match!r} is not an order version ETag")
    return int(match.group(1))
