"""``python -m services.orders <command>``: the orders service's one entry point.

The composition root of the processes: every command reads its settings from the environment
(``ORDERS_*``, ``AWS_*``), prints a configuration problem naming the variable (exit 2) and stops
cleanly on SIGINT/SIGTERM: the API stops serving, the loops finish their pass, the threads are
joined, then the process exits 0.
"""

from __future__ import annotations

import argparse
import functools
import logging
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import FrameType
from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import Engine
from sqlalchemy.exc import ArgumentError

from services.orders.config import OrdersSettings
from shared.database import create_engine_for
from shared.settings import AwsSettings, ConfigurationError, load

log = logging.getLogger("orders.cli")

CONFIGURATION_ERROR = 2
JOIN_TIMEOUT_SECONDS = 30.0


class DatabaseSettings(BaseSettings):
    """What the database-only commands need (``ORDERS_DATABASE_URL``)."""

    model_config = SettingsConfigDict(frozen=True, extra="ignore", env_prefix="ORDERS_")

    database_url: str = Field(min_length=1)


KEEP_ALIVE_SECONDS = 75


def _engine(url: str) -> Engine:
    try:
        return create_engine_for(url)
    except (ArgumentError, ValueError) as error:
        raise ConfigurationError(f"invalid configuration: ORDERS_DATABASE_URL: {error}") from error


@dataclass
class Loop:
    """A long-running part of the process: ``target(stop)`` returns once ``stop`` is set."""

    name: str
    target: Callable[[threading.Event], None]


class Supervisor:
    """Runs loops in threads (and optionally a uvicorn server) until a signal or a failure."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.failed = False
        self.threads: list[threading.Thread] = []

    def _guarded(self, name: str, target: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                target()
            except SystemExit as exit:
                # uvicorn exits this way when it cannot start (it logged why)
                log.error("%s exited with %s; stopping the process", name, exit.code)
                self.failed = True
            except BaseException:
                log.exception("%s failed; stopping the process", name)
                self.failed = True
            finally:
                if not self.stop.is_set():
                    if not self.failed:
                        log.error("%s ended unexpectedly; stopping the process", name)
                        self.failed = True
                    self.stop.set()

        return run

    def start(self, name: str, target: Callable[[], None]) -> None:
        thread = threading.Thread(target=self._guarded(name, target), name=name)
        thread.start()
        self.threads.append(thread)

    def run(self, loops: Sequence[Loop], server: Any | None = None) -> int:
        """Run until SIGINT/SIGTERM (or a part fails); 0 after a clean stop, 1 after a failure."""
        previous = {
            sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGINT, signal.SIGTERM)
        }
        try:
            if server is not None:
                self.start("api", server.run)
            for loop in loops:
                self.start(loop.name, functools.partial(loop.target, self.stop))
            while not self.stop.wait(0.5):
                pass
        finally:
            self.stop.set()
            if server is not None:
                server.should_exit = True
            for thread in self.threads:
                thread.join(JOIN_TIMEOUT_SECONDS)
                if thread.is_alive():
                    log.error("%s did not stop within %.0fs", thread.name, JOIN_TIMEOUT_SECONDS)
                    self.failed = True
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        log.info("stopped")
        return 1 if self.failed else 0

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        if not self.stop.is_set():
            log.info("%s received; stopping", signal.Signals(signum).name)
        self.stop.set()


def _uvicorn_server(app: Any, host: str, port: int, log_level: str) -> Any:
    import uvicorn

    # Keep idle connections longer than clients and proxies do (CloudFront, load balancers
    # and httpx close theirs sooner), so a reused connection is never closed mid-request.
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level.lower(),
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
    )
    return uvicorn.Server(config)


def _ops_router(settings: OrdersSettings, aws: AwsSettings) -> Any:
    from services.orders.operations import OpsSettings, QueueOperations
    from services.orders.ops_api import create_ops_router

    return create_ops_router(settings, QueueOperations.from_settings(load(OpsSettings), aws))


def _api(settings: OrdersSettings, aws: AwsSettings, *, project: bool) -> Any:
    from services.orders.api import create_app

    return create_app(
        settings,
        project_in_background=project,
        extra_routers=[_ops_router(settings, aws)],
    )


def _relay_loop(settings: OrdersSettings, aws: AwsSettings, engine: Engine) -> Loop:
    from services.orders.adapters.event_store import SqlEventStore
    from services.orders.relay import OutboxRelay, RelaySettings, publishers_for

    relay = OutboxRelay(SqlEventStore(engine), publishers_for(settings, aws), load(RelaySettings))
    return Loop("relay", relay.run)


def _worker_loop(settings: OrdersSettings, aws: AwsSettings, engine: Engine) -> Loop:
    from services.orders.application import OrderService
    from services.orders.worker import OrderUpdatesWorker, WorkerSettings, worker_client

    tuning = load(WorkerSettings)
    worker = OrderUpdatesWorker(
        worker_client(aws, tuning),
        settings.updates_queue_url,
        OrderService.for_engine(engine).apply_reply,
        tuning,
    )
    return Loop("worker", worker.run)


def _projector_loop(engine: Engine) -> Loop:
    from services.orders.projections import run_projector

    return Loop("projector", lambda stop: run_projector(engine, stop))


def _migrated_engine(url: str) -> Engine:
    from services.orders.adapters.migrations import migrate

    engine = _engine(url)
    migrate(url)
    return engine


# --- commands --------------------------------------------------------------------------------


def cmd_serve(args: argparse.Namespace) -> int:
    settings, aws = load(OrdersSettings), load(AwsSettings)
    server = _uvicorn_server(
        _api(settings, aws, project=True), args.host, args.port, args.log_level
    )
    return Supervisor().run([], server)


def cmd_relay(args: argparse.Namespace) -> int:
    settings, aws = load(OrdersSettings), load(AwsSettings)
    engine = _migrated_engine(settings.database_url)
    try:
        return Supervisor().run([_relay_loop(settings, aws, engine)])
    finally:
        engine.dispose()


def cmd_worker(args: argparse.Namespace) -> int:
    settings, aws = load(OrdersSettings), load(AwsSettings)
    engine = _migrated_engine(settings.database_url)
    try:
        return Supervisor().run([_worker_loop(settings, aws, engine)])
    finally:
        engine.dispose()


def cmd_project(args: argparse.Namespace) -> int:
    engine = _migrated_engine(load(DatabaseSettings).database_url)
    try:
        return Supervisor().run([_projector_loop(engine)])
    finally:
        engine.dispose()


def cmd_run(args: argparse.Namespace) -> int:
    """API, relay, worker and projector in one process (the demo)."""
    settings, aws = load(OrdersSettings), load(AwsSettings)
    app = _api(settings, aws, project=False)  # migrates the database
    engine = _engine(settings.database_url)
    try:
        loops = [
            _relay_loop(settings, aws, engine),
            _worker_loop(settings, aws, engine),
            _projector_loop(engine),
        ]
        server = _uvicorn_server(app, args.host, args.port, args.log_level)
        return Supervisor().run(loops, server)
    finally:
        engine.dispose()


def cmd_migrate(args: argparse.Namespace) -> int:
    from services.orders.adapters.migrations import migrate

    url = load(DatabaseSettings).database_url
    _engine(url).dispose()
    migrate(url)
    print("orders database migrated to the latest revision")
    return 0


def cmd_rebuild_projections(args: argparse.Namespace) -> int:
    from services.orders.projections import rebuild_projections

    engine = _migrated_engine(load(DatabaseSettings).database_url)
    try:
        replayed = rebuild_projections(engine)
    finally:
        engine.dispose()
    print(f"order summaries rebuilt from {replayed} events")
    return 0


def cmd_outbox_status(args: argparse.Namespace) -> int:
    from services.orders.relay import describe_json, outbox_status

    engine = _migrated_engine(load(DatabaseSettings).database_url)
    try:
        status = outbox_status(engine)
    finally:
        engine.dispose()
    print(describe_json(status) if args.json else status.describe())
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m services.orders",
        description="The orders service. Settings come from ORDERS_* and AWS_* variables.",
    )
    parser.add_argument(
        "--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"]
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="command")

    def command(name: str, handler: Callable[[argparse.Namespace], int], help: str) -> Any:
        sub = commands.add_parser(name, help=help, description=help)
        sub.set_defaults(handler=handler)
        return sub

    for name, handler, help in (
        ("serve", cmd_serve, "serve the HTTP API (uvicorn)"),
        ("run", cmd_run, "API, outbox relay, order-updates worker and projector in one process"),
    ):
        sub = command(name, handler, help)
        sub.add_argument("--host", default="127.0.0.1")
        sub.add_argument("--port", type=int, default=8000)
    command("relay", cmd_relay, "publish the outbox (SNS, payments FIFO queue, EventBridge)")
    command("worker", cmd_worker, "apply the replies on the order-updates queue")
    command("project", cmd_project, "keep the order summaries up to date")
    command("rebuild-projections", cmd_rebuild_projections, "rebuild the order summaries")
    command("migrate", cmd_migrate, "upgrade the database to the latest migration")
    outbox = command("outbox-status", cmd_outbox_status, "outbox backlog and lag per destination")
    outbox.add_argument("--json", action="store_true", help="print JSON")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)
    try:
        return int(args.handler(args))
    except ConfigurationError as error:
        print(f"orders {args.command}: {error}", file=sys.stderr)
        return CONFIGURATION_ERROR
