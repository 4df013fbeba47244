"""Bad input is the client's error, never the center's (issue #14 item 11): 4xx problem+json, not
retryable, for deep JSON, huge numbers, long query values, over-long lines, slow bodies and bytes or escapes
that are not text; half-sent requests and silent connections are closed after the header timeout; one client
holds a bounded number of connections. This module's center runs with short limits (2 s headers, 1 s body,
3 connections)."""

from __future__ import annotations

import json
import socket
import time
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from relay_server_helpers import KeyPool, Kiosk, closed_within, read_response, start_relay, tls_connect

from mock_relay.center import CenterConfig
from mock_relay.server import RelayServer

HEADER_TIMEOUT = 2.0
LIMIT = 3
SINCE = "2000-01-01T00:00:00%2B09:00"


@pytest.fixture(scope="module")
def relay(tmp_path_factory: pytest.TempPathFactory, key_pool: KeyPool) -> Iterator[RelayServer]:
    config = CenterConfig(
        header_timeout_s=HEADER_TIMEOUT, body_timeout_s=1.0, max_connections_per_client=LIMIT
    )
    server = start_relay(tmp_path_factory.mktemp("center"), key_pool, config)
    yield server
    server.stop()


def _client_error(reply, code: str = "bad_request", status: int = 400) -> None:  # type: ignore[no-untyped-def]
    assert reply.status == status, reply.raw[:300]
    assert reply.headers["content-type"].startswith("application/problem+json")
    assert (reply.body["code"], reply.body["retryable"]) == (code, False)


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 1000 + b"]" * 1000,  # deeper than the parser's recursion limit
        b'{"language": ' + b"[" * 100 + b"]" * 100 + b"}",  # parses, but the validator would recurse
        b'{"language": ' + b"9" * 5000 + b"}",  # an integer too long to convert
        b"\xff\xfe not utf-8",
        b'{"language": "\\ud800"}',  # valid JSON syntax, but no text: it cannot be encoded again
        b'{"language": "ja", "\\udfff": 1}',
    ],
    ids=["1000-levels", "100-levels", "5000-digits", "not-utf8", "lone-surrogate", "lone-surrogate-key"],
)
def test_a_body_no_client_could_mean_is_a_client_error(kiosk: Kiosk, body: bytes) -> None:
    _client_error(kiosk.request("POST", "/v1/sessions", raw=body, key=str(uuid.uuid4())))


def test_query_values_out_of_range_are_client_errors(kiosk: Kiosk) -> None:
    _client_error(kiosk.get(f"/v1/reconcile?since={SINCE}&limit={'9' * 5000}"))
    _client_error(kiosk.get(f"/v1/reconcile?since={SINCE}&limit=%D9%A3"))  # an Arabic-Indic three
    _client_error(kiosk.get(f"/v1/reconcile?since={'2' * 5000}"))
    assert kiosk.get(f"/v1/reconcile?since={SINCE}&limit=500").status == 200


@pytest.mark.parametrize("listener", ["api", "public"])
def test_over_long_lines_are_problem_json(relay: RelayServer, kiosk: Kiosk, listener: str) -> None:
    client = kiosk if listener == "api" else Kiosk(relay.public_url, None, ctx=kiosk.ctx)
    _client_error(client.get("/v1/verify/" + "A" * 10000))
    _client_error(client.request("GET", "/v1/health", headers={"X-Padding": "a" * 10000}))


@pytest.mark.parametrize("listener", ["api", "public"])
def test_a_half_sent_request_is_closed_after_the_header_timeout(
    relay: RelayServer, kiosk: Kiosk, listener: str
) -> None:
    url = relay.api_url if listener == "api" else relay.public_url
    with tls_connect(url, kiosk.ctx) as sock:
        sock.sendall(b"GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        assert closed_within(sock, HEADER_TIMEOUT + 8) >= HEADER_TIMEOUT - 0.5


@pytest.mark.parametrize("listener", ["api", "public"])
def test_a_connection_that_never_completes_tls_is_closed(relay: RelayServer, listener: str) -> None:
    parts = urlsplit(relay.api_url if listener == "api" else relay.public_url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(b"\x16\x03\x01")  # the first bytes of a ClientHello, then silence
        closed_within(sock, HEADER_TIMEOUT + 8)


def test_a_body_that_does_not_arrive_in_time_is_a_408(relay: RelayServer, kiosk: Kiosk) -> None:
    with tls_connect(relay.api_url, kiosk.ctx) as sock:
        sock.sendall(
            b"POST /v1/sessions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Idempotency-Key: slow-body\r\nContent-Length: 100\r\n\r\n{"
        )
        started = time.monotonic()
        status, headers, body = read_response(sock)
    assert time.monotonic() - started < 5
    assert status == 408 and headers["content-type"].startswith("application/problem+json")
    problem = json.loads(body)
    assert (problem["code"], problem["retryable"]) == ("request_timeout", False)


def test_one_terminal_holds_a_bounded_number_of_connections(
    relay: RelayServer, terminals, kiosk: Kiosk
) -> None:  # type: ignore[no-untyped-def]
    health = b"GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    held = [tls_connect(relay.api_url, kiosk.ctx) for _ in range(LIMIT)]
    try:
        for sock in held:  # one whole exchange each: the center has counted them
            sock.sendall(health)
            assert read_response(sock)[0] == 200
        with tls_connect(relay.api_url, kiosk.ctx) as extra:
            extra.sendall(health)
            status, _, body = read_response(extra)
        problem = json.loads(body)
        assert status == 429 and (problem["code"], problem["retryable"]) == ("too_many_connections", False)
        assert Kiosk(relay.api_url, terminals("T-0002")).get("/v1/health").status == 200  # per terminal
    finally:
        for sock in held:
            sock.close()
    deadline = time.monotonic() + 5
    while kiosk.get("/v1/health").status != 200:  # the center sees the closes promptly
        assert time.monotonic() < deadline
        time.sleep(0.05)


@pytest.mark.parametrize(
    "head",
    [
        b"POST /v1/sessions HTTP/1.1\r\nIdempotency-Key: k\xff\xfe\r\n",
        b"POST /v1/sessions HTTP/1.1\r\nIdempotency-Key: \xed\xa0\x80\r\n",  # an encoded surrogate
        b"GET /v1/reconcile?since=%ED%A0%80 HTTP/1.1\r\n",
        b"GET /v1/reconcile?since=\xff\xfe HTTP/1.1\r\n",
        b"POST /v1/orders/%ED%A0%80/payment HTTP/1.1\r\nIdempotency-Key: k1\r\n",
        b"POST /v1/orders/\xff/payment HTTP/1.1\r\nIdempotency-Key: k2\r\n",
        b"GET /admin/faults HTTP/1.1\r\nAuthorization: Bearer \xff\xfe\r\n",
    ],
    ids=[
        "key-not-utf8",
        "key-surrogate",
        "query-surrogate",
        "query-not-utf8",
        "path-surrogate",
        "path-not-utf8",
        "admin-token-not-utf8",
    ],
)
def test_bytes_that_are_not_text_in_a_request_line_or_header_are_client_errors(
    relay: RelayServer, kiosk: Kiosk, head: bytes
) -> None:
    if head.startswith(b"GET /admin"):
        parts = urlsplit(relay.admin_url)
        sock: socket.socket = socket.create_connection((parts.hostname, parts.port), timeout=10)
    else:
        sock = tls_connect(relay.api_url, kiosk.ctx)
    with sock:
        sock.sendall(
            head + b"Host: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
        )
        status, headers, body = read_response(sock)
    assert 400 <= status < 500, (status, body[:300])
    if headers.get("content-type", "").startswith("application/problem+json"):
        assert json.loads(body)["retryable"] is False
