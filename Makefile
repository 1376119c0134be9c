# Event-sourced order processing on AWS, run locally on LocalStack without Docker.
# `make` alone lists the targets.

PYTHON ?= python3
# LocalStack 4.13.1 runs on Python 3.11 only, whatever PYTHON the project uses.
LOCALSTACK_PYTHON ?= python3.11
VENV := .venv
LS_VENV := .venv-localstack
PY := $(VENV)/bin/python
LOCALSTACK_PORT ?= 4566
TEST_LOCALSTACK_PORT ?= 4567
# The drills start and freeze a LocalStack of their own (never the suite's).
DRILL_LOCALSTACK_PORT ?= 4568
API_PORT ?= 8000
STACK_ARGS = --stack $(or $(STACK),shop) --port $(LOCALSTACK_PORT) --api-port $(API_PORT)
PYTEST_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: new-consumer remove-consumer help install demo up down status localstack-up localstack-down localstack-status test drill lint bench compose-up compose-down clean lock package deploy destroy

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  \033[1m%-18s\033[0m %s\n", $$1, $$2}'

# Every download is checked against the lock's hashes (--require-hashes). The locks pin pip and
# setuptools too: the interpreter's own pip (ensurepip, nothing downloaded) installs the lock,
# pinned pip included, and the project's editable install builds with the locked setuptools
# (--no-build-isolation). The LocalStack extension alone builds in isolation (pip fetches
# setuptools>=61 for it, unhashed): plux, in that environment, breaks a non-isolated editable build.
$(VENV)/.installed: requirements/dev.txt pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is needed, found " + sys.version'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --require-hashes -r requirements/dev.txt
	$(PY) -m pip install -q --no-deps --no-build-isolation -e .
	@touch $@

$(LS_VENV)/.installed: requirements/localstack.txt infra/localstack-ext/pyproject.toml
	@$(LOCALSTACK_PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "LocalStack needs Python 3.11 (LOCALSTACK_PYTHON), found " + sys.version'
	$(LOCALSTACK_PYTHON) -m venv $(LS_VENV)
	$(LS_VENV)/bin/python -m pip install -q --require-hashes -r requirements/localstack.txt
	$(LS_VENV)/bin/python -m pip install -q --no-deps -e infra/localstack-ext
	rm -f $(HOME)/.cache/plux/*entry_points*  # plux caches entry points by coarse file times
	@touch $@

install: $(VENV)/.installed $(LS_VENV)/.installed ## Create the virtual environments (pinned dependencies)

demo: install ## Run the whole shop in the foreground (site http://shop.localhost:4566/) until Ctrl-C
	$(PY) -m infra.local.stack run $(STACK_ARGS)

up: install ## Start the whole shop in the background; returns once everything answers
	$(PY) -m infra.local.stack up $(STACK_ARGS)

down: ## Stop what `make up` started
	@$(PYTHON) -m infra.local.stack down $(STACK_ARGS)

status: ## Show what runs and where
	@$(PYTHON) -m infra.local.stack status $(STACK_ARGS)

localstack-up: install ## Start LocalStack on the host in the background (LOCALSTACK_PORT, PROFILE=test)
	$(PY) -m infra.local.localstack_runner start --port $(LOCALSTACK_PORT) --profile $(or $(PROFILE),default)

localstack-down: ## Stop the background LocalStack
	@$(PYTHON) -m infra.local.localstack_runner stop --port $(LOCALSTACK_PORT)

localstack-status: ## Say whether LocalStack answers
	@$(PYTHON) -m infra.local.localstack_runner status --port $(LOCALSTACK_PORT)

test: install ## Run the whole suite (unit, integration, end-to-end, browser) on a LocalStack of its own
	$(PY) -m infra.cloudformation.packaging
	$(PY) -m infra.local.localstack_runner start --port $(TEST_LOCALSTACK_PORT) --profile test
	AWS_ENDPOINT_URL=http://127.0.0.1:$(TEST_LOCALSTACK_PORT) $(PY) -m pytest -n 2 --dist loadgroup \
	  --ignore=tests/drills $(PYTEST_ARGS); \
	  status=$$?; $(PY) -m infra.local.localstack_runner stop --port $(TEST_LOCALSTACK_PORT); exit $$status

drill: install ## Six fault drills (60 s outages) on a shop of their own while orders flow; prints the table
	$(PY) -m infra.cloudformation.packaging
	DRILL_ALL=1 DRILL_OUTAGE_SECONDS=$(or $(DRILL_OUTAGE_SECONDS),60) DRILL_LOCALSTACK_PORT=$(DRILL_LOCALSTACK_PORT) \
	  $(PY) -m pytest tests/drills -n 0 -p no:cacheprovider $(PYTEST_ARGS)

# bandit ([tool.bandit] in pyproject.toml): the code with every check, then the test folders
# without B101 (asserts) and B105-B107 (fake tokens and the emulator's dummy credentials).
BANDIT_TEST_PATHS = $(shell find . \( -name '.venv*' -o -name .git -o -name build -o -name node_modules \) \
	-prune -o -type d -name tests -prune -print -o -type f -name conftest.py -print)

lint: $(VENV)/.installed $(LS_VENV)/.installed ## Ruff, mypy strict (the LocalStack extension against its own environment), import contracts, bandit
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	cd infra/localstack-ext && ../../$(VENV)/bin/mypy --python-executable ../../$(LS_VENV)/bin/python
	$(VENV)/bin/lint-imports
	$(VENV)/bin/bandit -q -c pyproject.toml -r . -x '*/tests/*,*/conftest.py'
	$(VENV)/bin/bandit -q -c pyproject.toml -r $(BANDIT_TEST_PATHS) -s B101,B105,B106,B107

bench: install ## Figures of every issue: local cloud, deploy, placement, pipeline (tables + build/*.json)
	AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test $(PY) -m bench $(STACK_ARGS) --rounds 3 --budget 330 $(BENCH_ARGS)

new-consumer: $(VENV)/.installed ## Add services/<NAME>/ in the consumers' shape and its template entry (NAME=demo-consumer)
	@test -n "$(NAME)" || { echo "usage: make new-consumer NAME=demo-consumer"; exit 2; }
	$(PY) -m infra.scaffold.consumer new $(NAME)

remove-consumer: $(VENV)/.installed ## Remove what `make new-consumer NAME=...` added
	@test -n "$(NAME)" || { echo "usage: make remove-consumer NAME=demo-consumer"; exit 2; }
	$(PY) -m infra.scaffold.consumer remove $(NAME)

package: $(VENV)/.installed ## Build the Lambda zips under build/lambda/ (only what changed)
	$(PY) -m infra.cloudformation.packaging

# The target follows AWS_ENDPOINT_URL: the host LocalStack by default; set it empty for AWS.
deploy destroy: export AWS_ENDPOINT_URL ?= http://127.0.0.1:$(LOCALSTACK_PORT)
deploy destroy: export AWS_DEFAULT_REGION ?= us-east-1
LOCAL_CREDENTIALS = $(if $(AWS_ENDPOINT_URL),AWS_ACCESS_KEY_ID=$${AWS_ACCESS_KEY_ID:-test} AWS_SECRET_ACCESS_KEY=$${AWS_SECRET_ACCESS_KEY:-test})

deploy: $(VENV)/.installed ## Create or update the stack (STACK=shop, PROFILE=default|test), upload the site
	$(LOCAL_CREDENTIALS) $(PY) -m infra.cloudformation.deploy deploy --stack $(or $(STACK),shop) --profile $(or $(PROFILE),default)

destroy: $(VENV)/.installed ## Delete the stack (STACK=shop)
	$(LOCAL_CREDENTIALS) $(PY) -m infra.cloudformation.deploy destroy --stack $(or $(STACK),shop)

compose-up: ## With a Docker engine: LocalStack 4.13.1 (Docker Lambdas) and PostgreSQL on 5433
	docker compose up -d --wait

compose-down: ## Stop the docker-compose stack
	docker compose down -v

# Existing pins are kept (LOCK_ARGS='--upgrade-package NAME' moves one); the hashes cover every
# file of each pinned release on the index (all Pythons and platforms); --allow-unsafe pins pip
# and setuptools as well.
lock: $(VENV)/.installed ## Re-pin requirements/*.txt (with hashes) from requirements/*.in
	cd requirements && for f in app dev lambda localstack; do \
	  ../$(VENV)/bin/pip-compile -q --strip-extras --no-header --no-emit-index-url --no-emit-find-links \
	    --generate-hashes --allow-unsafe $(LOCK_ARGS) $$f.in -o $$f.txt; done

clean: localstack-down ## Remove virtual environments, LocalStack state and caches
	rm -rf $(VENV) $(LS_VENV) .localstack .data build .pytest_cache .mypy_cache .ruff_cache .import_linter_cache test-artifacts
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
