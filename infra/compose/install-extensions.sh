#!/bin/sh
# Boot hook of the LocalStack container: install the project's extensions before LocalStack starts.
set -eu
cp -r /opt/shop-localstack-ext /tmp/shop-localstack-ext
/opt/code/localstack/.venv/bin/python -m pip install -q --no-deps /tmp/shop-localstack-ext
