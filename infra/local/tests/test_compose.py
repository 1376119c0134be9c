"""The docker-compose path stays in step with the host path (no Docker engine runs here)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from infra.cloudformation.template import LAMBDA_SERVICES, build_template

ROOT = Path(__file__).resolve().parents[3]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
DEPLOY_SCRIPT = (ROOT / "infra" / "local" / "compose" / "deploy.sh").read_text()


def test_localstack_image_is_the_version_the_host_runs() -> None:
    pinned = re.search(
        r"^localstack-core==(\S+)$", (ROOT / "requirements/localstack.txt").read_text(), re.M
    )
    assert pinned is not None
    assert COMPOSE["services"]["localstack"]["image"] == f"localstack/localstack:{pinned[1]}"


def test_every_service_has_a_database_of_its_own() -> None:
    created = re.findall(
        r"CREATE DATABASE (\w+);", (ROOT / "infra/local/compose/create-databases.sql").read_text()
    )
    assert sorted(created) == sorted(("orders", *LAMBDA_SERVICES))
    for service in LAMBDA_SERVICES:
        assert f'{service.capitalize()}DatabaseUrl="$(db {service})"' in DEPLOY_SCRIPT


def test_the_deploy_script_sets_only_template_parameters() -> None:
    parameters = set(build_template()["Parameters"])
    given = set(re.findall(r"--parameter (\w+)=", DEPLOY_SCRIPT))
    assert given and given <= parameters


def test_lambdas_reach_the_compose_network() -> None:
    localstack = COMPOSE["services"]["localstack"]["environment"]
    assert localstack["LAMBDA_DOCKER_NETWORK"] == COMPOSE["networks"]["default"]["name"]
    assert localstack["CFN_IGNORE_UNSUPPORTED_RESOURCE_TYPES"] == "0"
