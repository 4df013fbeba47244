"""Test helpers for relay_client: a small EC PKI, document-answer builders, a scripted mTLS HTTPS server."""

from __future__ import annotations

import base64
import hashlib
import io
import ipaddress
import json
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from reportlab.pdfgen import canvas

from relay_client import IssuanceClient, RetryPolicy, Timeouts
from relay_client.auth import b64url_encode, canonical
from relay_client.documents import DOCUMENT_SIGNING_EKU

NOW = datetime.now(UTC)


@dataclass(frozen=True)
class Issued:
    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    @property
    def pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    @property
    def key_pem(self) -> bytes:
        return self.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )


def make_ca(cn: str) -> Issued:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return Issued(cert, key)


def make_leaf(
    ca: Issued, cn: str, *, ekus: list[x509.ObjectIdentifier], san_ip: bool = False, days: int = 10
) -> Issued:
    key = ec.generate_private_key(ec.SECP256R1())
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
        .issuer_name(ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, False, True, False, False, False, False, False, False), critical=True
        )
        .add_extension(x509.ExtendedKeyUsage(ekus), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()), critical=False
        )
    )
    if san_ip:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False
        )
    return Issued(builder.sign(ca.key, hashes.SHA256()), key)


@dataclass(frozen=True)
class Pki:
    """Everything on disk under ``root``: center CA, server cert, terminal CA + terminal cert, signers."""

    root: Path
    center_ca: Issued
    server: Issued
    terminal_ca: Issued
    terminal: Issued
    signer: Issued
    other_ca: Issued
    foreign_signer: Issued  # document EKU, but issued by another CA
    tls_signer: Issued  # issued by the center CA, serverAuth only (no document EKU)

    def path(self, name: str) -> Path:
        return self.root / name


def build_pki(root: Path, terminal_cn: str = "T-0001") -> Pki:
    center = make_ca("test center CA")
    terminal_ca = make_ca("test terminal CA")
    other = make_ca("someone else's CA")
    pki = Pki(
        root,
        center,
        make_leaf(center, "127.0.0.1", ekus=[ExtendedKeyUsageOID.SERVER_AUTH], san_ip=True),
        terminal_ca,
        make_leaf(terminal_ca, terminal_cn, ekus=[ExtendedKeyUsageOID.CLIENT_AUTH]),
        make_leaf(center, "document signer", ekus=[DOCUMENT_SIGNING_EKU]),
        other,
        make_leaf(other, "document signer", ekus=[DOCUMENT_SIGNING_EKU]),
        make_leaf(center, "tls only", ekus=[ExtendedKeyUsageOID.SERVER_AUTH]),
    )
    for name, issued in [
        ("center-ca", center),
        ("server", pki.server),
        ("terminal-ca", terminal_ca),
        ("terminal", pki.terminal),
        ("other-ca", other),
    ]:
        (root / f"{name}.pem").write_bytes(issued.pem)
        (root / f"{name}.key").write_bytes(issued.key_pem)
    # a terminal certificate from a foreign CA (the server must refuse it)
    foreign_terminal = make_leaf(other, terminal_cn, ekus=[ExtendedKeyUsageOID.CLIENT_AUTH])
    (root / "foreign-terminal.pem").write_bytes(foreign_terminal.pem)
    (root / "foreign-terminal.key").write_bytes(foreign_terminal.key_pem)
    return pki


def make_pdf(pages: int, text: str = "") -> bytes:
    buf = io.BytesIO()
    c = canvas.Canvas(buf)
    for i in range(pages):
        c.drawString(72, 720, f"page {i + 1} {text}")
        c.showPage()
    c.save()
    return buf.getvalue()


@dataclass
class DocSpec:
    """Inputs for one envelope; tests override fields to tamper."""

    terminal_id: str
    session_id: str
    order_id: str
    item_index: int
    copy_index: int
    cert_serial_hash: str
    pages: int = 1
    pdf: bytes = b""
    document_id: str = ""
    binding_overrides: dict[str, Any] = field(default_factory=dict)
    envelope_overrides: dict[str, Any] = field(default_factory=dict)
    corrupt_signature: bool = False


def envelope(spec: DocSpec, signer: Issued) -> dict[str, Any]:
    pdf = spec.pdf or make_pdf(spec.pages, f"{spec.session_id}/{spec.item_index}/{spec.copy_index}")
    digest = hashlib.sha256(pdf).hexdigest()
    doc_id = spec.document_id or f"D-{spec.order_id}-{spec.item_index}-{spec.copy_index}"
    binding = {
        "terminal_id": spec.terminal_id,
        "session_id": spec.session_id,
        "order_id": spec.order_id,
        "item_index": spec.item_index,
        "copy_index": spec.copy_index,
        "cert_serial_hash": spec.cert_serial_hash,
        "page_count": spec.pages,
        "document_id": doc_id,
        "sha256": digest,
    }
    binding.update(spec.binding_overrides)
    signature = signer.key.sign(canonical(binding), ec.ECDSA(hashes.SHA256()))
    if spec.corrupt_signature:
        signature = signer.key.sign(b"something else", ec.ECDSA(hashes.SHA256()))
    env = {
        "document_id": doc_id,
        "item_index": spec.item_index,
        "copy_index": spec.copy_index,
        "type": "juminhyo",
        "page_count": spec.pages,
        "sha256": digest,
        "pdf": base64.b64encode(pdf).decode(),
        "verification_code": f"V{doc_id}",
        "binding": binding,
        "signature": base64.b64encode(signature).decode(),
    }
    env.update(spec.envelope_overrides)
    return env


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: Any
    client_cn: str | None


Reply = tuple[int, Any] | tuple[int, Any, dict[str, str]]
Handler = Callable[[Recorded], Reply]


class FakeCenter:
    """A scripted HTTPS server on 127.0.0.1:0 with mutual TLS (terminal CA), recording every request.

    ``routes[(method, path)]`` is a list of replies used in order (the last repeats) or a callable.
    A reply is (status, json_body[, headers]); a body of ``bytes`` is sent raw.
    """

    def __init__(self, pki: Pki, *, require_client_cert: bool = True, server: Issued | None = None) -> None:
        self.routes: dict[tuple[str, str], list[Reply] | Handler] = {}
        self.requests: list[Recorded] = []
        self.delay: float = 0.0
        self.connections = 0  # TCP connections accepted (one handler each)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        server = server or pki.server
        (pki.root / "srv.pem").write_bytes(server.pem)
        (pki.root / "srv.key").write_bytes(server.key_pem)
        ctx.load_cert_chain(pki.root / "srv.pem", pki.root / "srv.key")
        if require_client_cert:
            ctx.verify_mode = ssl.CERT_REQUIRED
            ctx.load_verify_locations(pki.root / "terminal-ca.pem")
        outer = self

        class _H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def setup(self) -> None:
                outer.connections += 1
                super().setup()

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                peer = self.connection.getpeercert()  # type: ignore[attr-defined]
                cn = None
                if peer:
                    cn = dict(x[0] for x in peer["subject"]).get("commonName")
                path = self.path.split("?")[0]
                rec = Recorded(
                    self.command, self.path, dict(self.headers.items()), json.loads(raw) if raw else None, cn
                )
                outer.requests.append(rec)
                reply = outer._reply(self.command, path, rec)
                if outer.delay:
                    threading.Event().wait(outer.delay)
                status, body = reply[0], reply[1]
                headers = reply[2] if len(reply) > 2 else {}  # type: ignore[misc]
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                ctype = "application/json" if status < 400 else "application/problem+json"
                self.send_header("Content-Type", headers.get("Content-Type", ctype))
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = _serve
            do_POST = _serve

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _H)
        self.httpd.daemon_threads = True
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.url = f"https://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def _reply(self, method: str, path: str, rec: Recorded) -> Reply:
        script = self.routes.get((method, path))
        if script is None:
            return 404, problem("not_found", 404)
        if callable(script):
            return script(rec)
        return script.pop(0) if len(script) > 1 else script[0]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(5)


def problem(
    code: str, status: int, *, retryable: bool = False, reason: str = "kiosk_fault"
) -> dict[str, Any]:
    return {
        "type": f"urn:myna-kiosk:problem:{code}",
        "title": code,
        "status": status,
        "code": code,
        "retryable": retryable,
        "reason": reason,
        "detail": f"detail of {code}",
    }


# --- well-formed answers of the center's calls (tests tamper with copies of them) ---------------------
T = "2026-11-29T12:00:00+09:00"
CHALLENGE = bytes(range(32))


def session_body(terminal: str = "T-0001", sid: str = "S-1") -> dict[str, Any]:
    return {
        "session_id": sid,
        "challenge": b64url_encode(CHALLENGE),
        "expires_at": T,
        "terminal_id": terminal,
        "auth_message_version": "myna-kiosk-auth/1",
    }


def auth_body(serial_hash: str, sid: str = "S-1") -> dict[str, Any]:
    return {
        "session_id": sid,
        "route": "residence",
        "resident_ref": "R-x",
        "cert_serial_hash": serial_hash,
        "municipality": {"code": "131016", "name": "千代田区"},
        "expires_at": T,
        "menu": [
            {
                "type": "juminhyo",
                "label": "住民票の写し",
                "fee": 200,
                "max_copies": 5,
                "available_now": True,
                "options": [{"name": "scope", "values": ["self", "household"], "default": "self"}],
            }
        ],
    }


def order_body(copies: int = 2) -> dict[str, Any]:
    return {
        "order_id": "O-1",
        "session_id": "S-1",
        "total": 200 * copies,
        "currency": "JPY",
        "state": "priced",
        "items": [
            {
                "item_index": 0,
                "type": "juminhyo",
                "label": "住民票の写し",
                "options": {"scope": "self"},
                "copies": copies,
                "unit_fee": 200,
                "fee": 200 * copies,
            }
        ],
    }


def card_cert(pki: Pki) -> bytes:
    """Any certificate serves as the "card" certificate here."""
    return pki.terminal.cert.public_bytes(Encoding.DER)


FAST_RETRY = RetryPolicy(attempts=4, base=0.01, cap=0.05, jitter=0.5, deadline=5.0)


def client_for(
    url: str,
    pki: Pki,
    *,
    retry: RetryPolicy = FAST_RETRY,
    timeouts: Timeouts | None = None,
    cert: Path | None = None,
    key: Path | None = None,
    ca: Path | None = None,
) -> IssuanceClient:
    return IssuanceClient(
        url,
        cert or pki.path("terminal.pem"),
        key or pki.path("terminal.key"),
        ca or pki.path("center-ca.pem"),
        retry=retry,
        timeouts=timeouts or Timeouts(connect=2.0, read=5.0),
    )
