"""The orders HTTP API (FastAPI), everything under ``/api``; build it with ``create_app``."""

from services.orders.api.app import create_app

__all__ = ["create_app"]
