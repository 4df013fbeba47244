"""A center serving its API from two processes (``api_processes=2``): what one process knew alone is shared.

Each test holds keep-alive connections that the primary dealt to different processes (checked through the
shared connection counts, which name the serving process), so every assertion is about two processes:
an idempotency key runs its request once, an operator control set through the admin route holds in both,
and a terminal's connection bound is counted over both.
"""

from __future__ import annotations

import json
import sqlite3
import ssl
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from relay_server_helpers import Card, KeyPool, Kiosk, read_response, start_relay, tls_connect

from mock_relay.center import CenterConfig
from mock_relay.cli.cards import personalise_for
from mock_relay.faults import JST
from mock_relay.server import RelayServer
from mock_relay.shared import CONTROLS_FILE

LIMIT = 3  # connections one terminal may hold, over both processes


@pytest.fixture(scope="module")
def relay(tmp_path_factory: pytest.TempPathFactory, key_pool: KeyPool) -> Iterator[RelayServer]:
    config = CenterConfig(api_processes=2, max_connections_per_client=LIMIT)
    server = start_relay(tmp_path_factory.mktemp("center"), key_pool, config)
    yield server
    server.stop()


class Conn:
    """One kept mutual-TLS connection."""

    def __init__(self, url: str, ctx: ssl.SSLContext) -> None:
        self.sock = tls_connect(url, ctx, timeout=30)

    def send(self, path: str, body: Any, key: str) -> None:
        data = json.dumps(body).encode()
        self.sock.sendall(
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Idempotency-Key: {key}\r\nContent-Length: {len(data)}\r\n\r\n".encode()
            + data
        )

    def read(self) -> tuple[int, dict[str, str], bytes]:
        return read_response(self.sock)

    def post(self, path: str, body: Any, key: str | None = None) -> tuple[int, dict[str, Any]]:
        self.send(path, body, key or str(uuid.uuid4()))
        status, _, raw = self.read()
        return status, json.loads(raw)

    def close(self) -> None:
        self.sock.close()


def _serving_pids(relay: RelayServer, terminal: str) -> dict[int, int]:
    """Connections of ``terminal`` by serving process, from the shared counts."""
    with sqlite3.connect(relay.data_dir / CONTROLS_FILE) as db:
        rows = db.execute(
            "SELECT pid, held FROM connections WHERE listener='api' AND client=?", (f"terminal {terminal}",)
        ).fetchall()
    return {int(pid): int(held) for pid, held in rows if held > 0}


def _settled(relay: RelayServer, terminal: str, held: int) -> dict[int, int]:
    """The shared counts once ``terminal`` holds ``held`` connections (closes reach the center a moment
    after the client's)."""
    deadline = time.monotonic() + 10
    while sum((counts := _serving_pids(relay, terminal)).values()) != held:
        assert time.monotonic() < deadline, counts
        time.sleep(0.02)
    return counts


@pytest.fixture
def two(relay: RelayServer, kiosk: Kiosk) -> Iterator[tuple[Conn, Conn]]:
    """Two connections of T-0001, served by two different processes."""
    _settled(relay, "T-0001", 0)
    first, second = Conn(relay.api_url, kiosk.ctx), Conn(relay.api_url, kiosk.ctx)
    try:
        for conn in (first, second):
            assert conn.post("/v1/sessions", {})[0] == 201  # served: counted by its process
        assert sorted(_settled(relay, "T-0001", 2).values()) == [1, 1]
        yield first, second
    finally:
        first.close()
        second.close()


def _both(a: Conn, b: Conn, path: str, body: Any, key: str) -> list[tuple[int, dict[str, str], bytes]]:
    """The same request under the same key on both connections at once."""
    for conn in (a, b):
        conn.send(path, body, key)
    out: list[Any] = [None, None]

    def read(i: int, conn: Conn) -> None:
        out[i] = conn.read()

    threads = [threading.Thread(target=read, args=(i, c)) for i, c in enumerate((a, b))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return out


def test_connections_are_dealt_to_both_processes_and_bounded_over_both(
    relay: RelayServer, kiosk: Kiosk
) -> None:
    _settled(relay, "T-0001", 0)
    held = [Conn(relay.api_url, kiosk.ctx) for _ in range(LIMIT)]
    try:
        for conn in held:
            assert conn.post("/v1/sessions", {})[0] == 201
        by_process = _settled(relay, "T-0001", LIMIT)
        assert len(by_process) == 2 and sum(by_process.values()) == LIMIT
        for _ in range(2):  # dealt one to each process: neither holds LIMIT itself, both refuse
            extra = Conn(relay.api_url, kiosk.ctx)
            try:
                status, problem = extra.post("/v1/sessions", {})
            finally:
                extra.close()
            assert status == 429 and problem["code"] == "too_many_connections"
    finally:
        for conn in held:
            conn.close()


def test_one_key_sent_to_both_processes_runs_once(relay: RelayServer, two: tuple[Conn, Conn]) -> None:
    a, b = two
    for _ in range(8):
        answers = _both(a, b, "/v1/sessions", {}, str(uuid.uuid4()))
        assert [status for status, _, _ in answers] == [201, 201]
        assert answers[0][2] == answers[1][2]  # one session, the same answer byte for byte
        assert sorted(h.get("idempotent-replayed", "") for _, h, _ in answers) == ["", "true"]


@pytest.fixture(scope="module")
def card(relay: RelayServer, tmp_path_factory: pytest.TempPathFactory, key_pool: KeyPool) -> Card:
    assert relay.center is not None
    path = tmp_path_factory.mktemp("cards") / "V-001.card"
    personalise_for(relay.center.jpki, relay.center.registry, "V-001", path, key_factory=key_pool)
    return Card(path)


def test_documents_under_one_key_on_both_processes_are_issued_once(
    relay: RelayServer, two: tuple[Conn, Conn], card: Card
) -> None:
    a, b = two
    status, opened = a.post("/v1/sessions", {})
    sid = opened["session_id"]
    status, _ = a.post(f"/v1/sessions/{sid}/authenticate", card.auth_body(opened, opened["terminal_id"]))
    assert status == 200
    status, order = b.post(f"/v1/sessions/{sid}/orders", {"items": [{"type": "juminhyo", "copies": 1}]})
    assert status == 201
    answers = _both(a, b, f"/v1/orders/{order['order_id']}/documents", {}, str(uuid.uuid4()))
    assert [s for s, _, _ in answers] == [200, 200] and answers[0][2] == answers[1][2]
    assert relay.center is not None
    assert len(relay.center.ledger.documents(order["order_id"])) == 1


def _admin(relay: RelayServer, method: str, path: str, body: Any = None) -> Any:
    assert relay.center is not None
    request = urllib.request.Request(
        relay.admin_url + path,
        data=None if body is None else json.dumps(body).encode(),
        method=method,
        headers={"Authorization": f"Bearer {relay.center.admin_token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as resp:
        return json.loads(resp.read())


def test_faults_set_through_the_admin_route_reach_both_processes(
    relay: RelayServer, two: tuple[Conn, Conn]
) -> None:
    a, b = two
    _admin(relay, "POST", "/admin/faults", {"kind": "error", "route": "openSession", "status": 503})
    try:
        for conn in (a, b):
            status, problem = conn.post("/v1/sessions", {})
            assert (status, problem["code"]) == (503, "injected_fault")
    finally:
        _admin(relay, "DELETE", "/admin/faults")
    assert [conn.post("/v1/sessions", {})[0] for conn in (a, b)] == [201, 201]
    _admin(relay, "POST", "/admin/faults", {"kind": "error", "route": "openSession", "count": 1})
    statuses = [conn.post("/v1/sessions", {})[0] for conn in (a, b, a, b)]
    assert sorted(statuses) == [201, 201, 201, 503]  # a count of 1 fires once in the whole center
    assert _admin(relay, "GET", "/admin/faults") == []


def test_clock_and_maintenance_set_through_the_admin_route_reach_both_processes(
    relay: RelayServer, two: tuple[Conn, Conn]
) -> None:
    a, b = two
    assert relay.center is not None
    before = relay.clock.now()
    frozen = before.replace(microsecond=0) + timedelta(hours=1)
    _admin(relay, "POST", "/admin/clock", {"at": frozen.isoformat(), "frozen": True})
    try:
        ttl = timedelta(seconds=relay.center.config.challenge_ttl_s)
        for conn in (a, b):
            status, opened = conn.post("/v1/sessions", {})
            assert status == 201 and datetime.fromisoformat(opened["expires_at"]) == frozen + ttl
        window = {
            "start": (frozen - timedelta(hours=1)).isoformat(),
            "end": (frozen + timedelta(hours=1)).isoformat(),
        }
        _admin(relay, "POST", "/admin/maintenance", window)
        for conn in (a, b):
            status, problem = conn.post("/v1/sessions", {})
            assert (status, problem["code"]) == (503, "maintenance")
    finally:
        _admin(relay, "DELETE", "/admin/maintenance")
        _admin(relay, "POST", "/admin/clock", {"at": before.astimezone(JST).isoformat(), "frozen": False})
    assert [conn.post("/v1/sessions", {})[0] for conn in (a, b)] == [201, 201]


def test_stopping_the_center_stops_its_api_processes(
    tmp_path: Path, key_pool: KeyPool, terminals: Callable[[str], Path]
) -> None:
    server = start_relay(tmp_path / "center", key_pool, CenterConfig(api_processes=2))
    workers = list(server._workers)
    assert len(workers) == 1 and workers[0].is_alive()
    server.stop()
    assert not workers[0].is_alive()


def test_an_api_process_that_dies_costs_its_connections_not_the_center(
    tmp_path: Path, key_pool: KeyPool, terminals: Callable[[str], Path]
) -> None:
    server = start_relay(tmp_path / "center", key_pool, CenterConfig(api_processes=2))
    try:
        assert server.center is not None
        tdir = server.center.center_pki.issue_terminal("T-0009", tmp_path / "T-0009")
        kiosk = Kiosk(server.api_url, tdir)
        (worker,) = server._workers
        worker.kill()
        worker.join(10)
        # every new connection is served, whichever process's turn it was (the primary takes the dead one's)
        assert [kiosk.post("/v1/sessions", {}).status for _ in range(4)] == [201] * 4
    finally:
        server.stop()
