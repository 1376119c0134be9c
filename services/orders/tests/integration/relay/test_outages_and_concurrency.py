"""The outbox relay against LocalStack: outages, several relays at once, backlog and lag."""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from services.orders.adapters.event_store import SqlEventStore
from services.orders.adapters.outbox import SqlOutbox
from services.orders.ports import OutboxStatus
from services.orders.relay import OutboxRelay
from services.orders.settings import RelaySettings
from services.orders.tests.integration.relay.broker import (
    FAST,
    Broker,
    Recording,
    append_records,
    unique_suffix,
)
from shared.envelope import Envelope
from shared.tests.polling import eventually

pytestmark = pytest.mark.integration


class Gateway:
    """A TCP forwarder on a fixed port that starts closed (the endpoint is unreachable) and
    forwards to LocalStack once opened."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.server: socket.socket | None = None
        self.threads: list[threading.Thread] = []

    def open(self) -> None:
        server = socket.socket()
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", self.port))
        server.listen(32)
        self.server = server
        self._spawn(self._accept)

    def close(self) -> None:
        if self.server is not None:
            self.server.close()

    def _spawn(self, target: Callable[..., None], *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        thread.start()
        self.threads.append(thread)

    def _accept(self) -> None:
        assert self.server is not None
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=5)
            upstream.settimeout(None)  # connected: the pipes wait as long as the client stays
            self._spawn(self._pipe, client, upstream)
            self._spawn(self._pipe, upstream, client)

    @staticmethod
    def _pipe(source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, target):
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)


def test_a_relay_backs_off_while_the_endpoint_is_unreachable_and_loses_nothing(
    store: SqlEventStore, outbox: SqlOutbox, broker: Broker, caplog: pytest.LogCaptureFixture
) -> None:
    gateway = Gateway(int(broker.endpoint.rsplit(":", 1)[1].rstrip("/")))
    suffix = unique_suffix()
    publishers = broker.publishers(suffix, endpoint=f"http://127.0.0.1:{gateway.port}")
    envelopes = [e for _ in range(5) for e in append_records(store, list(publishers), count=2)]
    # No jitter: each wait is its ceiling.
    relay = OutboxRelay(outbox, publishers, FAST, random_source=lambda: 0.0)
    stop = threading.Event()
    runner = threading.Thread(target=relay.run, args=(stop,))
    caplog.set_level(logging.INFO, logger="orders.relay")
    try:
        began = time.monotonic()
        runner.start()
        # The outage: nothing listens on the gateway's port.
        eventually(
            lambda: len([r for r in caplog.records if "cannot publish" in r.getMessage()]) >= 5,
            "five failed passes",
        )
        # Waited 0.1 + 0.2 + 0.4 + 0.4 (capped) between them: backing off, not a busy loop.
        assert time.monotonic() - began >= 1.1
        assert outbox.status(publishers).backlog == 30

        gateway.open()
        eventually(lambda: outbox.status(publishers).backlog == 0, "the backlog drained")
    finally:
        stop.set()
        runner.join(timeout=10)
        gateway.close()
    assert not runner.is_alive()
    expected = sorted(str(e.event_id) for e in envelopes)
    for url in (broker.topic_capture, broker.fifo_url):
        arrived = broker.receive(url, 10)
        assert sorted(json.loads(m["Body"])["event_id"] for m in arrived) == expected
    from_bus = broker.receive(broker.bus_capture, 10)
    assert sorted(json.loads(m["Body"])["detail"]["event_id"] for m in from_bus) == expected
    assert any("publishing again" in r.getMessage() for r in caplog.records)


def test_two_relays_at_once_publish_every_record_once_and_in_order(
    store: SqlEventStore, outbox: SqlOutbox, broker: Broker
) -> None:
    suffix = unique_suffix()
    destination = f"fifo-{suffix}"
    shared = broker.publishers(suffix)[destination]
    streams: dict[str, list[Envelope]] = {f"order-{uuid.uuid4()}": [] for _ in range(25)}
    for _ in range(4):
        for order_id in streams:
            streams[order_id] += append_records(store, [destination], order_id)
    recordings = [Recording(shared), Recording(shared)]
    relays = [
        OutboxRelay(
            outbox, {destination: r}, RelaySettings(claim_size=7, idle_interval_seconds=0.01)
        )
        for r in recordings
    ]
    stop = threading.Event()
    runners = [threading.Thread(target=relay.run, args=(stop,)) for relay in relays]
    for runner in runners:
        runner.start()
    try:
        eventually(lambda: outbox.status([destination]).backlog == 0, "the backlog drained")
    finally:
        stop.set()
        for runner in runners:
            runner.join(timeout=10)

    published = [r for recording in recordings for call in recording.calls for r in call]
    assert len(published) == 100
    assert len({r.position for r in published}) == 100
    assert all(recording.calls for recording in recordings), "both relays took part"
    # In order per stream: the FIFO queue delivers a group in the order it was sent.
    arrived = broker.receive(broker.fifo_url, 100)
    assert len(arrived) == 100
    by_stream: dict[str, list[str]] = {}
    for message in arrived:
        body = json.loads(message["Body"])
        by_stream.setdefault(body["correlation_id"], []).append(body["event_id"])
    for order_id, envelopes in streams.items():
        assert by_stream[order_id] == [str(e.event_id) for e in envelopes]


def test_backlog_and_lag_are_reported_and_logged(
    store: SqlEventStore, outbox: SqlOutbox, broker: Broker, caplog: pytest.LogCaptureFixture
) -> None:
    suffix = unique_suffix()
    publishers = broker.publishers(suffix)
    sns, fifo = f"sns-{suffix}", f"fifo-{suffix}"
    append_records(store, [sns], count=3)
    append_records(store, [fifo])

    def aged() -> OutboxStatus | None:
        status = outbox.status(publishers)
        return status if status.lag_seconds >= 0.3 else None

    status = eventually(aged, "the oldest record aged")
    assert status.destinations[sns].backlog == 3
    assert status.destinations[fifo].backlog == 1
    assert status.destinations[f"bus-{suffix}"].backlog == 0
    assert status.backlog == 4
    assert 0.3 <= status.lag_seconds < 30
    assert f"{sns}=3" in status.describe()

    relay = OutboxRelay(outbox, publishers, FAST)
    caplog.set_level(logging.INFO, logger="orders.relay")
    stop = threading.Event()
    runner = threading.Thread(target=relay.run, args=(stop,))
    runner.start()
    try:
        eventually(lambda: relay.status().backlog == 0, "the backlog drained")
        eventually(
            lambda: any("outbox backlog 0, lag 0.0s" in r.getMessage() for r in caplog.records),
            "the relay logged an empty backlog",
        )
    finally:
        stop.set()
        runner.join(timeout=10)
    assert relay.status().lag_seconds == 0.0
