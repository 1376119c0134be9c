"""Logs, metrics (EMF) and traces of a Lambda, and the port a service reports through."""

from __future__ import annotations

import importlib.util
from functools import cache
from typing import Any, Protocol

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit, single_metric


class Telemetry(Protocol):
    """What a service says about its work: log lines and metrics."""

    def info(self, message: str, **extra: Any) -> None: ...

    def warning(self, message: str, **extra: Any) -> None: ...

    def error(self, message: str, **extra: Any) -> None: ...

    def count(self, name: str, value: int = 1) -> None:
        """Add to a count metric of the service (flushed after the invocation)."""
        ...

    def measure(self, name: str, value: int, **dimensions: str) -> None:
        """Emit a unitless metric at once, with dimensions of its own."""
        ...


@cache
def _logger(service: str) -> Logger:
    return Logger(service=service)


def _tracer(service: str) -> Tracer | None:
    """A powertools Tracer, or none where the X-Ray SDK is not installed."""
    if importlib.util.find_spec("aws_xray_sdk") is None:
        return None
    return Tracer(service=service)


class Observability:
    """The powertools Logger, Metrics and Tracer of one service (``Telemetry`` for its code)."""

    def __init__(self, service: str, namespace: str) -> None:
        self.service = service
        self.namespace = namespace
        self.logger = _logger(service)
        self.metrics = Metrics(service=service, namespace=namespace)
        self.tracer = _tracer(service)

    def info(self, message: str, **extra: Any) -> None:
        self.logger.info(message, stacklevel=3, extra=extra or None)

    def warning(self, message: str, **extra: Any) -> None:
        self.logger.warning(message, stacklevel=3, extra=extra or None)

    def error(self, message: str, **extra: Any) -> None:
        self.logger.error(message, stacklevel=3, extra=extra or None)

    def count(self, name: str, value: int = 1) -> None:
        self.metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)

    def measure(self, name: str, value: int, **dimensions: str) -> None:
        with single_metric(
            name=name,
            unit=MetricUnit.NoUnit,
            value=value,
            namespace=self.namespace,
            default_dimensions={"service": self.service},
        ) as metric:
            for dimension, dimension_value in dimensions.items():
                metric.add_dimension(name=dimension, value=dimension_value)
