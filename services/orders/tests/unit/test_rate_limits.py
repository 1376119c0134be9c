"""The rate limiter, who the client is, and the limits' settings: no I/O, a clock of the test's."""

from __future__ import annotations

import pytest

from services.orders.api.rate_limits import SlidingWindow, client_address, retry_after
from services.orders.settings import RateLimitSettings
from services.orders.tests.clock import ManualClock
from shared.settings import ConfigurationError, load


def test_request_limit_plus_one_within_the_window_is_refused_until_the_first_leaves_it() -> None:
    clock = ManualClock()
    window = SlidingWindow(3, clock=clock)

    admitted = [window.take("a") for _ in range(3)]
    clock.advance(0.4)
    refused = window.take("a")
    clock.advance(0.59)
    still_refused = window.take("a")
    clock.advance(0.01)
    again = window.take("a")

    assert admitted == [0.0, 0.0, 0.0]
    assert refused == pytest.approx(0.6)
    assert still_refused == pytest.approx(0.01)
    assert again == 0.0


def test_keys_are_counted_apart() -> None:
    window = SlidingWindow(1, clock=ManualClock())

    assert window.take("a") == 0.0
    assert window.take("a") > 0
    assert window.take("b") == 0.0


def test_a_refused_request_is_not_counted() -> None:
    clock = ManualClock()
    window = SlidingWindow(2, clock=clock)
    window.take("a")
    clock.advance(0.5)
    window.take("a")
    for _ in range(10):
        window.take("a")

    clock.advance(0.5)  # the first request left the window; the refused ones never entered it

    assert window.take("a") == 0.0
    assert window.take("a") > 0


def test_wait_tells_without_counting() -> None:
    clock = ManualClock()
    window = SlidingWindow(1, clock=clock)

    assert window.wait("a") == 0.0
    assert window.wait("a") == 0.0
    window.take("a")
    clock.advance(0.25)
    assert window.wait("a") == pytest.approx(0.75)


def test_idle_keys_are_forgotten() -> None:
    clock = ManualClock()
    window = SlidingWindow(5, clock=clock)
    for client in range(100):
        window.take(f"client-{client}")
    assert len(window) == 100

    clock.advance(1.0)
    window.take("latest")

    assert len(window) == 1


def test_a_limit_that_admits_nothing_is_refused() -> None:
    with pytest.raises(ValueError, match="admits nothing"):
        SlidingWindow(0)


@pytest.mark.parametrize(
    ("forwarded_for", "hops", "client"),
    [
        # the edge appended the address it saw: the last entry, whatever the client wrote first
        (["203.0.113.7"], 1, "203.0.113.7"),
        (["6.6.6.6, 203.0.113.7"], 1, "203.0.113.7"),
        (["6.6.6.6", "203.0.113.7"], 1, "203.0.113.7"),  # the header sent twice
        # CloudFront, then a load balancer: the entry CloudFront appended
        (["6.6.6.6, 203.0.113.7, 130.176.0.1"], 2, "203.0.113.7"),
        # no proxy trusted, or fewer entries than proxies: the socket's peer
        (["6.6.6.6"], 0, "10.0.0.5"),
        ([], 1, "10.0.0.5"),
        (["203.0.113.7"], 2, "10.0.0.5"),
        ([" , "], 1, "10.0.0.5"),
    ],
)
def test_the_client_is_the_entry_the_nearest_trusted_proxy_appended(
    forwarded_for: list[str], hops: int, client: str
) -> None:
    assert client_address(forwarded_for, "10.0.0.5", hops) == client


def test_without_a_peer_the_client_is_unknown() -> None:
    assert client_address([], None, 0) == "unknown"


@pytest.mark.parametrize(("seconds", "header"), [(0.01, "1"), (1.0, "1"), (1.2, "2")])
def test_retry_after_is_whole_seconds_at_least_one(seconds: float, header: str) -> None:
    assert retry_after(seconds) == header


def test_the_limits_default_to_production_values(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in RateLimitSettings.model_fields:
        monkeypatch.delenv(f"ORDERS_RATE_LIMIT_{name.upper()}", raising=False)

    assert RateLimitSettings() == RateLimitSettings(
        placements_per_second=20, operator_requests_per_second=20, trusted_proxy_hops=1
    )


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("ORDERS_RATE_LIMIT_PLACEMENTS_PER_SECOND", "0"),
        ("ORDERS_RATE_LIMIT_OPERATOR_REQUESTS_PER_SECOND", "many"),
        ("ORDERS_RATE_LIMIT_TRUSTED_PROXY_HOPS", "-1"),
    ],
)
def test_a_bad_limit_is_a_configuration_error_naming_it(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)

    with pytest.raises(ConfigurationError, match=variable):
        load(RateLimitSettings)
