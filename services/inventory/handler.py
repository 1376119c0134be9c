"""Inventory's queue consumer (SQS queue ``inventory``, fed by the SNS topic with raw delivery).

Entry point ``services.inventory.handler.handler``; environment ``DATABASE_URL``,
``EVENT_BUS_NAME`` and the ``POWERTOOLS_*`` variables. Replies go on the bus as
``shop.inventory``.
"""

from __future__ import annotations

from services.inventory.adapters import metadata, seeded_stock
from services.inventory.service import InventoryService
from shared.consumer import ConsumerLambda, ConsumerSettings, Wiring, sqs_handler


def inventory(wiring: Wiring[ConsumerSettings]) -> InventoryService:
    return InventoryService(seeded_stock(wiring.engine), wiring.telemetry)


handler = ConsumerLambda(
    settings=ConsumerSettings, tables=metadata, service=inventory, trigger=sqs_handler
)
