"""The JPKI OCSP responder: openssl accepts its answers; revocation reaches authentication."""

from __future__ import annotations

import base64
import shutil
import subprocess
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp
from relay_server_helpers import open_and_authenticate

from mock_relay.faults import FaultRule

pytestmark = pytest.mark.interop


def _pem(path: Path, cert: x509.Certificate) -> Path:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path


def _openssl_ocsp(relay, card, tmp_path: Path) -> str:
    if shutil.which("openssl") is None:
        pytest.fail("openssl is required (scripts/setup.sh installs it)")
    cert = x509.load_der_x509_certificate(card.cert_der)
    issuer = relay.center.jpki.issuer_of(cert)
    ee, ca = _pem(tmp_path / "ee.pem", cert), _pem(tmp_path / "ca.pem", issuer)
    out = subprocess.run(
        [
            "openssl",
            "ocsp",
            "-issuer",
            str(ca),
            "-cert",
            str(ee),
            "-url",
            relay.ocsp_url,
            "-CAfile",
            str(ca),
            "-resp_text",
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    return out.stdout + out.stderr


def test_openssl_accepts_good_and_revoked_answers(relay, cards, tmp_path: Path):
    card = cards("V-001")
    good = _openssl_ocsp(relay, card, tmp_path)
    assert "Response verify OK" in good and ": good" in good and "WARNING: no nonce" not in good
    assert "OCSP Nonce" in good
    serial = x509.load_der_x509_certificate(card.cert_der).serial_number
    relay.center.jpki.revoke(serial, reason=x509.ReasonFlags.key_compromise)
    revoked = _openssl_ocsp(relay, card, tmp_path)
    assert "Response verify OK" in revoked and ": revoked" in revoked
    assert "Reason: keyCompromise" in revoked and "Revocation Time" in revoked


def _request(cert: x509.Certificate, issuer: x509.Certificate) -> bytes:
    req = ocsp.OCSPRequestBuilder().add_certificate(cert, issuer, hashes.SHA1()).build()
    return req.public_bytes(serialization.Encoding.DER)


def test_get_form_unknown_serial_and_foreign_ca(relay, cards, tmp_path: Path):
    from firmware_sim.pki.hierarchy import foreign_pki

    card = cards("V-002")
    cert = x509.load_der_x509_certificate(card.cert_der)
    issuer = relay.center.jpki.issuer_of(cert)
    tail = urllib.parse.quote(base64.b64encode(_request(cert, issuer)).decode(), safe="")
    with urllib.request.urlopen(f"{relay.ocsp_url}/{tail}", timeout=10) as resp:
        answer = ocsp.load_der_ocsp_response(resp.read())
    assert answer.certificate_status == ocsp.OCSPCertStatus.GOOD
    assert answer.next_update_utc > answer.this_update_utc
    # a sign-CA-issued serial asked about under the auth CA is unknown to it
    bogus = (
        ocsp.OCSPRequestBuilder()
        .add_certificate_by_hash(answer.issuer_name_hash, answer.issuer_key_hash, 0x7FFFFFFF, hashes.SHA1())
        .build()
        .public_bytes(serialization.Encoding.DER)
    )
    assert _post(relay, bogus).certificate_status == ocsp.OCSPCertStatus.UNKNOWN
    other = foreign_pki(tmp_path / "foreign")
    stranger = _request(cert, other.auth_ca_cert)
    assert _post(relay, stranger).response_status == ocsp.OCSPResponseStatus.UNAUTHORIZED
    assert _post(relay, b"garbage").response_status == ocsp.OCSPResponseStatus.MALFORMED_REQUEST


def _post(relay, body: bytes) -> ocsp.OCSPResponse:
    req = urllib.request.Request(
        relay.ocsp_url, data=body, headers={"Content-Type": "application/ocsp-request"}
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        return ocsp.load_der_ocsp_response(resp.read())


def test_revoked_card_is_refused_and_ocsp_down_is_retryable(relay, kiosk, cards):
    card = cards("V-003")
    relay.faults.add(FaultRule(kind="ocsp_down", count=1))
    _, down = open_and_authenticate(kiosk, card)
    assert down.status == 503 and down.code == "ocsp_unavailable" and down.body["retryable"] is True
    _, ok = open_and_authenticate(kiosk, card)
    assert ok.status == 200, ok.body
    relay.center.jpki.revoke(x509.load_der_x509_certificate(card.cert_der).serial_number)
    _, refused = open_and_authenticate(kiosk, card)
    assert refused.status == 403 and refused.code == "certificate_revoked"
    assert refused.body["reason"] == "card_not_usable" and refused.body["retryable"] is False


def test_an_authentication_retried_after_ocsp_down_completes_in_the_same_session(relay, kiosk, cards):
    """The kiosk retries a retryable answer with the same request and key: the challenge the center
    could not finish checking is not spent, so the resident does not have to start over."""
    card = cards("V-002")
    relay.faults.add(FaultRule(kind="ocsp_down", count=1))
    opened = kiosk.post("/v1/sessions", {})
    sid = opened.body["session_id"]
    body = card.auth_body(opened.body, opened.body["terminal_id"], "residence")
    down = kiosk.post(f"/v1/sessions/{sid}/authenticate", body, key="auth-retry-1")
    assert down.status == 503 and down.code == "ocsp_unavailable"
    again = kiosk.post(f"/v1/sessions/{sid}/authenticate", body, key="auth-retry-1")
    assert again.status == 200, again.body
    assert again.body["session_id"] == sid
    replay = kiosk.post(f"/v1/sessions/{sid}/authenticate", body, key="auth-retry-2")
    assert replay.status == 409 and replay.code in ("challenge_reused", "session_closed")
