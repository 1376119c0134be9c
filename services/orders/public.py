"""What other parts of the repository may use of the orders service.

Everything else is reached through its HTTP API (``/api``, documented at ``/api/docs``) and its
command line (``python -m services.orders --help``).
"""

from services.orders.adapters.metrics import (
    METRICS_NAMESPACE,
    OUTBOX_RECORDS_PARKED,
    PROJECTION_EVENTS_SET_ASIDE,
    SERVICE_DIMENSION,
)
from services.orders.domain.model import COUNTRY_CODES

__all__ = [
    "COUNTRY_CODES",
    "METRICS_NAMESPACE",
    "OUTBOX_RECORDS_PARKED",
    "PROJECTION_EVENTS_SET_ASIDE",
    "SERVICE_DIMENSION",
]
