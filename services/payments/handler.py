"""Payments' FIFO consumer (SQS FIFO queue ``payments.fifo``, message group = order id).

Entry point ``services.payments.handler.handler``; environment ``DATABASE_URL``,
``EVENT_BUS_NAME`` and the ``POWERTOOLS_*`` variables. Replies go on the bus as
``shop.payments``.
"""

from __future__ import annotations

from services.payments.adapters import SqlLedger, metadata
from services.payments.service import PaymentsService
from shared.consumer import ConsumerLambda, ConsumerSettings, Wiring, sqs_fifo_handler


def payments(wiring: Wiring[ConsumerSettings]) -> PaymentsService:
    return PaymentsService(SqlLedger(wiring.engine), wiring.telemetry)


handler = ConsumerLambda(
    settings=ConsumerSettings, tables=metadata, service=payments, trigger=sqs_fifo_handler
)
