"""The order saga's cast of messages and the helpers that play them to the domain."""

from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import permutations

from services.orders.domain.commands import ApproveReview, CancelOrder, RejectReview
from services.orders.domain.events import (
    CapturePayment,
    Event,
    FraudCheckPassed,
    FraudCheckSkipped,
    InventoryRejected,
    InventoryReserved,
    OrderFlaggedForReview,
    OrderLine,
    OrderPlaced,
    PaymentAuthorized,
    PaymentCaptured,
    PaymentCommand,
    PaymentDeclined,
    PaymentVoided,
    Reply,
    VoidPayment,
)
from services.orders.domain.model import (
    Message,
    OrderState,
    decide,
    evolve,
    fold,
)
from services.orders.domain.money import Money

ORDER = "o-1"
TOTAL = Money(2500, "EUR")
PLACED = OrderPlaced(
    order_id=ORDER,
    customer_email="ada@example.com",
    shipping_country="DE",
    lines=(OrderLine("MUG", 2, Money(1250, "EUR")),),
    total=TOTAL,
)

RESERVED = InventoryReserved(ORDER)
OUT_OF_STOCK = InventoryRejected(ORDER, "MUG sold out")
AUTHORIZED = PaymentAuthorized(ORDER, "auth-1", TOTAL)
DECLINED = PaymentDeclined(ORDER, "insufficient funds")
PASSED = FraudCheckPassed(ORDER, 10)
SKIPPED = FraudCheckSkipped(ORDER)
FLAGGED = OrderFlaggedForReview(ORDER, 90, ("high amount",))
CAPTURED = PaymentCaptured(ORDER, "auth-1", TOTAL)
VOIDED = PaymentVoided(ORDER, "auth-1")
APPROVE = ApproveReview(ORDER, "reviewer@shop")
REJECT = RejectReview(ORDER, "reviewer@shop", "stolen card")
CANCEL = CancelOrder(ORDER)

CAPTURE = CapturePayment(ORDER, "auth-1", TOTAL)
VOID = VoidPayment(ORDER, "auth-1")

ALL_REPLIES: tuple[Reply, ...] = (
    RESERVED,
    OUT_OF_STOCK,
    AUTHORIZED,
    DECLINED,
    CAPTURED,
    VOIDED,
    PASSED,
    SKIPPED,
    FLAGGED,
)


@dataclass
class Outcome:
    state: OrderState
    events: list[Event] = field(default_factory=list)
    commands: list[PaymentCommand] = field(default_factory=list)

    def of_type(self, kind: type[object]) -> list[Event]:
        return [event for event in self.events if isinstance(event, kind)]


def run(messages: Iterable[Message], state: OrderState | None = None) -> Outcome:
    outcome = Outcome(state if state is not None else fold([PLACED]))
    for message in messages:
        for item in decide(message, outcome.state):
            if isinstance(item, PaymentCommand):
                outcome.commands.append(item)
            else:
                outcome.events.append(item)
                outcome.state = evolve(outcome.state, item)
    return outcome


def arrivals(*messages: Message) -> list[tuple[Message, ...]]:
    return list(permutations(messages))


def reviewed_arrivals(decision: Message, *replies: Message) -> list[tuple[Message, ...]]:
    """Every order of arrival in which the reviewer decides after the flag."""
    return [
        order
        for order in permutations((FLAGGED, *replies, decision))
        if order.index(decision) > order.index(FLAGGED)
    ]


def ids(value: object) -> str:
    if isinstance(value, tuple | list):
        return ",".join(ids(item) for item in value) or "nothing"
    if isinstance(value, str):
        return value.replace(" ", "-")
    if isinstance(value, type):
        return value.__name__
    return type(value).__name__
