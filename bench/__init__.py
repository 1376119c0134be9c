"""The figures of ``make bench`` (``python -m bench --help``).

Entry and parts: ``__main__`` (the CLI), ``startup``, ``placement`` with ``relay``, ``pipeline``.
Measuring: ``http_load`` and ``order_load`` (load generators, each its own process),
``ceilings``, ``ramp``, ``procfs``, ``message_counts``. Checking: ``outcomes`` (the orders
through their API), ``stores`` (each effect once). Running things: ``processes``,
``orders_service`` (the orders CLI), ``stack_target``, ``databases``, ``bare_insert``, ``aws``.
Presenting: ``stats``, ``targets``, ``report``.
"""
