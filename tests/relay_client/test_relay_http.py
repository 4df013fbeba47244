"""IssuanceClient against a scripted mTLS server: request shapes, safe retries, timeouts, TLS, parsing."""

from __future__ import annotations

import base64
import random
import threading
import time
from datetime import UTC, datetime
from typing import Any

import pytest
from relay_helpers import (
    CHALLENGE,
    FAST_RETRY,
    DocSpec,
    FakeCenter,
    Pki,
    Recorded,
    T,
    auth_body,
    card_cert,
    client_for,
    envelope,
    make_ca,
    make_leaf,
    order_body,
    problem,
    session_body,
)

from relay_client import (
    CancelledError,
    CenterProtocolError,
    CenterRefusal,
    CenterTlsError,
    CenterUnavailable,
    CopyOutcome,
    IssuanceClient,
    OrderItem,
    RetryPolicy,
    Timeouts,
    auth_message,
    cert_serial_hash_of,
)
from relay_client.http import CenterHttp


def script_to_order(center: FakeCenter, pki: Pki, client: IssuanceClient) -> Any:
    center.routes[("POST", "/v1/sessions")] = [(201, session_body())]
    center.routes[("POST", "/v1/sessions/S-1/authenticate")] = [
        (200, auth_body(cert_serial_hash_of(card_cert(pki))))
    ]
    center.routes[("POST", "/v1/sessions/S-1/orders")] = [(201, order_body())]
    session = client.open_session()
    auth = client.authenticate(session, card_cert(pki), lambda m: b"sig:" + m)
    return client.create_order(auth, [OrderItem("juminhyo", 2, {"scope": "self"})])


def test_health_over_mutual_tls(center: FakeCenter, client: IssuanceClient) -> None:
    center.routes[("GET", "/v1/health")] = [
        (200, {"status": "ok", "server_time": T, "version": "1", "terminal_id": "T-0001"})
    ]
    health = client.health()
    assert (health.status, health.terminal_id, client.terminal_id) == ("ok", "T-0001", "T-0001")
    assert center.requests[0].client_cn == "T-0001"


def test_transaction_request_shapes(center: FakeCenter, pki: Pki, client: IssuanceClient) -> None:
    signed: list[bytes] = []
    center.routes[("POST", "/v1/sessions")] = [(201, session_body())]
    center.routes[("POST", "/v1/sessions/S-1/authenticate")] = [
        (200, auth_body(cert_serial_hash_of(card_cert(pki))))
    ]
    center.routes[("POST", "/v1/sessions/S-1/orders")] = [(201, order_body())]
    session = client.open_session(language="en")
    auth = client.authenticate(session, card_cert(pki), lambda m: signed.append(m) or b"SIG", route="honseki")
    order = client.create_order(auth, [OrderItem("juminhyo", 2, {"scope": "self"})])
    assert signed == [auth_message("S-1", CHALLENGE, "T-0001")]
    opened, authed, ordered = center.requests
    assert (opened.method, opened.path, opened.body) == ("POST", "/v1/sessions", {"language": "en"})
    assert authed.body == {
        "route": "honseki",
        "certificate": base64.b64encode(card_cert(pki)).decode(),
        "signature": base64.b64encode(b"SIG").decode(),
    }
    assert ordered.body == {"items": [{"type": "juminhyo", "copies": 2, "options": {"scope": "self"}}]}
    keys = [r.headers["Idempotency-Key"] for r in center.requests]
    assert len(set(keys)) == 3 and all(len(k) == 36 for k in keys)
    assert (order.order_id, order.total, order.terminal_id) == ("O-1", 400, "T-0001")
    assert order.cert_serial_hash == auth.cert_serial_hash == cert_serial_hash_of(card_cert(pki))
    assert auth.menu[0].options[0].values == ("self", "household")


def test_issue_payment_result_reconcile_verify(center: FakeCenter, pki: Pki, client: IssuanceClient) -> None:
    order = script_to_order(center, pki, client)
    specs = [DocSpec("T-0001", "S-1", "O-1", 0, c, order.cert_serial_hash, pages=2) for c in range(2)]
    center.routes[("POST", "/v1/orders/O-1/documents")] = [
        (
            200,
            {
                "order_id": "O-1",
                "documents": [envelope(s, pki.signer) for s in specs],
                "signer_certificate": pki.signer.pem.decode(),
            },
        )
    ]
    center.routes[("POST", "/v1/orders/O-1/payment")] = [
        (
            200,
            {"order_id": "O-1", "total": 400, "amount_received": 1000, "change_given": 600, "state": "paid"},
        )
    ]
    center.routes[("POST", "/v1/orders/O-1/result")] = [
        (200, {"order_id": "O-1", "state": "partially_failed", "printed": 1, "failed": 1, "refund_due": 200})
    ]
    center.routes[("GET", "/v1/reconcile")] = [
        (200, {"terminal_id": "T-0001", "server_time": T, "orders": []})
    ]
    docs = client.issue_documents(order)
    assert [d.copy_index for d in docs] == [0, 1]
    assert client.record_payment(order, 1000, 600).state == "paid"
    result = client.report_result(
        order,
        [
            CopyOutcome(docs[0].document_id, True),
            CopyOutcome(docs[1].document_id, False, pages_printed=1, error="jam"),
        ],
    )
    assert result.refund_due == 200
    assert client.reconcile(datetime(2026, 11, 29, tzinfo=UTC)).orders == ()
    bodies = {r.path: r.body for r in center.requests}
    assert bodies["/v1/orders/O-1/documents"] == {}
    assert bodies["/v1/orders/O-1/payment"] == {"amount_received": 1000, "change_given": 600}
    assert bodies["/v1/orders/O-1/result"] == {
        "copies": [
            {"document_id": docs[0].document_id, "outcome": "printed"},
            {"document_id": docs[1].document_id, "outcome": "failed", "pages_printed": 1, "error": "jam"},
        ]
    }
    assert center.requests[-1].path.startswith("/v1/reconcile?since=2026-11-29T00%3A00%3A00%2B00%3A00")


def test_center_naming_another_terminal_is_refused(center: FakeCenter, client: IssuanceClient) -> None:
    center.routes[("POST", "/v1/sessions")] = [(201, session_body(terminal="T-9999"))]
    with pytest.raises(CenterProtocolError, match="terminal_id"):
        client.open_session()


def test_authenticated_for_another_certificate_is_refused(
    center: FakeCenter, pki: Pki, client: IssuanceClient
) -> None:
    center.routes[("POST", "/v1/sessions")] = [(201, session_body())]
    center.routes[("POST", "/v1/sessions/S-1/authenticate")] = [(200, auth_body("ee" * 32))]
    with pytest.raises(CenterProtocolError, match="cert_serial_hash"):
        client.authenticate(client.open_session(), card_cert(pki), lambda m: b"s")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"status": "ok", "version": "1"}, "server_time"),
        ({"status": 5, "server_time": T, "version": "1"}, "status"),
        ({"status": "ok", "server_time": "yesterday", "version": "1"}, "server_time"),
        ([1, 2], "health"),
    ],
)
def test_malformed_answers_name_the_field(
    center: FakeCenter, client: IssuanceClient, body: Any, field: str
) -> None:
    center.routes[("GET", "/v1/health")] = [(200, body)]
    with pytest.raises(CenterProtocolError, match=field):
        client.health()


def test_non_json_success_is_a_protocol_error(center: FakeCenter, client: IssuanceClient) -> None:
    center.routes[("GET", "/v1/health")] = [(200, b"<html>", {"Content-Type": "text/html"})]
    with pytest.raises(CenterProtocolError):
        client.health()


def test_refusal_is_mapped_and_not_retried(center: FakeCenter, client: IssuanceClient) -> None:
    center.routes[("POST", "/v1/sessions")] = [(503, problem("out_of_hours", 503, reason="service_hours"))]
    with pytest.raises(CenterRefusal) as err:
        client.open_session()
    assert (err.value.code, err.value.reason, err.value.retryable, err.value.status) == (
        "out_of_hours",
        "service_hours",
        False,
        503,
    )
    assert len(center.requests) == 1


def test_post_with_key_is_retried_with_the_same_key(center: FakeCenter, client: IssuanceClient) -> None:
    center.routes[("POST", "/v1/sessions")] = [
        (503, problem("center_unavailable", 503, retryable=True)),
        (503, problem("center_unavailable", 503, retryable=True)),
        (201, session_body()),
    ]
    assert client.open_session(idempotency_key="K-fixed").session_id == "S-1"
    assert [r.headers["Idempotency-Key"] for r in center.requests] == ["K-fixed"] * 3


def test_post_without_key_is_never_retried(center: FakeCenter, pki: Pki) -> None:
    center.routes[("POST", "/v1/x")] = [(503, problem("center_unavailable", 503, retryable=True)), (200, {})]
    http = CenterHttp(
        center.url,
        pki.path("terminal.pem"),
        pki.path("terminal.key"),
        pki.path("center-ca.pem"),
        retry=FAST_RETRY,
    )
    with pytest.raises(CenterUnavailable):
        http.post("/v1/x", {}, idempotency_key=None)
    http.close()
    assert len(center.requests) == 1 and "Idempotency-Key" not in center.requests[0].headers


def test_get_is_retried_up_to_the_attempt_limit(center: FakeCenter, client: IssuanceClient) -> None:
    center.routes[("GET", "/v1/health")] = [(502, b"bad gateway", {"Content-Type": "text/html"})]
    with pytest.raises(CenterUnavailable) as err:
        client.health()
    assert err.value.code == "http_502" and len(center.requests) == FAST_RETRY.attempts


def test_calls_from_many_threads_share_the_clients_connections(
    center: FakeCenter, client: IssuanceClient
) -> None:
    """The flow runs each job on a new thread; each must reuse the client's pooled TLS connection, not
    open (and keep) one of its own (a busy kiosk met the center's per-terminal connection bound)."""
    center.routes[("GET", "/v1/health")] = [
        (200, {"status": "ok", "server_time": T, "version": "1", "terminal_id": "T-0001"})
    ]
    for _ in range(20):
        job = threading.Thread(target=client.health)
        job.start()
        job.join()
    assert len(center.requests) == 20
    assert center.connections == 1
    client.close()
    client.health()  # a closed client opens a new connection when used again
    assert center.connections == 2


def test_backoff_is_bounded_with_jitter() -> None:
    policy = RetryPolicy(attempts=10, base=0.5, cap=4.0, jitter=0.25)
    rng = random.Random(7)
    for retry in range(1, 10):
        raw = min(4.0, 0.5 * 2 ** (retry - 1))
        delays = [policy.delay(retry, rng) for _ in range(200)]
        assert all(raw * 0.75 <= d <= raw * 1.25 for d in delays)
        assert max(delays) - min(delays) > 0  # jitter spreads retries of many kiosks


def test_deadline_stops_retries(center: FakeCenter, pki: Pki) -> None:
    center.routes[("GET", "/v1/health")] = [(503, problem("center_unavailable", 503, retryable=True))]
    slow = RetryPolicy(attempts=100, base=0.1, cap=0.1, jitter=0.0, deadline=0.35)
    c = client_for(center.url, pki, retry=slow)
    started = time.monotonic()
    with pytest.raises(CenterUnavailable):
        c.health()
    c.close()
    assert time.monotonic() - started < 1.0 and 2 <= len(center.requests) <= 4


def test_cancel_event_interrupts_backoff(center: FakeCenter, pki: Pki) -> None:
    center.routes[("GET", "/v1/health")] = [(503, problem("center_unavailable", 503, retryable=True))]
    c = client_for(center.url, pki, retry=RetryPolicy(attempts=5, base=5.0, cap=5.0, deadline=60))
    cancel = threading.Event()
    threading.Timer(0.2, cancel.set).start()
    started = time.monotonic()
    with pytest.raises(CancelledError):
        c.health(cancel=cancel)
    c.close()
    assert time.monotonic() - started < 2.0 and len(center.requests) == 1


def test_read_timeout_is_unavailable_and_keyed_post_retried(center: FakeCenter, pki: Pki) -> None:
    center.routes[("POST", "/v1/sessions")] = [(201, session_body())]
    center.delay = 0.6
    c = client_for(
        center.url,
        pki,
        timeouts=Timeouts(connect=1.0, read=0.2),
        retry=RetryPolicy(attempts=2, base=0.01, cap=0.01),
    )
    with pytest.raises(CenterUnavailable) as err:
        c.open_session()
    c.close()
    assert err.value.code == "timeout" and err.value.retryable
    time.sleep(0.7)  # let the slow handler record its second request
    assert len({r.headers["Idempotency-Key"] for r in center.requests}) == 1 and len(center.requests) == 2


def test_connection_refused_is_unavailable(pki: Pki) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    c = client_for(f"https://127.0.0.1:{port}", pki, retry=RetryPolicy(attempts=2, base=0.01))
    with pytest.raises(CenterUnavailable) as err:
        c.health()
    assert err.value.code == "connection_failed"


def test_server_certificate_from_another_ca_is_a_tls_error(pki: Pki) -> None:
    impostor_ca = make_ca("impostor")
    from cryptography.x509.oid import ExtendedKeyUsageOID

    impostor = make_leaf(impostor_ca, "127.0.0.1", ekus=[ExtendedKeyUsageOID.SERVER_AUTH], san_ip=True)
    server = FakeCenter(pki, server=impostor)
    try:
        c = client_for(server.url, pki)
        with pytest.raises(CenterTlsError) as err:
            c.health()
        assert not err.value.retryable and server.requests == []
    finally:
        server.close()


def test_our_certificate_refused_by_the_center_is_a_tls_error(center: FakeCenter, pki: Pki) -> None:
    c = client_for(
        center.url, pki, cert=pki.path("foreign-terminal.pem"), key=pki.path("foreign-terminal.key")
    )
    with pytest.raises(CenterTlsError):
        c.health()
    assert center.requests == []


def test_handler_sees_recorded_request(center: FakeCenter, client: IssuanceClient) -> None:
    seen: list[Recorded] = []

    def handler(rec: Recorded) -> tuple[int, Any]:
        seen.append(rec)
        return 200, {"terminal_id": "T-0001", "server_time": T, "next_heartbeat_s": 60, "status": "ok"}

    center.routes[("POST", "/v1/terminals/heartbeat")] = handler
    assert client.heartbeat({"printer": "paper_out"}, app_version="0.1").next_heartbeat_s == 60
    assert seen[0].body == {"devices": {"printer": "paper_out"}, "app_version": "0.1"}
