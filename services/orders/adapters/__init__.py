"""Adapters of the orders service: what its ports (``services.orders.ports``) stand for.

SQL (``tables``, ``event_store``, ``outbox``, ``summaries``, ``operations_log``, ``migrations``),
in memory (``memory``), the wire messages of ``shared.contracts`` (``wire``), the reference
catalogue (``catalogue``), the brokers the relay publishes to (``publishers``, ``aws_clients``)
and the stack's queues and alarms for operators (``queue_operations``).
"""
