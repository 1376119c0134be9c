"""Operators: identified by their own credential, added and removed in Parameter Store, refused
once removed (within the cache's lifetime)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from shared import aws
from shared.credentials import digest_of
from shared.operators import (
    DirectoryUnavailable,
    InvalidOperatorName,
    Operator,
    OperatorExists,
    OperatorRegistry,
    Operators,
    OperatorSettings,
    ParameterStoreDirectory,
)
from shared.settings import AwsSettings, ConfigurationError, load
from shared.tests.operators import operators_with, parameter_store_operators

CACHE_SECONDS = 2
UNREACHABLE = AwsSettings(aws_endpoint_url="http://127.0.0.1:9", aws_max_attempts=0)


def test_each_operator_is_identified_by_their_own_credential() -> None:
    operators, credentials = operators_with("alice", "bob")

    assert operators.identify(credentials["alice"]) == Operator("alice")
    assert operators.identify(credentials["bob"]) == Operator("bob")
    assert operators.identify("not-a-credential") is None
    assert operators.identify("") is None


def test_the_path_is_named_when_it_is_missing_or_not_a_parameter_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("OPERATORS_PATH", raising=False)
    with pytest.raises(ConfigurationError, match="OPERATORS_PATH"):
        load(OperatorSettings)
    monkeypatch.setenv("OPERATORS_PATH", "shop/operators/")
    with pytest.raises(ConfigurationError, match="OPERATORS_PATH"):
        load(OperatorSettings)
    monkeypatch.setenv("OPERATORS_PATH", "/shop/operators")
    assert load(OperatorSettings).operators_cache_seconds == 5


@pytest.fixture
def ssm(localstack: Any) -> Any:
    return localstack.client("ssm")


@pytest.fixture
def path(unique_name: str) -> str:
    return f"/{unique_name}/operators"


@pytest.mark.integration
def test_an_added_operator_gets_in_until_removed_then_not_within_the_cache_lifetime(
    ssm: Any, path: str
) -> None:
    operators = Operators(ParameterStoreDirectory(ssm, path, max_age=CACHE_SECONDS))
    with parameter_store_operators(ssm, path) as registry:
        credential = registry.add("alice")
        stored = ssm.get_parameter(Name=f"{path}/alice")["Parameter"]["Value"]
        assert stored == digest_of(credential)
        assert credential not in str(ssm.describe_parameters())
        assert operators.identify(credential) == Operator("alice")

        assert registry.remove("alice")
        removed_at = time.monotonic()
        while operators.identify(credential) is not None:
            assert time.monotonic() - removed_at < CACHE_SECONDS + 1, "still admitted"
            time.sleep(0.1)
        assert registry.remove("alice") is False


@pytest.mark.integration
def test_an_operator_is_added_once_and_replacing_revokes_the_old_credential(
    ssm: Any, path: str
) -> None:
    operators = Operators(ParameterStoreDirectory(ssm, path, max_age=0))
    with parameter_store_operators(ssm, path) as registry:
        first = registry.add("bob")
        with pytest.raises(OperatorExists):
            registry.add("bob")
        second = registry.add("bob", replace=True)
        registry.add("carol")

        assert registry.names() == ["bob", "carol"]
        assert operators.identify(second) == Operator("bob")
        assert operators.identify(first) is None
    assert OperatorRegistry(ssm, path).names() == []


def test_names_that_are_not_parameter_names_are_refused() -> None:
    registry = OperatorRegistry(aws.client("ssm", UNREACHABLE), "/nowhere/operators")
    for name in ("", "a/b", "ops@example.com", "-x", "x" * 65):
        with pytest.raises(InvalidOperatorName):
            registry.add(name)
        with pytest.raises(InvalidOperatorName):
            registry.remove(name)


def test_an_unreachable_directory_admits_nobody() -> None:
    unreachable = aws.client("ssm", UNREACHABLE)
    directory = ParameterStoreDirectory(unreachable, "/nowhere/operators", max_age=5)
    with pytest.raises(DirectoryUnavailable, match="/nowhere/operators"):
        Operators(directory).identify("anything")
