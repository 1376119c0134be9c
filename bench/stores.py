"""Each effect exactly once: what the stores of the Lambdas and the SES mailbox hold per order.

The bench reads the services' databases with SQL of its own (read-only, never through their
code): the table names are the services' storage, which a checker may know.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bench.aws import emulator_client

if TYPE_CHECKING:
    from sqlalchemy import Executable

CUSTOMER_EMAILS = ("OrderPlaced", "OrderConfirmed")
ANALYSED_EVENTS = ("OrderPlaced", "OrderConfirmed")


@dataclass
class StoreCounts:
    """Per order, what each service's own store holds."""

    reservations: dict[str, str] = field(default_factory=dict)
    payment_results: dict[str, dict[str, int]] = field(default_factory=dict)
    emails_recorded: dict[str, dict[str, int]] = field(default_factory=dict)
    mailbox: dict[str, int] = field(default_factory=dict)
    verdicts: dict[str, int] = field(default_factory=dict)
    analytics: dict[str, dict[str, int]] = field(default_factory=dict)
    stock_taken: int | None = None


def effect_problems(orders: Sequence[Mapping[str, Any]], counts: StoreCounts) -> list[str]:
    """Every confirmed order's effect, exactly once, in each service's own store."""
    confirmed = [order for order in orders if order.get("status") == "confirmed"]
    lost: dict[str, int] = {}
    twice: dict[str, int] = {}

    def expect(what: str, found: int, wanted: int = 1) -> None:
        if found < wanted:
            lost[what] = lost.get(what, 0) + 1
        elif found > wanted:
            twice[what] = twice.get(what, 0) + 1

    for order in confirmed:
        order_id = order["order_id"]
        expect("reservation", int(counts.reservations.get(order_id) == "reserved"))
        results = counts.payment_results.get(order_id, {})
        expect("payment authorized", results.get("authorized", 0))
        expect("payment captured", results.get("captured", 0))
        recorded = counts.emails_recorded.get(order_id, {})
        for event_type in CUSTOMER_EMAILS:
            expect(f"e-mail record {event_type}", recorded.get(event_type, 0))
        expect(
            "SES mailbox message", counts.mailbox.get(order["recipient"], 0), len(CUSTOMER_EMAILS)
        )
        expect("fraud verdict", counts.verdicts.get(order_id, 0), int(bool(order["screened"])))
        analysed = counts.analytics.get(order_id, {})
        for event_type in ANALYSED_EVENTS:
            expect(f"analytics {event_type}", analysed.get(event_type, 0))
    problems = [f"{n} order(s) missing {what}" for what, n in sorted(lost.items())]
    problems += [f"{n} order(s) with {what} more than once" for what, n in sorted(twice.items())]
    reserved = sum(
        1 for order in orders if counts.reservations.get(order.get("order_id", "")) == "reserved"
    )
    if counts.stock_taken is not None and counts.stock_taken > reserved:
        problems.append(
            f"stock taken more than once: down by {counts.stock_taken}"
            f" for {reserved} reservation(s)"
        )
    elif counts.stock_taken is not None and counts.stock_taken < reserved:
        problems.append(
            f"stock decrement missing: down by {counts.stock_taken} for {reserved} reservation(s)"
        )
    return problems


def read_only(url: str) -> str:
    """A SQLite URL opened read-only (never creating the file); other URLs unchanged."""
    from sqlalchemy import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return url
    return f"sqlite:///file:{parsed.database}?mode=ro&uri=true"


def redacted(url: str) -> str:
    from sqlalchemy import make_url

    return make_url(url).render_as_string(hide_password=True)


class Stores:
    """Reads the databases of the stack's Lambdas (URLs from their configuration) and the SES
    mailbox of LocalStack: read-only, never through the services' code."""

    SERVICES = ("inventory", "payments", "email", "fraud", "analytics")

    def __init__(self, endpoint: str, stack: str) -> None:
        from sqlalchemy import create_engine

        self.endpoint = endpoint
        lam = emulator_client("lambda", endpoint)
        self.urls = {
            service: lam.get_function_configuration(FunctionName=f"{stack}-{service}")[
                "Environment"
            ]["Variables"]["DATABASE_URL"]
            for service in self.SERVICES
        }
        self.engines = {
            service: create_engine(read_only(url)) for service, url in self.urls.items()
        }

    def close(self) -> None:
        for engine in self.engines.values():
            engine.dispose()

    def _rows(self, service: str, sql: str | Executable, order_ids: Sequence[str]) -> list[Any]:
        """The rows of ``sql`` (its ``:ids`` bound to ``order_ids``, 500 at a time)."""
        from sqlalchemy import bindparam, text

        rows: list[Any] = []
        statement = (
            text(sql).bindparams(bindparam("ids", expanding=True)) if isinstance(sql, str) else sql
        )
        with self.engines[service].connect() as conn:
            for start in range(0, len(order_ids), 500):
                rows += conn.execute(statement, {"ids": list(order_ids[start : start + 500])}).all()
        return rows

    def _counted(
        self, service: str, table: str, column: str, order_ids: Sequence[str]
    ) -> dict[str, dict[str, int]]:
        """Rows of ``table`` per order and per value of ``column``."""
        from sqlalchemy import bindparam, func, select
        from sqlalchemy import column as named_column
        from sqlalchemy import table as named_table

        rows = named_table(table, named_column("order_id"), named_column(column))
        statement = (
            select(rows.c.order_id, rows.c[column], func.count())
            .where(rows.c.order_id.in_(bindparam("ids", expanding=True)))
            .group_by(rows.c.order_id, rows.c[column])
        )
        counted: dict[str, dict[str, int]] = {}
        for order_id, value, n in self._rows(service, statement, order_ids):
            counted.setdefault(order_id, {})[value] = int(n)
        return counted

    def available(self, sku: str) -> int:
        from sqlalchemy import text

        with self.engines["inventory"].connect() as conn:
            value = conn.execute(
                text("SELECT available FROM inventory_stock WHERE sku = :sku"), {"sku": sku}
            ).scalar()
        return int(value or 0)

    def most_stocked_sku(self) -> tuple[str, int]:
        from sqlalchemy import text

        with self.engines["inventory"].connect() as conn:
            row = conn.execute(
                text("SELECT sku, available FROM inventory_stock ORDER BY available DESC LIMIT 1")
            ).one()
        return str(row[0]), int(row[1])

    def mailbox(self) -> dict[str, int]:
        import httpx

        messages = httpx.get(f"{self.endpoint}/_aws/ses", timeout=30).json()["messages"]
        counts: dict[str, int] = {}
        for message in messages:
            for address in message.get("Destination", {}).get("ToAddresses", []):
                counts[address] = counts.get(address, 0) + 1
        return counts

    def counts(self, order_ids: Sequence[str], sku: str, stock_before: int) -> StoreCounts:
        counts = StoreCounts()
        for order_id, status in self._rows(
            "inventory",
            "SELECT order_id, status FROM inventory_reservations WHERE order_id IN :ids",
            order_ids,
        ):
            counts.reservations[order_id] = status
        counts.payment_results = self._counted(
            "payments", "payments_operations", "result", order_ids
        )
        counts.emails_recorded = self._counted("email", "email_sent", "event_type", order_ids)
        for order_id, n in self._rows(
            "fraud",
            "SELECT order_id, COUNT(*) FROM fraud_verdicts"
            " WHERE order_id IN :ids GROUP BY order_id",
            order_ids,
        ):
            counts.verdicts[order_id] = int(n)
        counts.analytics = self._counted(
            "analytics", "analytics_processed_events", "event_type", order_ids
        )
        counts.mailbox = self.mailbox()
        counts.stock_taken = stock_before - self.available(sku)
        return counts

    def settled_problems(
        self, orders: Sequence[Mapping[str, Any]], sku: str, stock_before: int, timeout: float
    ) -> list[str]:
        """Effect problems once the stores stop changing (e-mails and captures trail the
        confirmation), or as they stand at the deadline."""
        order_ids = [order["order_id"] for order in orders if "order_id" in order]
        deadline = time.monotonic() + timeout
        while True:
            problems = effect_problems(orders, self.counts(order_ids, sku, stock_before))
            if not problems or time.monotonic() >= deadline:
                return problems
            time.sleep(0.5)
