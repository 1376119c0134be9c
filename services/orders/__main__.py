"""``python -m services.orders``: see ``services.orders.cli``."""

from services.orders.cli import main

raise SystemExit(main())
