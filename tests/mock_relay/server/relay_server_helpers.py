"""Helpers for the mock-center server tests: a tiny mTLS JSON client (http.client) and card signing."""

from __future__ import annotations

import base64
import http.client
import itertools
import json
import socket
import ssl
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from firmware_sim.card.image import CardImage
from firmware_sim.pki.hierarchy import new_rsa_key
from mock_relay.center import CenterConfig
from mock_relay.faults import CenterClock
from mock_relay.jpki_check import auth_message
from mock_relay.model import JST, YEAR_END_CLOSURE
from mock_relay.server import RelayServer
from mock_relay.tls import client_context


def business_time(after: datetime | None = None) -> datetime:
    """10:00 JST on the first weekday after ``after`` (default now) outside the year-end closure."""
    day = (after or datetime.now(JST)).astimezone(JST).date() + timedelta(days=1)
    while day.weekday() >= 5 or (day.month, day.day) in YEAR_END_CLOSURE:
        day += timedelta(days=1)
    return datetime(day.year, day.month, day.day, 10, 0, tzinfo=JST)


@dataclass(frozen=True)
class Reply:
    status: int
    body: Any
    headers: dict[str, str]
    raw: bytes

    @property
    def code(self) -> str | None:
        return self.body.get("code") if isinstance(self.body, dict) else None


class Kiosk:
    """A kiosk-side client with its own terminal certificate (one connection per call)."""

    def __init__(
        self, url: str, tdir: Path | None, *, ca: Path | None = None, ctx: ssl.SSLContext | None = None
    ):
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 443
        if ctx is None:
            assert tdir is not None
            ctx = client_context(tdir / "terminal.pem", tdir / "terminal.key", ca or tdir / "center-ca.pem")
        self.ctx = ctx

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        key: str | None = None,
        headers: dict[str, str] | None = None,
        raw: bytes | None = None,
    ) -> Reply:
        conn = http.client.HTTPSConnection(self.host, self.port, context=self.ctx, timeout=30)
        try:
            hdrs = {"Content-Type": "application/json", **(headers or {})}
            if key is not None:
                hdrs["Idempotency-Key"] = key
            data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
            conn.request(method, path, body=data, headers=hdrs)
            resp = conn.getresponse()
            payload = resp.read()
            ctype = resp.getheader("Content-Type", "")
            parsed = json.loads(payload) if "json" in ctype and payload else payload
            return Reply(resp.status, parsed, {k.lower(): v for k, v in resp.getheaders()}, payload)
        finally:
            conn.close()

    def post(self, path: str, body: Any = None, *, key: str | None = None) -> Reply:
        return self.request("POST", path, {} if body is None else body, key=key or str(uuid.uuid4()))

    def get(self, path: str) -> Reply:
        return self.request("GET", path)


class Card:
    """Signs like the card's user-authentication key (straight from the image, no card OS)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        image = CardImage.load(path)
        self.cert_der = image.jpki_files[0x000A]
        self.key = image.auth_key()  # loaded once: RSA key loading is slow

    def sign(self, message: bytes) -> bytes:
        return self.key.sign(message, padding.PKCS1v15(), hashes.SHA256())

    def auth_body(
        self,
        session: dict[str, Any],
        terminal_id: str,
        route: str = "residence",
        *,
        session_id: str | None = None,
    ) -> dict[str, Any]:
        challenge = base64.urlsafe_b64decode(session["challenge"] + "=" * (-len(session["challenge"]) % 4))
        message = auth_message(session_id or session["session_id"], challenge, terminal_id)
        return {
            "route": route,
            "certificate": base64.b64encode(self.cert_der).decode(),
            "signature": base64.b64encode(self.sign(message)).decode(),
        }


def open_and_authenticate(kiosk: Kiosk, card: Card, route: str = "residence") -> tuple[Reply, Reply]:
    opened = kiosk.post("/v1/sessions", {})
    assert opened.status == 201, opened.body
    auth = kiosk.post(
        f"/v1/sessions/{opened.body['session_id']}/authenticate",
        card.auth_body(opened.body, opened.body["terminal_id"], route),
    )
    return opened, auth


def transact(kiosk: Kiosk, card: Card, items: list[dict[str, Any]], *, fail: int = 0) -> dict[str, Reply]:
    """A whole transaction; the last ``fail`` copies are reported failed."""
    opened, auth = open_and_authenticate(kiosk, card)
    assert auth.status == 200, auth.body
    sid = opened.body["session_id"]
    order = kiosk.post(f"/v1/sessions/{sid}/orders", {"items": items})
    assert order.status == 201, order.body
    oid = order.body["order_id"]
    docs = kiosk.post(f"/v1/orders/{oid}/documents", {})
    assert docs.status == 200, docs.body
    total = order.body["total"]
    paid = kiosk.post(f"/v1/orders/{oid}/payment", {"amount_received": total + 1000, "change_given": 1000})
    assert paid.status == 200, paid.body
    ids = [d["document_id"] for d in docs.body["documents"]]
    copies = [
        {"document_id": d, "outcome": "failed" if i >= len(ids) - fail else "printed"}
        for i, d in enumerate(ids)
    ]
    result = kiosk.post(f"/v1/orders/{oid}/result", {"copies": copies})
    return {
        "open": opened,
        "auth": auth,
        "order": order,
        "documents": docs,
        "payment": paid,
        "result": result,
    }


def signer_public_key(pem: str) -> Any:
    from cryptography import x509

    return x509.load_pem_x509_certificate(pem.encode()).public_key()


def pem_der(path: Path) -> bytes:
    from cryptography import x509

    return x509.load_pem_x509_certificate(path.read_bytes()).public_bytes(serialization.Encoding.DER)


class KeyPool:
    """A thread-safe cycling key factory over pre-generated keys."""

    def __init__(self, size: int) -> None:
        self._cycle = itertools.cycle([new_rsa_key() for _ in range(size)])
        self._lock = threading.Lock()

    def __call__(self) -> rsa.RSAPrivateKey:
        with self._lock:
            return next(self._cycle)


def start_relay(data: Path, key_pool: KeyPool, config: CenterConfig | None = None) -> RelayServer:
    """A running center whose clock starts at 10:00 JST on the next business day."""
    return RelayServer(data, clock=CenterClock(business_time()), key_factory=key_pool, config=config).start()


# --- raw wire access (requests a polite client would never send) ------------------------------------
def tls_connect(url: str, ctx: ssl.SSLContext, timeout: float = 10.0) -> ssl.SSLSocket:
    """A TLS connection to the listener at ``url`` (handshake done)."""
    parts = urlsplit(url)
    raw = socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 443), timeout=timeout)
    return ctx.wrap_socket(raw, server_hostname=parts.hostname)


def read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """One HTTP/1.1 response with a Content-Length: status, lower-cased headers, body."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed before a whole response: {data[:200]!r}")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    while len(body) < int(headers.get("content-length", "0")):
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return int(lines[0].split()[1]), headers, body


def closed_within(sock: socket.socket, limit: float) -> float:
    """Seconds until the server closes ``sock`` (reading and discarding). Raises TimeoutError after
    ``limit`` s."""
    start = time.monotonic()
    sock.settimeout(limit)
    try:
        while sock.recv(4096):
            pass
    except (ConnectionError, ssl.SSLError):
        pass
    except TimeoutError:
        raise TimeoutError(f"still open after {limit} s") from None
    return time.monotonic() - start
