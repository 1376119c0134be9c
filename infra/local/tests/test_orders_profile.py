"""The orders service beside a local stack gets its profile's settings; the shell's win."""

from __future__ import annotations

import pytest

from infra.cloudformation.profiles import ORDERS_SERVICE_PROFILES, PROFILES
from infra.local.stack import PROFILE, Layout, orders_environment

LIMIT = "ORDERS_RATE_LIMIT_PLACEMENTS_PER_SECOND"
LAYOUT = Layout("shop", 4566, 8000)


def test_the_local_stack_runs_the_orders_service_with_its_profiles_limits(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(LIMIT, raising=False)

    env = orders_environment(LAYOUT, {})

    assert env[LIMIT] == ORDERS_SERVICE_PROFILES[PROFILE][LIMIT]
    assert PROFILE in PROFILES


def test_a_limit_set_in_the_environment_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(LIMIT, "7")

    assert orders_environment(LAYOUT, {})[LIMIT] == "7"


def test_the_load_profiles_name_their_limits_and_the_default_keeps_production() -> None:
    assert ORDERS_SERVICE_PROFILES["default"] == {}
    for profile in ("test", "drill"):
        limits = ORDERS_SERVICE_PROFILES[profile]
        assert set(limits) == {
            "ORDERS_RATE_LIMIT_PLACEMENTS_PER_SECOND",
            "ORDERS_RATE_LIMIT_OPERATOR_REQUESTS_PER_SECOND",
        }
        assert all(int(value) >= 1000 for value in limits.values())
