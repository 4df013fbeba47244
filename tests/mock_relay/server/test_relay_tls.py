"""Mutual TLS: the API listener demands a terminal-CA certificate; the public listener does not."""

from __future__ import annotations

import socket
import ssl
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID
from relay_server_helpers import Kiosk

from mock_relay.tls import DOCUMENT_SIGNING_EKU, CenterPki, CenterPkiError, client_context


def _handshake(url: str, ctx: ssl.SSLContext) -> bytes:
    host, port = url.removeprefix("https://").split(":")
    with (
        socket.create_connection((host, int(port)), timeout=10) as raw,
        ctx.wrap_socket(raw, server_hostname=host) as tls,
    ):
        tls.sendall(b"GET /v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        return tls.recv(4096)


def _refused(url: str, ctx: ssl.SSLContext) -> None:
    """The server refuses the handshake: with TLS 1.2 the client sees the alert during the handshake;
    with TLS 1.3 (client auth after the client's Finished) on the first read, or just a closed socket."""
    ctx12 = ctx
    ctx12.maximum_version = ssl.TLSVersion.TLSv1_2
    with pytest.raises((ssl.SSLError, ConnectionResetError, BrokenPipeError)):
        _handshake(url, ctx12)
    ctx.maximum_version = ssl.TLSVersion.TLSv1_3
    try:
        answer = _handshake(url, ctx)
    except (ssl.SSLError, ConnectionResetError, BrokenPipeError):
        return
    assert answer == b"", answer[:40]


def _pinned(relay) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(relay.data_dir / "center" / "center-ca.pem"))


def test_no_client_certificate_fails_the_handshake(relay):
    _refused(relay.api_url, _pinned(relay))


def test_certificate_from_a_foreign_terminal_ca_fails_the_handshake(relay, tmp_path: Path):
    foreign = CenterPki.open(tmp_path / "foreign").issue_terminal("T-0001", tmp_path / "t")
    ctx = client_context(
        foreign / "terminal.pem", foreign / "terminal.key", relay.data_dir / "center" / "center-ca.pem"
    )
    _refused(relay.api_url, ctx)


def test_terminal_identity_comes_from_the_certificate(relay, kiosk, kiosk2):
    assert kiosk.get("/v1/health").body["terminal_id"] == "T-0001"
    forged = kiosk2.request("GET", "/v1/health", headers={"X-Terminal-Id": "T-0001"})
    assert forged.body["terminal_id"] == "T-0002"


def test_server_certificate_names_loopback_and_the_center_ca_is_pinned(relay, tmp_path: Path):
    assert _handshake(relay.public_url, _pinned(relay)).startswith(b"HTTP/1.1 200")
    other = CenterPki.open(tmp_path / "other")
    with pytest.raises(ssl.SSLCertVerificationError):
        _handshake(relay.public_url, ssl.create_default_context(cafile=str(other.center_ca.cert_path)))


def test_public_listener_serves_verify_but_no_kiosk_route(relay):
    public = Kiosk(relay.public_url, None, ctx=_pinned(relay))
    assert public.get("/v1/health").status == 200
    assert public.post("/v1/sessions", {}).code == "not_found"
    assert public.get("/v1/verify/AAAA-BBBB-CCCC-DDDD").code == "verification_not_found"


def test_document_signer_has_only_the_document_eku(relay):
    signer = relay.center.center_pki.signer.cert
    eku = signer.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [DOCUMENT_SIGNING_EKU]
    server = relay.center.center_pki.server.cert
    assert list(server.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value) == [
        ExtendedKeyUsageOID.SERVER_AUTH
    ]


def test_terminal_ids_are_checked(tmp_path: Path):
    with pytest.raises(CenterPkiError):
        CenterPki.open(tmp_path / "c").issue_terminal("../evil", tmp_path / "t")


def test_pki_persists_across_opens(tmp_path: Path):
    first = CenterPki.open(tmp_path / "c")
    again = CenterPki.open(tmp_path / "c")
    assert first.center_ca.cert == again.center_ca.cert and first.signer.cert == again.signer.cert
    assert oct((tmp_path / "c" / "center-ca.key").stat().st_mode & 0o777) == "0o600"
