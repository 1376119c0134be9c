"""The projector: keeps the order summaries up to date (``python -m services.orders project``,
and beside the API in ``serve`` and ``run``)."""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Sequence
from datetime import timedelta

from services.orders.adapters.metrics import ProjectionMetrics
from services.orders.adapters.set_aside import SetAsideEvent
from services.orders.adapters.summaries import DEFAULT_GAP_TIMEOUT, OrderSummaries
from services.orders.backoff import Backoff, Random

log = logging.getLogger("orders.projector")


class Projector:
    """Projects new events into ``summaries`` until stopped; several may run at once (they
    take turns on the tracking position). An event the summaries cannot hold is set aside, and
    logged and counted in ``metrics``, and the projector moves on."""

    def __init__(
        self,
        summaries: OrderSummaries,
        *,
        metrics: ProjectionMetrics | None = None,
        poll_interval: float = 0.2,
        batch_size: int = 500,
        gap_timeout: timedelta = DEFAULT_GAP_TIMEOUT,
        backoff_max: float = 10.0,
        random_source: Random = random.random,
    ) -> None:
        self.summaries = summaries
        self.metrics = metrics
        self.poll_interval = poll_interval
        self.batch_size = batch_size
        self.gap_timeout = gap_timeout
        self.backoff = Backoff(poll_interval, backoff_max, random_source=random_source)

    def run(self, stop: threading.Event) -> None:
        """Project until ``stop`` is set; a failed batch is logged and tried again after a
        jittered backoff."""
        while not stop.is_set():
            try:
                projected = self.summaries.project_pending(
                    batch_size=self.batch_size, gap_timeout=self.gap_timeout
                )
            except Exception:
                wait = self.backoff.next_delay()
                log.exception("projecting order summaries failed; retrying in %.1fs", wait)
                stop.wait(wait)
                continue
            self.backoff.reset()
            if projected.set_aside:
                self._report(projected.set_aside)
            if not projected.events:
                stop.wait(self.poll_interval)

    def _report(self, set_aside: Sequence[SetAsideEvent]) -> None:
        for event in set_aside:
            log.error(
                "set aside %s at position %d of stream %s (attempt %d): %s;"
                " see GET /api/ops/set-aside-events, fix the cause, then rebuild-projections",
                event.event_type,
                event.position,
                event.stream_id,
                event.attempts,
                event.error,
            )
        if self.metrics is not None:
            self.metrics.events_set_aside(len(set_aside))
