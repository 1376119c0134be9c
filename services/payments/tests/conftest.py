from __future__ import annotations

from shared.tests.bus_capture import bus_fixture

payments_bus = bus_fixture("shop.payments")
