"""The compose path's databases: one per service, created when missing, named after the service.

``python -m infra.local.compose_databases --server postgresql+psycopg://postgres@postgres:5432``
creates the orders database and one for each Lambda service of the template, then prints the
``--parameter <Service>DatabaseUrl=<url>`` flags that point each Lambda at its own database, so
a new consumer needs no line here.
"""

from __future__ import annotations

import argparse
import shlex

from sqlalchemy import create_engine, text

from infra.cloudformation.template import LAMBDA_SERVICES
from infra.cloudformation.topology.blocks import pascal

ORDERS_DATABASE = "orders"


def databases() -> tuple[str, ...]:
    """Every database of the compose path: the orders service's and each Lambda's."""
    return (ORDERS_DATABASE, *LAMBDA_SERVICES)


def parameter_flags(server: str) -> list[str]:
    """The deploy's ``--parameter`` flags that give each Lambda service its database."""
    return [
        f"--parameter={pascal(service)}DatabaseUrl={server.rstrip('/')}/{service}"
        for service in LAMBDA_SERVICES
    ]


def create_missing(server: str) -> list[str]:
    """Create the databases the server lacks; the names created."""
    engine = create_engine(f"{server.rstrip('/')}/postgres", isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            present = set(connection.scalars(text("SELECT datname FROM pg_database")))
            missing = [name for name in databases() if name not in present]
            for name in missing:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        engine.dispose()
    return missing


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", required=True, help="PostgreSQL URL without a database")
    args = parser.parse_args(argv)
    create_missing(args.server)
    print(shlex.join(parameter_flags(args.server)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
