"""``python -m services.orders``: configuration errors, operators, and ``run`` end to end in a
subprocess (whose output never shows a token or a credential)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.orders import bootstrap
from services.orders.adapters.tables import summaries_table
from services.orders.domain.commands import LineRequest, PlaceOrder
from services.orders.ports import NewEvent, OutboxMessage
from services.orders.service import OrderService
from services.orders.tests.processes import (
    add_operator,
    base_environment,
    cli,
    free_port,
    orders_environment,
)
from shared import contracts
from shared.tests.polling import eventually
from shared.tests.queues import arn_of

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[4]
ORDER = {
    "customer_email": "ada@example.com",
    "shipping_country": "DE",
    "lines": [{"sku": "MUG-001", "quantity": 1}],
    "payment_token": "tok_approve",
}


@pytest.fixture
def env(
    own_database_url: str, localstack: Any, queues: Callable[..., str], unique_name: str
) -> Iterator[dict[str, str]]:
    """The environment of a complete orders process, on resources this test creates, with a
    queue that captures what the relay publishes to the topic."""
    sqs, sns = localstack.client("sqs"), localstack.client("sns")
    with orders_environment(
        localstack, queues, unique_name, own_database_url, VisibilityTimeout="2"
    ) as environment:
        topic_capture = queues(f"{unique_name}-capture")
        sns.subscribe(
            TopicArn=environment["ORDERS_TOPIC_ARN"],
            Protocol="sqs",
            Endpoint=arn_of(sqs, topic_capture),
            Attributes={"RawMessageDelivery": "true"},
        )
        yield {
            **environment,
            "ORDERS_WORKER_WAIT_SECONDS": "1",
            "TEST_TOPIC_CAPTURE": topic_capture,
        }


def test_a_missing_variable_is_named_and_exits_2() -> None:
    result = cli("relay", env={**base_environment(), "ORDERS_DATABASE_URL": "sqlite:///x.db"})
    assert result.returncode == 2
    assert "ORDERS_TOPIC_ARN" in result.stderr
    assert "ORDERS_DATABASE_URL" not in result.stderr
    assert "Traceback" not in result.stderr


def test_an_invalid_tuning_variable_is_named_and_exits_2(env: dict[str, str]) -> None:
    result = cli("relay", env={**env, "ORDERS_RELAY_IDLE_INTERVAL_SECONDS": "-1"})
    assert result.returncode == 2
    assert "ORDERS_RELAY_IDLE_INTERVAL_SECONDS" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_wrong_database_driver_is_a_configuration_error() -> None:
    result = cli(
        "migrate", env={**base_environment(), "ORDERS_DATABASE_URL": "postgresql://u@127.0.0.1/db"}
    )
    assert result.returncode == 2
    assert "ORDERS_DATABASE_URL" in result.stderr
    assert "psycopg" in result.stderr


def test_operators_are_added_once_listed_replaced_and_removed(
    env: dict[str, str], localstack: Any
) -> None:
    credential = add_operator(env, "ada")
    bob = cli("operators", "add", "bob", env=env)
    again = cli("operators", "add", "ada", env=env)
    replaced = cli("operators", "add", "ada", "--replace", env=env)
    invalid = cli("operators", "add", "ada@example.com", env=env)
    listed = cli("operators", "list", env=env)

    assert len(credential) == 43
    assert "shown once" in bob.stderr
    assert (again.returncode, invalid.returncode) == (1, 1)
    assert "exists" in again.stderr and "letters, digits" in invalid.stderr
    assert replaced.returncode == 0 and replaced.stdout.strip() != credential
    assert listed.stdout.split() == ["ada", "bob"]
    stored = localstack.client("ssm").get_parameter(Name=f"{env['OPERATORS_PATH']}/ada")
    assert credential not in str(stored) and replaced.stdout.strip() not in str(stored)
    assert cli("operators", "remove", "bob", env=env).returncode == 0
    assert cli("operators", "remove", "bob", env=env).returncode == 1
    assert cli("operators", "list", env=env).stdout.split() == ["ada"]


def test_operators_need_their_path(env: dict[str, str]) -> None:
    result = cli("operators", "list", env={k: v for k, v in env.items() if k != "OPERATORS_PATH"})
    assert result.returncode == 2
    assert "OPERATORS_PATH" in result.stderr


def test_migrate_then_outbox_status_reports_backlog_parked_records_and_lag(
    env: dict[str, str],
) -> None:
    assert cli("migrate", env=env).returncode == 0
    empty = cli("outbox-status", "--json", env=env)
    assert empty.returncode == 0, empty.stderr
    assert json.loads(empty.stdout) == {
        "backlog": 0,
        "parked": 0,
        "lag_seconds": 0.0,
        "destinations": {},
    }

    orders = bootstrap.orders(env["ORDERS_DATABASE_URL"])
    try:
        envelope = contracts.envelope_for(contracts.InventoryReserved(order_id="order-1"))
        body = envelope.model_dump(mode="json")
        orders.store.append(
            "order-1",
            0,
            [NewEvent(type=envelope.type, payload=body["payload"], event_id=envelope.event_id)],
            [OutboxMessage("sns", body), OutboxMessage("sns", body), OutboxMessage("fifo", body)],
        )
        [refused] = orders.outbox.claim(["fifo"], 1, timedelta(seconds=30))["fifo"]
        orders.outbox.park(refused.position, "InvalidParameterValue: test")
    finally:
        orders.close()
    result = cli("outbox-status", "--json", env=env)
    status = json.loads(result.stdout)
    assert (status["backlog"], status["parked"]) == (3, 1)
    assert status["destinations"]["sns"] == {
        "backlog": 2,
        "parked": 0,
        "lag_seconds": status["destinations"]["sns"]["lag_seconds"],
    }
    assert (
        status["destinations"]["fifo"]["backlog"],
        status["destinations"]["fifo"]["parked"],
    ) == (
        1,
        1,
    )
    assert 0 <= status["lag_seconds"] < 60
    human = cli("outbox-status", env=env).stdout
    assert "outbox backlog 3, 1 parked" in human
    assert "sns=2" in human
    assert "fifo=1 (lag" in human and "1 parked)" in human


def test_serve_answers_keeps_the_summaries_and_stops_on_sigterm(env: dict[str, str]) -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "services.orders", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    api = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5)
    try:

        def answers() -> bool:
            try:
                return api.get("/api/health").status_code == 200
            except httpx.TransportError:
                assert process.poll() is None, process.communicate()[0]
                return False

        eventually(answers, "the API answers")
        credential = add_operator(env, "ada")
        placed = api.post("/api/orders", json=ORDER)
        assert placed.status_code == 201, placed.text
        order_id, token = placed.json()["order_id"], placed.json()["access_token"]
        customer = {"Authorization": f"Bearer {token}"}
        assert api.get(f"/api/orders/{order_id}", headers=customer).status_code == 200
        assert api.get(f"/api/orders/{order_id}/events", headers=customer).status_code == 200
        assert api.get(f"/api/orders/{uuid.uuid4()}", headers=customer).status_code == 404
        assert api.get("/api/orders", headers=customer).status_code == 401
        eventually(
            lambda: order_id in _listed(api, credential),
            "the projector beside the API summarised the order",
        )
        assert api.post(f"/api/orders/{order_id}/cancel", headers=customer).status_code == 200
    finally:
        api.close()
        process.send_signal(signal.SIGTERM)
        try:
            output = process.communicate(timeout=20)[0]
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            output = process.communicate()[0]
            pytest.fail(f"serve did not stop:\n{output}")
    assert process.returncode == 0, output
    assert _processes_in_group(process.pid) == []
    assert f'"GET /api/orders/{order_id} HTTP/1.1" 200' in output, "the access log is on"
    assert token not in output
    assert credential not in output


def _listed(api: httpx.Client, credential: str) -> list[str]:
    page = api.get(
        "/api/orders", params={"limit": 100}, headers={"Authorization": f"Bearer {credential}"}
    ).json()
    return [item["order_id"] for item in page["items"]]


def test_relay_until_empty_publishes_the_outbox_and_exits(
    env: dict[str, str], localstack: Any
) -> None:
    assert cli("migrate", env=env).returncode == 0
    orders = bootstrap.orders(env["ORDERS_DATABASE_URL"])
    try:
        order_id = _place(orders.service)
    finally:
        orders.close()

    result = cli("relay", "--until-empty", env=env)

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("published 3 outbox records in ")
    status = json.loads(cli("outbox-status", "--json", env=env).stdout)
    assert status["backlog"] == 0
    published = _receive(localstack.client("sqs"), env["TEST_TOPIC_CAPTURE"])
    assert [(m["type"], m["correlation_id"]) for m in published] == [("OrderPlaced", order_id)]


def _processes_in_group(group: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == group:
            found.append(int(stat.parent.name))
    return found


def _receive(sqs: Any, url: str) -> list[dict[str, Any]]:
    response = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
    messages = response.get("Messages", [])
    for message in messages:
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return [json.loads(m["Body"]) for m in messages]


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_run_serves_relays_applies_replies_and_stops_cleanly(
    env: dict[str, str], localstack: Any, stop_signal: signal.Signals
) -> None:
    sqs = localstack.client("sqs")
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "services.orders", "run", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    api = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5)
    try:

        def healthy() -> bool:
            try:
                return api.get("/api/health").status_code == 200
            except httpx.TransportError:
                assert process.poll() is None, process.communicate()[0]
                return False

        eventually(healthy, "the API answers")
        credential = add_operator(env, "ada")
        placed = api.post("/api/orders", json=ORDER)
        assert placed.status_code == 201, placed.text
        order_id = placed.json()["order_id"]
        customer = {"Authorization": f"Bearer {placed.json()['access_token']}"}

        published: list[dict[str, Any]] = []

        def order_placed_published() -> bool:
            published.extend(_receive(sqs, env["TEST_TOPIC_CAPTURE"]))
            return any(m["type"] == "OrderPlaced" for m in published)

        eventually(order_placed_published, "the relay published OrderPlaced")
        amount = contracts.Money(amount=1299, currency="EUR")
        for reply in (
            contracts.InventoryReserved(order_id=order_id),
            contracts.PaymentAuthorized(order_id=order_id, authorization_id="a-1", amount=amount),
            contracts.FraudCheckSkipped(order_id=order_id),
        ):
            sqs.send_message(
                QueueUrl=env["ORDERS_UPDATES_QUEUE_URL"],
                MessageBody=contracts.envelope_for(reply).to_json(),
            )
        eventually(
            lambda: (
                api.get(f"/api/orders/{order_id}", headers=customer).json()["status"] == "confirmed"
            ),
            "the worker applied the replies",
        )
        operator = {"Authorization": f"Bearer {credential}"}
        eventually(
            lambda: any(
                o["order_id"] == order_id and o["status"] == "confirmed"
                for o in api.get("/api/orders", headers=operator).json()["items"]
            ),
            "the projector updated the summary",
        )
        assert _processes_in_group(process.pid) == [process.pid], "no child processes"
    finally:
        process.send_signal(stop_signal)
        try:
            output = process.communicate(timeout=20)[0]
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            output = process.communicate()[0]
            pytest.fail(f"run did not stop:\n{output}")
        api.close()
    assert process.returncode == 0, output
    assert f"{stop_signal.name} received; stopping" in output
    assert "Traceback" not in output
    assert _processes_in_group(process.pid) == []


def test_run_stops_every_part_when_the_api_cannot_start(env: dict[str, str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = cli("run", "--port", str(port), env=env)
    assert result.returncode == 1
    assert "address already in use" in result.stderr
    assert "api exited" in result.stderr
    assert "relay stopped" in result.stderr
    assert "worker stopped" in result.stderr
    assert "Traceback" not in result.stderr


def test_project_keeps_summaries_up_to_date_and_rebuild_replays_the_log(
    env: dict[str, str],
) -> None:
    assert cli("migrate", env=env).returncode == 0
    orders = bootstrap.orders(env["ORDERS_DATABASE_URL"])
    service = orders.service

    def summarised() -> set[str]:
        return {summary.order_id for summary in orders.summaries.page(limit=100).items}

    try:
        first = _place(service)
        project = subprocess.Popen(
            [sys.executable, "-m", "services.orders", "project"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            eventually(lambda: first in summarised(), "the projector summarised the order")
            second = _place(service)
            eventually(lambda: second in summarised(), "the projector followed a new order")
        finally:
            project.send_signal(signal.SIGTERM)
            output = project.communicate(timeout=20)[0]
        assert project.returncode == 0, output

        with orders.engine.begin() as conn:
            conn.execute(summaries_table.delete())
        assert summarised() == set()
        rebuilt = cli("rebuild-projections", env=env)
        assert rebuilt.returncode == 0, rebuilt.stderr
        assert "order summaries rebuilt from 2 events" in rebuilt.stdout
        assert summarised() == {first, second}
    finally:
        orders.close()


def _place(service: OrderService) -> str:
    order_id = service.new_order_id()
    service.place(
        PlaceOrder(
            order_id=order_id,
            customer_email="ada@example.com",
            shipping_country="DE",
            currency="EUR",
            lines=(LineRequest("MUG-001", 1),),
            payment_token="tok_approve",
        )
    )
    return order_id
