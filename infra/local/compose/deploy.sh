#!/bin/sh
# One-shot deploy of the compose path: a database per service, the stack onto the LocalStack
# container, then the orders service's settings from its outputs into the shared volume the
# orders container reads.
set -eu
# The flags that point each Lambda at its own database (created here when missing).
eval "set -- $(python -m infra.local.compose_databases --server postgresql+psycopg://postgres@postgres:5432)"
python -m infra.cloudformation.deploy deploy --profile test \
  --parameter OrdersApiDomain=orders --parameter OrdersApiPort=8000 "$@"
python -m infra.cloudformation.deploy outputs --format env > /state/orders.env.tmp
mv /state/orders.env.tmp /state/orders.env
