"""The projector: keeps the order summaries up to date (``python -m services.orders project``,
and beside the API in ``serve`` and ``run``)."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

from services.orders.adapters.summaries import DEFAULT_GAP_TIMEOUT, OrderSummaries

log = logging.getLogger("orders.projector")


class Projector:
    """Projects new events into ``summaries`` until stopped; several may run at once (they
    take turns on the tracking position)."""

    def __init__(
        self,
        summaries: OrderSummaries,
        *,
        poll_interval: float = 0.2,
        batch_size: int = 500,
        gap_timeout: timedelta = DEFAULT_GAP_TIMEOUT,
    ) -> None:
        self.summaries = summaries
        self.poll_interval = poll_interval
        self.batch_size = batch_size
        self.gap_timeout = gap_timeout

    def run(self, stop: threading.Event) -> None:
        """Project until ``stop`` is set; a failed batch is logged and tried again."""
        while not stop.is_set():
            try:
                applied = self.summaries.project_pending(
                    batch_size=self.batch_size, gap_timeout=self.gap_timeout
                )
            except Exception:
                log.exception("projecting order summaries failed; retrying")
                applied = 0
            if not applied:
                stop.wait(self.poll_interval)
