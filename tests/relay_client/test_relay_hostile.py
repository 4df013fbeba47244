"""The kiosk's center client against a hostile center (real sockets, real mutual TLS, real gzip).

Every answer is bounded and read as a stream against its bound; encoding bombs are refused before the
memory is spent; the deadline bounds the whole call and a cancelled call stops reading and closes the
connection; every malformed answer is a typed RelayError whose staff code names it, never ``X01``.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hostile_center import Exchange, HostileCenter, Route, answer, gzip_bomb, head, zeros
from relay_helpers import (
    DocSpec,
    Pki,
    T,
    auth_body,
    card_cert,
    client_for,
    envelope,
    order_body,
    session_body,
)

from kiosk.flow.outcomes import outcome_for_error
from relay_client import (
    CancelledError,
    CenterProtocolError,
    CenterUnavailable,
    DocumentBindingError,
    IssuanceClient,
    Order,
    OrderItem,
    RelayError,
    RetryPolicy,
    Timeouts,
    cert_serial_hash_of,
)

MiB = 1024 * 1024
HEALTH = {"status": "ok", "server_time": T, "version": "1", "terminal_id": "T-0001"}
ONCE = RetryPolicy(attempts=1, deadline=10.0)


def reply(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Route:
    return lambda ex: ex.send(answer(body, status, headers))


@pytest.fixture
def hostile(pki: Pki) -> Iterator[HostileCenter]:
    server = HostileCenter(pki.root)
    yield server
    server.close()


@pytest.fixture
def client(hostile: HostileCenter, pki: Pki) -> Iterator[IssuanceClient]:
    c = client_for(hostile.url, pki, retry=ONCE)
    yield c
    c.close()


def staff_code(exc: BaseException) -> str:
    return outcome_for_error(exc).staff_code


def order_on(hostile: HostileCenter, pki: Pki, client: IssuanceClient, copies: int = 1) -> Order:
    hostile.routes[("POST", "/v1/sessions")] = reply(session_body(), 201)
    hostile.routes[("POST", "/v1/sessions/S-1/authenticate")] = reply(
        auth_body(cert_serial_hash_of(card_cert(pki)))
    )
    hostile.routes[("POST", "/v1/sessions/S-1/orders")] = reply(order_body(copies), 201)
    auth = client.authenticate(client.open_session(), card_cert(pki), lambda m: b"sig")
    return client.create_order(auth, [OrderItem("juminhyo", copies, {"scope": "self"})])


# --- 1. every answer is bounded, read as a stream, bombs refused ------------------------------------
def test_an_answer_declared_larger_than_its_bound_is_refused_unread(
    hostile: HostileCenter, client: IssuanceClient
) -> None:
    hostile.routes[("GET", "/v1/health")] = lambda ex: (
        ex.stream([head(200, length=400 * MiB), *zeros(400 * MiB)]) and ex.linger(5.0)
    )
    with pytest.raises(CenterProtocolError) as err:
        client.health()
    assert err.value.code == "answer_too_large" and staff_code(err.value) == "S-answer_too_large"
    assert hostile.exchanges[0].wait_peer_gone(5.0) and hostile.exchanges[0].sent < 16 * MiB


def test_an_undeclared_stream_is_cut_at_the_bound(hostile: HostileCenter, client: IssuanceClient) -> None:
    def endless(ex: Exchange) -> None:  # no Content-Length: the body runs until the connection closes
        ex.stream([head(200, {"Connection": "close"}), *zeros(64 * MiB)]) and ex.linger(5.0)

    hostile.routes[("GET", "/v1/health")] = endless
    with pytest.raises(CenterProtocolError) as err:
        client.health()
    assert err.value.code == "answer_too_large"
    assert hostile.exchanges[0].wait_peer_gone(5.0) and hostile.exchanges[0].sent < 16 * MiB


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
def test_an_encoding_bomb_is_refused_before_it_inflates(
    hostile: HostileCenter, client: IssuanceClient, encoding: str
) -> None:
    bomb = gzip_bomb(64 * MiB)
    hostile.routes[("GET", "/v1/health")] = reply(bomb, headers={"Content-Encoding": encoding})
    started = time.monotonic()
    with pytest.raises(CenterProtocolError) as err:
        client.health()
    assert err.value.code == "answer_too_large" and staff_code(err.value) == "S-answer_too_large"
    assert len(bomb) < 128 * 1024 and time.monotonic() - started < 3.0


def test_a_compressed_answer_within_its_bound_is_read(hostile: HostileCenter, client: IssuanceClient) -> None:
    import gzip

    body = gzip.compress(json.dumps(HEALTH).encode())
    hostile.routes[("GET", "/v1/health")] = reply(body, headers={"Content-Encoding": "gzip"})
    assert client.health().terminal_id == "T-0001"
    assert "gzip" in hostile.exchanges[0].headers["accept-encoding"]


@pytest.mark.parametrize(
    ("encoding", "code"),
    [("br", "unsupported_encoding"), ("gzip, gzip", "unsupported_encoding"), ("gzip", "corrupt_encoding")],
)
def test_unknown_stacked_or_corrupt_encodings_are_typed(
    hostile: HostileCenter, client: IssuanceClient, encoding: str, code: str
) -> None:
    hostile.routes[("GET", "/v1/health")] = reply(
        b"\x1f\x8b not gzip", headers={"Content-Encoding": encoding}
    )
    with pytest.raises(CenterProtocolError) as err:
        client.health()
    assert err.value.code == code and staff_code(err.value) == f"S-{code}"


def test_the_documents_bound_follows_the_copies_ordered(
    hostile: HostileCenter, pki: Pki, client: IssuanceClient
) -> None:
    order = order_on(hostile, pki, client, copies=1)
    hostile.routes[("POST", "/v1/orders/O-1/documents")] = lambda ex: (
        ex.stream([head(200, length=60 * MiB), *zeros(60 * MiB)]) and ex.linger(5.0)
    )
    with pytest.raises(CenterProtocolError) as err:
        client.issue_documents(order)
    assert err.value.code == "answer_too_large"
    assert hostile.exchanges[-1].wait_peer_gone(5.0) and hostile.exchanges[-1].sent < 24 * MiB


def test_a_document_larger_than_one_copy_may_be_is_refused(
    hostile: HostileCenter, pki: Pki, client: IssuanceClient
) -> None:
    order = order_on(hostile, pki, client, copies=2)
    big = DocSpec("T-0001", "S-1", "O-1", 0, 0, order.cert_serial_hash, pdf=b"%PDF-1.4\n" + b"x" * (5 * MiB))
    small = DocSpec("T-0001", "S-1", "O-1", 0, 1, order.cert_serial_hash)
    body = {
        "order_id": "O-1",
        "documents": [envelope(big, pki.signer), envelope(small, pki.signer)],
        "signer_certificate": pki.signer.pem.decode(),
    }
    hostile.routes[("POST", "/v1/orders/O-1/documents")] = reply(body)
    with pytest.raises(CenterProtocolError) as err:
        client.issue_documents(order)
    assert err.value.code == "answer_too_large" and "documents[0].pdf" in err.value.detail


PROBE = Path(__file__).with_name("rss_probe.py")


def probe(pki: Pki, scenario: str, size: int) -> dict[str, Any]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(PROBE.parents[2]), os.environ.get("PYTHONPATH", "")]),
    }
    done = subprocess.run(
        [sys.executable, str(PROBE), str(pki.root), scenario, str(size)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=True,
    )
    result: dict[str, Any] = json.loads(done.stdout)
    return result


@pytest.mark.parametrize("scenario", ["gzip_bomb", "large"])
def test_a_bomb_does_not_raise_the_kiosk_memory(pki: Pki, scenario: str) -> None:
    result = probe(pki, scenario, 96 * MiB)
    assert result["error"] == "CenterProtocolError:answer_too_large"
    assert result["growth_kb"] < 24 * 1024, result


# --- 2. the deadline bounds the whole call; cancel stops the read and closes the connection ---------
DRIP = 0.05  # seconds per byte: each read is answered long before the read timeout


def drip_client(hostile: HostileCenter, pki: Pki, deadline: float) -> IssuanceClient:
    return client_for(
        hostile.url,
        pki,
        retry=RetryPolicy(attempts=3, base=0.01, cap=0.01, deadline=deadline),
        timeouts=Timeouts(connect=2.0, read=5.0),
    )


def slow_body(ex: Exchange) -> None:
    data = json.dumps(HEALTH).encode() + b" " * 400
    if ex.send(head(200, length=len(data))):
        ex.drip(data, DRIP)


def slow_head(ex: Exchange) -> None:
    ex.drip(answer(HEALTH), DRIP)


@pytest.mark.parametrize("route", [slow_body, slow_head], ids=["body", "head"])
def test_a_slow_drip_is_cut_at_the_deadline(hostile: HostileCenter, pki: Pki, route: Route) -> None:
    hostile.routes[("GET", "/v1/health")] = route
    c = drip_client(hostile, pki, deadline=0.8)
    started = time.monotonic()
    try:
        with pytest.raises(CenterUnavailable) as err:
            c.health()
        took = time.monotonic() - started
    finally:
        c.close()
    assert err.value.code == "deadline_exceeded" and staff_code(err.value) == "S01"
    assert 0.7 < took < 3.0, took
    assert len(hostile.exchanges) == 1  # no retry past the deadline


def cancel_after(seconds: float) -> threading.Event:
    cancel = threading.Event()
    timer = threading.Timer(seconds, cancel.set)
    timer.daemon = True
    timer.start()
    return cancel


def silent(ex: Exchange) -> None:
    ex.linger(10.0)  # says nothing at all: only the read timeout (5 s) would end the wait


@pytest.mark.parametrize("route", [slow_body, slow_head, silent], ids=["body", "head", "silent"])
def test_cancel_stops_the_read_and_closes_the_connection(
    hostile: HostileCenter, pki: Pki, route: Route
) -> None:
    hostile.routes[("POST", "/v1/sessions")] = route
    c = drip_client(hostile, pki, deadline=30.0)
    started = time.monotonic()
    try:
        with pytest.raises(CancelledError):
            c.open_session(cancel=cancel_after(0.3))
        took = time.monotonic() - started
    finally:
        gone = hostile.exchanges[0].wait_peer_gone(2.0)
        c.close()
    assert took < 3.0, took
    assert gone and hostile.exchanges[0].peer_gone_at is not None
    assert hostile.exchanges[0].peer_gone_at - started < 3.0  # the kiosk hung up: no reading on in the back
    assert isinstance(CancelledError("x"), RelayError)


def test_cancel_ends_a_tls_handshake_the_center_never_answers(pki: Pki) -> None:
    with socket.create_server(("127.0.0.1", 0)) as mute:  # TCP accepted by the kernel, no TLS ever
        url = f"https://127.0.0.1:{mute.getsockname()[1]}"
        c = client_for(url, pki, retry=ONCE, timeouts=Timeouts(connect=5.0, read=5.0))
        started = time.monotonic()
        try:
            with pytest.raises(CancelledError):
                c.health(cancel=cancel_after(0.3))
        finally:
            c.close()
    assert time.monotonic() - started < 3.0


def test_the_connection_is_reused_after_a_whole_answer(
    hostile: HostileCenter, client: IssuanceClient
) -> None:
    peers: list[int] = []

    def health(ex: Exchange) -> None:
        peers.append(id(ex.out))
        ex.send(answer(HEALTH))

    hostile.routes[("GET", "/v1/health")] = health
    assert client.health().status == client.health().status == "ok"
    assert len(set(peers)) == 1  # read to its end, the answer leaves the TLS connection fit for the next call


# --- 3. malformed answers are typed --------------------------------------------------------------------
def test_deeply_nested_json_is_a_protocol_error(hostile: HostileCenter, client: IssuanceClient) -> None:
    deep = b'{"status": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    hostile.routes[("GET", "/v1/health")] = reply(deep)
    with pytest.raises(CenterProtocolError) as err:
        client.health()
    assert err.value.code == "malformed_response" and staff_code(err.value) == "S-malformed_response"


def test_moderately_nested_json_is_refused_before_anything_recurses(
    hostile: HostileCenter, client: IssuanceClient
) -> None:
    hostile.routes[("GET", "/v1/health")] = reply(HEALTH | {"extra": json.loads("[" * 500 + "]" * 500)})
    with pytest.raises(CenterProtocolError, match="nested"):
        client.health()


@pytest.mark.parametrize("value", ["NaN", "Infinity"])
def test_non_json_numbers_are_refused(hostile: HostileCenter, client: IssuanceClient, value: str) -> None:
    body = json.dumps(HEALTH).encode()[:-1] + b', "x": ' + value.encode() + b"}"
    hostile.routes[("GET", "/v1/health")] = reply(body)
    with pytest.raises(CenterProtocolError):
        client.health()


def documents_route(pki: Pki, order: Order, spec: DocSpec, tamper: Callable[[dict[str, Any]], None]) -> Route:
    env = envelope(spec, pki.signer)
    tamper(env)
    body = {"order_id": order.order_id, "documents": [env], "signer_certificate": pki.signer.pem.decode()}
    return reply(json.dumps(body).encode())  # ensure_ascii: a lone surrogate travels as \\ud800


def test_a_lone_surrogate_in_a_binding_is_a_protocol_error(
    hostile: HostileCenter, pki: Pki, client: IssuanceClient
) -> None:
    order = order_on(hostile, pki, client)
    spec = DocSpec("T-0001", "S-1", "O-1", 0, 0, order.cert_serial_hash)
    hostile.routes[("POST", "/v1/orders/O-1/documents")] = documents_route(
        pki, order, spec, lambda env: env["binding"].update(terminal_id="T-\ud800")
    )
    with pytest.raises(CenterProtocolError) as err:
        client.issue_documents(order)
    assert err.value.code == "malformed_response" and staff_code(err.value) == "S-malformed_response"


def test_a_session_id_that_cannot_be_signed_is_a_protocol_error(
    hostile: HostileCenter, client: IssuanceClient
) -> None:
    hostile.routes[("POST", "/v1/sessions")] = reply(session_body(sid="S-é"), 201)
    with pytest.raises(CenterProtocolError, match="session_id"):
        client.open_session()


def pdf_with(extra: bytes) -> bytes:
    """A one-page PDF whose object 4 is ``extra`` (the page tree itself is sound)."""
    return (
        b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
        b"2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj\n"
        b"3 0 obj << /Type /Page /Parent 2 0 R >> endobj\n"
        b"4 0 obj " + extra + b" endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
    )


@pytest.mark.parametrize(
    ("extra", "why"),
    [
        (b"[" * 50_000 + b"]" * 50_000, "nested deeper"),
        (b"<<" * 50_000 + b">>" * 50_000, "nested deeper"),
        (b"9" * 5000, "digits"),
    ],
    ids=["deep_array", "deep_dict", "huge_number"],
)
def test_a_signed_pdf_that_breaks_the_page_counter_is_a_document_error(
    hostile: HostileCenter, pki: Pki, client: IssuanceClient, extra: bytes, why: str
) -> None:
    order = order_on(hostile, pki, client)
    spec = DocSpec("T-0001", "S-1", "O-1", 0, 0, order.cert_serial_hash, pdf=pdf_with(extra))
    hostile.routes[("POST", "/v1/orders/O-1/documents")] = documents_route(pki, order, spec, lambda env: None)
    with pytest.raises(DocumentBindingError) as err:
        client.issue_documents(order)
    assert err.value.field == "pdf" and why in err.value.detail and staff_code(err.value) == "D-pdf"


def test_a_sound_signed_pdf_of_the_same_shape_is_accepted(
    hostile: HostileCenter, pki: Pki, client: IssuanceClient
) -> None:
    order = order_on(hostile, pki, client)
    spec = DocSpec("T-0001", "S-1", "O-1", 0, 0, order.cert_serial_hash, pdf=pdf_with(b"[[1 2] << /A 9 >>]"))
    hostile.routes[("POST", "/v1/orders/O-1/documents")] = documents_route(pki, order, spec, lambda env: None)
    assert [d.page_count for d in client.issue_documents(order)] == [1]


# --- 4. the order's total is the sum of its items' fees ------------------------------------------------
def _inflated_total(body: dict[str, Any]) -> None:
    body["total"] += 100


def _fee_not_unit_times_copies(body: dict[str, Any]) -> None:
    body["items"][0]["fee"] += 100
    body["total"] += 100


def _total_below_fees(body: dict[str, Any]) -> None:
    body["total"] -= 200


@pytest.mark.parametrize("tamper", [_inflated_total, _fee_not_unit_times_copies, _total_below_fees])
def test_an_order_priced_inconsistently_is_refused(
    hostile: HostileCenter, pki: Pki, client: IssuanceClient, tamper: Callable[[dict[str, Any]], None]
) -> None:
    body = order_body(2)
    tamper(body)
    hostile.routes[("POST", "/v1/sessions")] = reply(session_body(), 201)
    hostile.routes[("POST", "/v1/sessions/S-1/authenticate")] = reply(
        auth_body(cert_serial_hash_of(card_cert(pki)))
    )
    hostile.routes[("POST", "/v1/sessions/S-1/orders")] = reply(body, 201)
    auth = client.authenticate(client.open_session(), card_cert(pki), lambda m: b"sig")
    with pytest.raises(CenterProtocolError) as err:
        client.create_order(auth, [OrderItem("juminhyo", 2, {"scope": "self"})])
    assert err.value.code == "price_mismatch" and staff_code(err.value) == "S-price_mismatch"
