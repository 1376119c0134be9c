"""``python -m services.orders <command>``: the orders service's one entry point.

Every command reads its settings from the environment (``ORDERS_*``, ``OPERATORS_*``, ``AWS_*``;
see ``services.orders.settings``), prints a configuration problem naming the variable (exit 2),
gets its parts from ``services.orders.bootstrap`` and runs them under a ``Supervisor``, which
stops them cleanly on SIGINT/SIGTERM. ``operators add NAME`` prints the new operator's
credential, once, on standard output.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

from services.orders import bootstrap
from services.orders.api.server import http_server
from services.orders.settings import DatabaseSettings, OrdersSettings
from services.orders.supervisor import Loop, Supervisor
from shared.operators import InvalidOperatorName, OperatorExists
from shared.settings import AwsSettings, ConfigurationError, load

CONFIGURATION_ERROR = 2


def cmd_serve(args: argparse.Namespace) -> int:
    """The API, with the projector beside it."""
    settings, aws = load(OrdersSettings), load(AwsSettings)
    orders = bootstrap.orders(settings.database_url)
    try:
        app = _api(orders, settings, aws)
        server = http_server(app, args.host, args.port, args.log_level)
        return Supervisor().run([_projector(orders, aws)], server)
    finally:
        orders.close()


def cmd_run(args: argparse.Namespace) -> int:
    """API, relay, worker and projector in one process (the demo)."""
    settings, aws = load(OrdersSettings), load(AwsSettings)
    orders = bootstrap.orders(settings.database_url)
    try:
        app = _api(orders, settings, aws)
        loops = [
            Loop("relay", bootstrap.relay(orders, settings, aws).run),
            Loop("worker", bootstrap.worker(orders, settings, aws).run),
            _projector(orders, aws),
        ]
        server = http_server(app, args.host, args.port, args.log_level)
        return Supervisor().run(loops, server)
    finally:
        orders.close()


def cmd_relay(args: argparse.Namespace) -> int:
    settings, aws = load(OrdersSettings), load(AwsSettings)
    orders = bootstrap.orders(settings.database_url)
    try:
        relay = bootstrap.relay(orders, settings, aws)
        if not args.until_empty:
            return Supervisor().run([Loop("relay", relay.run)])
        began = time.monotonic()
        published = relay.drain()
        elapsed = time.monotonic() - began
        print(f"published {published} outbox records in {elapsed:.2f}s")
        return 0
    finally:
        orders.close()


def cmd_worker(args: argparse.Namespace) -> int:
    settings, aws = load(OrdersSettings), load(AwsSettings)
    orders = bootstrap.orders(settings.database_url)
    try:
        return Supervisor().run([Loop("worker", bootstrap.worker(orders, settings, aws).run)])
    finally:
        orders.close()


def cmd_project(args: argparse.Namespace) -> int:
    orders = bootstrap.orders(load(DatabaseSettings).database_url)
    try:
        return Supervisor().run([_projector(orders, load(AwsSettings))])
    finally:
        orders.close()


def cmd_migrate(args: argparse.Namespace) -> int:
    bootstrap.orders(load(DatabaseSettings).database_url).close()
    print("orders database migrated to the latest revision")
    return 0


def cmd_rebuild_projections(args: argparse.Namespace) -> int:
    """Rebuild the summaries from the whole log, retrying every set-aside event on the way."""
    orders = bootstrap.orders(load(DatabaseSettings).database_url)
    try:
        rebuilt = orders.summaries.rebuild()
    finally:
        orders.close()
    print(f"order summaries rebuilt from {rebuilt.events} events")
    for event in rebuilt.set_aside:
        print(
            f"still set aside: {event.event_type} at position {event.position} of stream"
            f" {event.stream_id} (attempt {event.attempts}): {event.error}"
        )
    if rebuilt.set_aside:
        print(f"{len(rebuilt.set_aside)} events still set aside: fix their cause and run again")
    return 0


def cmd_outbox_status(args: argparse.Namespace) -> int:
    orders = bootstrap.orders(load(DatabaseSettings).database_url)
    try:
        status = orders.outbox.status()
    finally:
        orders.close()
    print(status.to_json() if args.json else status.describe())
    return 0


def cmd_operators_add(args: argparse.Namespace) -> int:
    registry = bootstrap.operator_registry(load(AwsSettings))
    try:
        credential = registry.add(args.name, replace=args.replace)
    except (InvalidOperatorName, OperatorExists) as error:
        print(f"orders operators add: {error}", file=sys.stderr)
        return 1
    print(
        f"operator {args.name!r} {'has a new credential' if args.replace else 'added'};"
        " the credential below is shown once (only its SHA-256 is stored):",
        file=sys.stderr,
    )
    print(credential)
    return 0


def cmd_operators_remove(args: argparse.Namespace) -> int:
    try:
        removed = bootstrap.operator_registry(load(AwsSettings)).remove(args.name)
    except InvalidOperatorName as error:
        print(f"orders operators remove: {error}", file=sys.stderr)
        return 1
    if not removed:
        print(f"orders operators remove: no operator {args.name!r}", file=sys.stderr)
        return 1
    print(f"operator {args.name!r} removed (refused once the caches expire)", file=sys.stderr)
    return 0


def cmd_operators_list(args: argparse.Namespace) -> int:
    for name in bootstrap.operator_registry(load(AwsSettings)).names():
        print(name)
    return 0


def _api(orders: bootstrap.Orders, settings: OrdersSettings, aws: AwsSettings) -> Any:
    return bootstrap.api(
        orders,
        settings,
        aws,
        operators=bootstrap.operators(aws),
        operations=bootstrap.queue_operations(aws),
    )


def _projector(orders: bootstrap.Orders, aws: AwsSettings) -> Loop:
    return Loop("projector", bootstrap.projector(orders, aws).run)


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
        ("serve", cmd_serve, "serve the HTTP API (uvicorn) and keep the order summaries"),
        ("run", cmd_run, "API, outbox relay, order-updates worker and projector in one process"),
    ):
        sub = command(name, handler, help)
        sub.add_argument("--host", default="127.0.0.1")
        sub.add_argument("--port", type=int, default=8000)
    relay = command(
        "relay", cmd_relay, "publish the outbox (SNS, payments FIFO queue, EventBridge)"
    )
    relay.add_argument(
        "--until-empty",
        action="store_true",
        help="publish what is in the outbox, print how many records and how long, and exit",
    )
    command("worker", cmd_worker, "apply the replies on the order-updates queue")
    command("project", cmd_project, "keep the order summaries up to date")
    command(
        "rebuild-projections",
        cmd_rebuild_projections,
        "rebuild the order summaries from the event log, retrying the set-aside events",
    )
    command("migrate", cmd_migrate, "upgrade the database to the latest migration")
    outbox = command("outbox-status", cmd_outbox_status, "outbox backlog and lag per destination")
    outbox.add_argument("--json", action="store_true", help="print JSON")
    operators = commands.add_parser(
        "operators",
        help="add, remove and list the operators (in SSM Parameter Store under OPERATORS_PATH)",
    ).add_subparsers(dest="operators_command", required=True, metavar="action")
    add = operators.add_parser("add", help="add an operator and print its credential once")
    add.set_defaults(handler=cmd_operators_add)
    add.add_argument("name", help="1-64 letters, digits, '.', '_' or '-'")
    add.add_argument(
        "--replace", action="store_true", help="issue a new credential to an existing operator"
    )
    remove = operators.add_parser("remove", help="revoke an operator")
    remove.set_defaults(handler=cmd_operators_remove)
    remove.add_argument("name")
    operators.add_parser("list", help="the operators' names").set_defaults(
        handler=cmd_operators_list
    )
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
