"""The docker-compose path stays in step with the host path (no Docker engine runs here)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from infra.cloudformation.deploy import ORDERS_ENVIRONMENT
from infra.cloudformation.profiles import parse_parameter_flags
from infra.cloudformation.template import AWS_ONLY_RESOURCE_TYPES, LAMBDA_SERVICES, build_template
from infra.local import localstack_runner
from infra.local.compose_databases import databases, parameter_flags

ROOT = Path(__file__).resolve().parents[3]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
DEPLOY_SCRIPT = (ROOT / "infra" / "local" / "compose" / "deploy.sh").read_text()


def test_localstack_image_is_the_version_the_host_runs() -> None:
    pinned = re.search(
        r"^localstack-core==([^\s\\]+)", (ROOT / "requirements/localstack.txt").read_text(), re.M
    )
    assert pinned is not None
    assert COMPOSE["services"]["localstack"]["image"] == f"localstack/localstack:{pinned[1]}"


def test_every_lambda_gets_a_database_of_its_own_from_the_deploy_script() -> None:
    assert "python -m infra.local.compose_databases" in DEPLOY_SCRIPT
    flags = parameter_flags("postgresql+psycopg://postgres@postgres:5432/")
    given = parse_parameter_flags(flag.removeprefix("--parameter=") for flag in flags)
    database_parameters = {
        name for name in build_template()["Parameters"] if name.endswith("DatabaseUrl")
    }
    assert set(given) == database_parameters
    assert {url.rsplit("/", 1)[1] for url in given.values()} == set(LAMBDA_SERVICES)
    assert sorted(databases()) == sorted(("orders", *LAMBDA_SERVICES))


def test_the_deploy_script_sets_only_template_parameters() -> None:
    parameters = set(build_template()["Parameters"])
    given = set(re.findall(r"--parameter (\w+)=", DEPLOY_SCRIPT))
    assert given and given <= parameters


def test_lambdas_reach_the_compose_network() -> None:
    localstack = COMPOSE["services"]["localstack"]["environment"]
    assert localstack["LAMBDA_DOCKER_NETWORK"] == COMPOSE["networks"]["default"]["name"]
    assert localstack["CFN_IGNORE_UNSUPPORTED_RESOURCE_TYPES"] == "0"


def test_localstack_skips_the_templates_aws_only_types_as_on_the_host() -> None:
    localstack = COMPOSE["services"]["localstack"]["environment"]
    host = localstack_runner.environment(4566, "test")
    for change in ("CREATE", "UPDATE"):
        variable = f"CFN_IGNORE_UNSUPPORTED_TYPE_{change}"
        assert localstack[variable] == host[variable] == ",".join(AWS_ONLY_RESOURCE_TYPES)


def test_operators_come_from_the_stack_outputs_not_a_shared_token() -> None:
    orders = COMPOSE["services"]["orders"]
    assert "/state/orders.env" in " ".join(orders["command"])
    assert "deploy outputs --format env > /state/orders.env" in DEPLOY_SCRIPT
    assert ORDERS_ENVIRONMENT["OPERATORS_PATH"] == "OperatorsPath"
    assert not any("OPERATOR_TOKEN" in name for name in orders["environment"])
