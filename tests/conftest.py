"""The deployed shop, reached only through its public entry points (end-to-end and browser).

By default the suite deploys its own uniquely named stack to the LocalStack at
``AWS_ENDPOINT_URL`` (``make test`` starts one) and runs the orders service beside it. Point it
at another target with no code change:

- ``SHOP_SITE_URL``: the site's base URL (``https://shop.example.com/``, or
  ``http://127.0.0.1:4566/`` together with ``SHOP_SITE_HOST=shop.localhost``, since Python
  cannot resolve ``*.localhost``; the browser tests open ``http://shop.localhost:4566/``);
- ``SHOP_STACK_NAME``: the CloudFormation stack whose outputs name the queues and the bus;
- ``SHOP_OPERATOR_CREDENTIAL`` and ``SHOP_OPERATOR_NAME`` (optional): an operator of that
  deployment; without them the suite adds an operator of its own (``python -m services.orders
  operators add``, into the stack's ``OperatorsPath``) and removes it at the end.

Customers read their orders with the access token placement returned (the client keeps each
order's token); lists, reviews, the operations API and the analytics reader use the operator's
credential.

Tests marked ``emulator_only`` read what only an emulator shows (the SES mailbox) and are
skipped against AWS (no ``AWS_ENDPOINT_URL``).
"""

from __future__ import annotations

import json
import os
import socket
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import boto3
import httpx
import pytest

from infra.local import stack as shop_stack

FINAL_STATUSES = frozenset({"confirmed", "cancelled"})


@dataclass
class Shop:
    """A client of one deployed shop: its site, its stack outputs, an operator's credential and
    the access token of every order it placed."""

    site: httpx.Client
    browser_url: str
    outputs: dict[str, str]
    parameters: dict[str, str]
    operator: Operator = field(repr=False)
    endpoint: str | None
    session: Any = field(repr=False)
    tokens: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def is_emulator(self) -> bool:
        return self.endpoint is not None

    def aws(self, service: str) -> Any:
        return self.session.client(service, endpoint_url=self.endpoint)

    def place(self, **overrides: Any) -> dict[str, Any]:
        body = {
            "customer_email": f"{uuid.uuid4().hex[:10]}@example.com",
            "shipping_country": "DE",
            "currency": "EUR",
            "lines": [{"sku": "MUG-001", "quantity": 1}],
            "payment_token": "tok_approve",
            **overrides,
        }
        response = self.site.post(
            "/api/orders", json=body, headers={"Idempotency-Key": str(uuid.uuid4())}
        )
        assert response.status_code == 201, response.text
        order: dict[str, Any] = response.json()
        self.tokens[order["order_id"]] = order["access_token"]
        return order

    def customer(self, order_id: str, header: str = "Authorization") -> dict[str, str]:
        """The headers of the customer who placed ``order_id`` (``header``: see ``as_operator``)."""
        return {header: f"Bearer {self.tokens[order_id]}"}

    def as_operator(self, header: str = "Authorization") -> dict[str, str]:
        """An operator's headers; a reader behind the edge (``/api/analytics``) takes the
        credential in ``shared.function_url.CREDENTIAL_HEADER``."""
        return {header: f"Bearer {self.operator.credential}"}

    def order(self, order_id: str) -> dict[str, Any]:
        response = self.site.get(f"/api/orders/{order_id}", headers=self.customer(order_id))
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    def events(self, order_id: str) -> list[dict[str, Any]]:
        response = self.site.get(f"/api/orders/{order_id}/events", headers=self.customer(order_id))
        assert response.status_code == 200, response.text
        return _items(response.json())

    def event_types(self, order_id: str) -> list[str]:
        return [event["type"] for event in self.events(order_id)]

    def wait_for(
        self, order_id: str, condition: Callable[[dict[str, Any], list[str]], bool], timeout: float
    ) -> tuple[dict[str, Any], list[str]]:
        """Poll the order and its timeline until ``condition`` holds or the deadline passes."""
        deadline = time.monotonic() + timeout
        while True:
            order, types = self.order(order_id), self.event_types(order_id)
            if condition(order, types):
                return order, types
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"order {order_id} never got there: status {order.get('status')}, "
                    f"events {types}"
                )
            time.sleep(0.2)

    def wait_for_events(
        self, order_id: str, *expected: str, timeout: float = 30
    ) -> tuple[dict[str, Any], list[str]]:
        return self.wait_for(order_id, lambda _order, types: set(expected) <= set(types), timeout)

    def review(self, order_id: str, approve: bool, reason: str = "checked by e2e") -> None:
        response = self.site.post(
            f"/api/orders/{order_id}/review",
            json={"decision": "approve" if approve else "reject", "reason": reason},
            headers=self.as_operator(),
        )
        assert response.status_code == 200, response.text

    def mailbox(self, recipient: str) -> list[dict[str, Any]]:
        assert self.endpoint is not None
        ses = f"{self.endpoint}/_aws/ses"
        with urllib.request.urlopen(ses, timeout=5) as response:  # nosec B310  # the emulator's URL
            messages = json.load(response)["messages"]
        return [m for m in messages if recipient in m.get("Destination", {}).get("ToAddresses", [])]


@dataclass(frozen=True)
class Operator:
    name: str
    credential: str


@contextmanager
def _operator(env: dict[str, str]) -> Iterator[Operator]:
    """``SHOP_OPERATOR_CREDENTIAL``, or an operator of the suite's own for the block."""
    given = os.environ.get("SHOP_OPERATOR_CREDENTIAL")
    if given:
        if not os.environ.get("SHOP_OPERATOR_NAME"):
            pytest.fail("SHOP_OPERATOR_CREDENTIAL needs SHOP_OPERATOR_NAME, its operator's name")
        yield Operator(os.environ["SHOP_OPERATOR_NAME"], given)
        return
    name = f"e2e-{uuid.uuid4().hex[:8]}"
    operator = Operator(name, shop_stack.add_operator(env, name))
    try:
        yield operator
    finally:
        shop_stack.remove_operator(env, name)


def _items(body: Any) -> list[dict[str, Any]]:
    if isinstance(body, dict):
        items: list[dict[str, Any]] = body.get("items") or body.get("events") or []
        return items
    return list(body)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _stack_description(session: Any, endpoint: str | None, stack: str) -> dict[str, Any]:
    cloudformation = session.client("cloudformation", endpoint_url=endpoint)
    description: dict[str, Any] = cloudformation.describe_stacks(StackName=stack)["Stacks"][0]
    return description


@pytest.fixture(scope="session")
def shop() -> Iterator[Shop]:
    """The shop under test: the configured target, or a stack of its own on LocalStack."""
    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    session = boto3.Session(
        aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "test" if endpoint else None),
        aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "test" if endpoint else None),
        region_name=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
    )
    if os.environ.get("SHOP_SITE_URL"):
        yield from _configured_shop(session, endpoint)
    else:
        if endpoint is None:
            pytest.fail("set AWS_ENDPOINT_URL (LocalStack) or SHOP_SITE_URL (a deployed shop)")
        yield from _own_shop(session, endpoint)


def _configured_shop(session: Any, endpoint: str | None) -> Iterator[Shop]:
    stack = os.environ.get("SHOP_STACK_NAME", "shop")
    url = urlsplit(os.environ["SHOP_SITE_URL"])
    host = os.environ.get("SHOP_SITE_HOST")
    browser_url = f"{url.scheme}://{host}:{url.port}/" if host and url.port else url.geturl()
    description = _stack_description(session, endpoint, stack)
    outputs = _outputs(description)
    env = {**os.environ, "OPERATORS_PATH": outputs["OperatorsPath"]}
    with (
        httpx.Client(
            base_url=url.geturl(), headers={"Host": host} if host else {}, timeout=30
        ) as site,
        _operator(env) as operator,
    ):
        yield Shop(
            site=site,
            browser_url=browser_url,
            outputs=outputs,
            parameters=_parameters(description),
            operator=operator,
            endpoint=endpoint,
            session=session,
        )


def _own_shop(session: Any, endpoint: str) -> Iterator[Shop]:
    port = int(endpoint.rsplit(":", 1)[1].rstrip("/"))
    layout = shop_stack.Layout(f"e2e-{uuid.uuid4().hex[:8]}", port, _free_port())
    try:
        outputs = shop_stack.deploy(layout)
        env = shop_stack.orders_environment(layout, outputs)
        shop_stack.start_orders(layout, env)
        description = _stack_description(session, endpoint, layout.stack)
        with (
            httpx.Client(base_url=endpoint, headers={"Host": layout.site_host}, timeout=30) as site,
            _operator(env) as operator,
        ):
            yield Shop(
                site=site,
                browser_url=layout.site_url,
                outputs=_outputs(description),
                parameters=_parameters(description),
                operator=operator,
                endpoint=endpoint,
                session=session,
            )
    finally:
        shop_stack.stop_orders(layout)
        shop_stack.destroy(layout)


def _outputs(description: dict[str, Any]) -> dict[str, str]:
    return {item["OutputKey"]: item["OutputValue"] for item in description.get("Outputs", [])}


def _parameters(description: dict[str, Any]) -> dict[str, str]:
    return {
        item["ParameterKey"]: item.get("ResolvedValue", item["ParameterValue"])
        for item in description.get("Parameters", [])
    }


@pytest.fixture(autouse=True)
def _emulator_only(request: pytest.FixtureRequest) -> None:
    if request.node.get_closest_marker("emulator_only") and not os.environ.get("AWS_ENDPOINT_URL"):
        pytest.skip("asserts what only an emulator shows (no AWS_ENDPOINT_URL: a real account)")
