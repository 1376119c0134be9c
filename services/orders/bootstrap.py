"""The composition root of the orders service.

Every entry point asks here for what it needs: the commands of ``python -m services.orders``
(the HTTP API, the outbox relay, the order-updates worker, the projector, the database commands)
and the tests that run them. Nothing else builds engines, stores, AWS clients or the service.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta

from fastapi import FastAPI
from sqlalchemy import Engine, text
from sqlalchemy.exc import ArgumentError

from services.orders.adapters.aws_clients import metrics_client, relay_client, worker_client
from services.orders.adapters.catalogue import ReferenceCatalogue
from services.orders.adapters.event_store import SqlEventStore
from services.orders.adapters.metrics import OutboxMetrics, ProjectionMetrics
from services.orders.adapters.migrations import migrate
from services.orders.adapters.operations_log import SqlOperationsLog
from services.orders.adapters.outbox import SqlOutbox
from services.orders.adapters.publishers import BusPublisher, FifoPublisher, SnsPublisher
from services.orders.adapters.queue_operations import QueueOperations
from services.orders.adapters.summaries import OrderSummaries
from services.orders.api.app import create_app
from services.orders.api.health import (
    PROBE_CONNECT_TIMEOUT_SECONDS,
    PROBE_READ_TIMEOUT_SECONDS,
    Check,
)
from services.orders.api.rate_limits import Clock, RateLimits, SlidingWindow
from services.orders.ports import Destination, Publisher
from services.orders.projector import Projector
from services.orders.relay import OutboxRelay
from services.orders.service import OrderService
from services.orders.settings import (
    OperationsSettings,
    OrdersSettings,
    ProjectorSettings,
    RateLimitSettings,
    RelaySettings,
    WorkerSettings,
)
from services.orders.worker import OrderUpdatesWorker
from shared import aws
from shared import operators as operator_directory
from shared.database import create_engine_for
from shared.operators import OperatorRegistry, Operators, OperatorSettings
from shared.settings import AwsSettings, ConfigurationError, load


@dataclass(frozen=True)
class Orders:
    """The orders service on its database: what every entry point is built from."""

    engine: Engine
    store: SqlEventStore
    outbox: SqlOutbox
    summaries: OrderSummaries
    operations_log: SqlOperationsLog
    service: OrderService

    def close(self) -> None:
        self.engine.dispose()


def orders(database_url: str, *, migrated: bool = True) -> Orders:
    """The service on ``database_url``, migrated to the latest revision first (unless
    ``migrated`` is False). A URL SQLAlchemy cannot use is a ``ConfigurationError`` naming
    ``ORDERS_DATABASE_URL``."""
    try:
        engine = create_engine_for(database_url)
    except (ArgumentError, ValueError) as error:
        raise ConfigurationError(f"invalid configuration: ORDERS_DATABASE_URL: {error}") from error
    if migrated:
        migrate(database_url)
    store = SqlEventStore(engine)
    return Orders(
        engine=engine,
        store=store,
        outbox=SqlOutbox(engine),
        summaries=OrderSummaries(engine),
        operations_log=SqlOperationsLog(engine),
        service=OrderService(store, ReferenceCatalogue()),
    )


def api(
    orders: Orders,
    settings: OrdersSettings,
    aws_settings: AwsSettings | None = None,
    *,
    operators: Operators,
    operations: QueueOperations | None = None,
    emulator_check: Check | None = None,
    limits: RateLimitSettings | None = None,
    clock: Clock = time.monotonic,
) -> FastAPI:
    """The HTTP API on ``orders`` for its customers and ``operators``, within ``limits``
    (``ORDERS_RATE_LIMIT_*`` unless given; counted on ``clock``). Its health checks ping the
    database and (unless ``emulator_check`` replaces it) read the order-events topic's
    attributes."""
    aws_settings = aws_settings or load(AwsSettings)
    return create_app(
        orders.service,
        orders.summaries,
        orders.operations_log,
        orders.outbox,
        operators=operators,
        rate_limits=rate_limits(limits or load(RateLimitSettings), clock),
        currency=settings.currency,
        health_checks={
            "database": lambda: _ping(orders.engine),
            "emulator": emulator_check or _topic_check(settings.topic_arn, aws_settings),
        },
        operations=operations,
    )


def rate_limits(settings: RateLimitSettings, clock: Clock = time.monotonic) -> RateLimits:
    """The API's per-client limits; each API process counts its own clients."""
    return RateLimits(
        placements=SlidingWindow(settings.placements_per_second, clock=clock),
        operator_requests=SlidingWindow(settings.operator_requests_per_second, clock=clock),
        trusted_proxy_hops=settings.trusted_proxy_hops,
    )


def operators(aws_settings: AwsSettings, settings: OperatorSettings | None = None) -> Operators:
    """The operators of ``OPERATORS_PATH`` in Parameter Store, cached briefly."""
    return operator_directory.operators(settings or load(OperatorSettings), aws_settings)


def operator_registry(
    aws_settings: AwsSettings, settings: OperatorSettings | None = None
) -> OperatorRegistry:
    """Adds and removes the operators of ``OPERATORS_PATH``."""
    return operator_directory.registry(settings or load(OperatorSettings), aws_settings)


def queue_operations(
    aws_settings: AwsSettings, settings: OperationsSettings | None = None
) -> QueueOperations:
    """The operations view of the stack ``ORDERS_STACK_NAME`` names."""
    return QueueOperations(
        aws.client("sqs", aws_settings),
        aws.client("cloudwatch", aws_settings),
        settings or load(OperationsSettings),
    )


def relay(
    orders: Orders,
    settings: OrdersSettings,
    aws_settings: AwsSettings,
    tuning: RelaySettings | None = None,
) -> OutboxRelay:
    """The relay of ``orders``' outbox to the topic, the payments queue and the bus; it counts
    the records it parks in CloudWatch (``OutboxRecordsParked``)."""
    publishers: dict[str, Publisher] = {
        Destination.SNS: SnsPublisher(relay_client("sns", aws_settings), settings.topic_arn),
        Destination.BUS: BusPublisher(
            relay_client("events", aws_settings), settings.event_bus_name
        ),
        Destination.FIFO: FifoPublisher(
            relay_client("sqs", aws_settings), settings.payments_queue_url
        ),
    }
    return OutboxRelay(
        orders.outbox,
        publishers,
        tuning or load(RelaySettings),
        metrics=OutboxMetrics(metrics_client(aws_settings)),
    )


def worker(
    orders: Orders,
    settings: OrdersSettings,
    aws_settings: AwsSettings,
    tuning: WorkerSettings | None = None,
) -> OrderUpdatesWorker:
    """The worker applying the replies on the order-updates queue to ``orders``; it pauses
    while ``orders``' database fails its ping."""
    tuning = tuning or load(WorkerSettings)
    return OrderUpdatesWorker(
        worker_client(aws_settings, tuning.wait_seconds),
        settings.updates_queue_url,
        orders.service.apply_reply,
        tuning,
        store_probe=lambda: _ping(orders.engine),
    )


def projector(
    orders: Orders,
    aws_settings: AwsSettings | None = None,
    tuning: ProjectorSettings | None = None,
) -> Projector:
    """The projector keeping ``orders``' summaries up to date; it counts the events it sets
    aside in CloudWatch (``ProjectionEventsSetAside``)."""
    tuning = tuning or load(ProjectorSettings)
    return Projector(
        orders.summaries,
        metrics=ProjectionMetrics(metrics_client(aws_settings or load(AwsSettings))),
        poll_interval=tuning.poll_interval_seconds,
        batch_size=tuning.batch_size,
        gap_timeout=timedelta(seconds=tuning.gap_timeout_seconds),
        backoff_max=tuning.backoff_max_seconds,
    )


def _ping(engine: Engine) -> None:
    """Raises unless the database answers (on SQLite, ``BEGIN IMMEDIATE``: unless it can be
    written)."""
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))


def _topic_check(topic_arn: str, aws_settings: AwsSettings) -> Check:
    def check() -> None:
        sns = aws.client(
            "sns",
            aws_settings,
            connect_timeout=PROBE_CONNECT_TIMEOUT_SECONDS,
            read_timeout=PROBE_READ_TIMEOUT_SECONDS,
            max_attempts=0,
        )
        sns.get_topic_attributes(TopicArn=topic_arn)

    return check
