"""Adapters of the orders service: what its ports (``services.orders.ports``) stand for.

SQL (``tables``, ``event_store``, ``outbox``, ``summaries`` and the events it set aside
``set_aside``, ``operations_log``, ``migrations``), in memory (``memory``), the wire messages of
``shared.contracts`` (``wire``), the reference catalogue (``catalogue``), the brokers the relay
publishes to (``publishers``, ``aws_clients``), the service's CloudWatch metrics (``metrics``)
and the stack's queues and alarms for operators (``queue_operations``).
"""
