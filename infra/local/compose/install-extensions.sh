#!/bin/sh
# Boot hook of the LocalStack container: install the project's extensions before LocalStack starts
# (host Lambda executor, CloudFront control plane and edge, CloudFormation resource providers).
set -eu
cp -r /opt/shop-localstack-ext /tmp/shop-localstack-ext
/opt/code/localstack/.venv/bin/python -m pip install -q --no-deps /tmp/shop-localstack-ext
# plux caches LocalStack's entry points keyed on file times it rounds to about two minutes; drop
# the cache so that the entry points just installed are seen.
rm -rf "${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/plux"
