#!/bin/sh
# One-shot deploy of the compose path: the stack onto the LocalStack container, then the orders
# service's settings from its outputs into the shared volume the orders container reads.
set -eu
db() { echo "postgresql+psycopg://postgres@postgres:5432/$1"; }
python -m infra.cloudformation.deploy deploy --profile test \
  --parameter OrdersApiDomain=orders --parameter OrdersApiPort=8000 \
  --parameter InventoryDatabaseUrl="$(db inventory)" \
  --parameter EmailDatabaseUrl="$(db email)" \
  --parameter AnalyticsDatabaseUrl="$(db analytics)" \
  --parameter PaymentsDatabaseUrl="$(db payments)" \
  --parameter FraudDatabaseUrl="$(db fraud)"
python -m infra.cloudformation.deploy outputs --format env > /state/orders.env.tmp
mv /state/orders.env.tmp /state/orders.env
