"""The pure domain of the orders service: events, commands and the order saga."""

from services.orders.domain.model import (
    DomainError,
    InvalidOrder,
    OrderState,
    OrderStatus,
    decide,
    evolve,
    fold,
)

__all__ = ["DomainError", "InvalidOrder", "OrderState", "OrderStatus", "decide", "evolve", "fold"]
