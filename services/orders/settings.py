"""Every setting of the orders service: environment variables prefixed ``ORDERS_``.

Read them with ``shared.settings.load``, which names every bad or missing variable; the AWS
endpoint and region are ``shared.settings.AwsSettings`` (unprefixed ``AWS_*``), where the
operators are is ``shared.operators.OperatorSettings`` (``OPERATORS_*``). ``make deploy`` prints
the values that come from the stack outputs.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class DatabaseSettings(BaseSettings):
    """Where the events live (``ORDERS_DATABASE_URL``): all the database-only commands need."""

    model_config = SettingsConfigDict(frozen=True, extra="ignore", env_prefix="ORDERS_")

    database_url: str = Field(min_length=1)


class OrdersSettings(DatabaseSettings):
    """Where the service publishes and what it consumes."""

    topic_arn: str = Field(min_length=1)
    payments_queue_url: str = Field(min_length=1)
    event_bus_name: str = Field(min_length=1)
    updates_queue_url: str = Field(min_length=1)
    currency: str = Field(default="EUR", pattern=r"^[A-Z]{3}$")


class OperationsSettings(BaseSettings):
    """Which stack the operations view looks at (``ORDERS_STACK_NAME``)."""

    model_config = SettingsConfigDict(frozen=True, extra="ignore", env_prefix="ORDERS_")

    stack_name: str = Field(default="shop", pattern=r"^[A-Za-z][A-Za-z0-9-]{0,127}$")

    @property
    def name_prefix(self) -> str:
        return f"{self.stack_name}-"


class RelaySettings(BaseSettings):
    """Tuning of the outbox relay (``ORDERS_RELAY_*``); the defaults favour low latency."""

    model_config = SettingsConfigDict(frozen=True, extra="ignore", env_prefix="ORDERS_RELAY_")

    idle_interval_seconds: float = Field(default=0.05, gt=0, le=60)
    claim_size: int = Field(default=100, ge=1, le=1000)
    lease_seconds: float = Field(default=30.0, gt=0)
    backoff_initial_seconds: float = Field(default=0.2, gt=0)
    backoff_max_seconds: float = Field(default=10.0, gt=0)
    status_interval_seconds: float = Field(default=30.0, gt=0)
    publish_concurrency: int = Field(default=8, ge=1, le=64)
    park_after_attempts: int = Field(default=3, ge=1, le=1000)
    """Attempts of a record the broker rejects (invalid, too large) before it is parked."""


class WorkerSettings(BaseSettings):
    """Tuning of the order-updates worker (``ORDERS_WORKER_*``); see ``services.orders.worker``
    for how the retry visibility and the queue's ``maxReceiveCount`` outlast an outage."""

    model_config = SettingsConfigDict(frozen=True, extra="ignore", env_prefix="ORDERS_WORKER_")

    wait_seconds: int = Field(default=5, ge=0, le=20)
    """Long-poll wait; also the longest a stop request waits for the poll in flight."""
    retry_initial_seconds: int = Field(default=10, ge=0, le=43200)
    """Ceiling of the visibility of a message after its first failed receive; it doubles per
    receive up to ``retry_max_seconds``, and the jitter keeps at least half of it."""
    retry_max_seconds: int = Field(default=300, ge=0, le=43200)
    probe_initial_seconds: float = Field(default=0.5, gt=0)
    """First wait between probes of the store while it is down (the breaker is open)."""
    backoff_max_seconds: float = Field(default=10.0, gt=0)
    """Longest wait between probes of the store, and between receives while the queue cannot
    be reached."""


class ProjectorSettings(BaseSettings):
    """Tuning of the projector of the order summaries (``ORDERS_PROJECTOR_*``)."""

    model_config = SettingsConfigDict(frozen=True, extra="ignore", env_prefix="ORDERS_PROJECTOR_")

    poll_interval_seconds: float = Field(default=0.2, gt=0, le=60)
    backoff_max_seconds: float = Field(default=10.0, gt=0)
    """Longest wait between attempts while projecting fails (the database is down, say)."""
    batch_size: int = Field(default=500, ge=1, le=10_000)
    gap_timeout_seconds: float = Field(default=3.0, ge=0, le=600)
    """How long a position gap may stay open before it counts as a rolled-back transaction."""


class RateLimitSettings(BaseSettings):
    """Per-client request limits of the API (``ORDERS_RATE_LIMIT_*``); the defaults are the
    production values. A limit of N per second admits at most N requests in any one second.

    ``trusted_proxy_hops``: how many proxies in front of the API append the address they saw to
    ``X-Forwarded-For`` (1: CloudFront or the local edge; 2: CloudFront and a load balancer;
    0: the API is reached directly and the socket's peer is the client)."""

    model_config = SettingsConfigDict(frozen=True, extra="ignore", env_prefix="ORDERS_RATE_LIMIT_")

    placements_per_second: int = Field(default=20, ge=1, le=1_000_000)
    """Order placements (``POST /api/orders``) per client address."""
    operator_requests_per_second: int = Field(default=20, ge=1, le=1_000_000)
    """Requests with an operator's credential, per operator; and per address while the
    credential is missing or wrong (credential guessing)."""
    trusted_proxy_hops: int = Field(default=1, ge=0, le=10)
