"""The center's certificate checks: every user-auth CA generation, never a foreign or signature CA."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from relay_server_helpers import Card

from firmware_sim.personalise import personalise_card
from firmware_sim.pki.hierarchy import foreign_pki
from mock_relay.cli.cards import holder_for
from mock_relay.jpki_check import auth_message, cert_serial_hash


def _authenticate(kiosk, cert_der: bytes, key) -> object:
    s = kiosk.post("/v1/sessions", {}).body
    challenge = base64.urlsafe_b64decode(s["challenge"] + "=")
    sig = key.sign(
        auth_message(s["session_id"], challenge, s["terminal_id"]), padding.PKCS1v15(), hashes.SHA256()
    )
    return kiosk.post(
        f"/v1/sessions/{s['session_id']}/authenticate",
        {
            "route": "residence",
            "certificate": base64.b64encode(cert_der).decode(),
            "signature": base64.b64encode(sig).decode(),
        },
    )


def test_an_older_ca_generation_is_still_accepted(relay, kiosk, key_pool):
    pki, registry = relay.center.jpki, relay.center.registry
    assert len(pki.auth_ca_certs) >= 2
    key = key_pool()
    now = datetime.now(UTC)
    cert = pki.issue_auth_certificate(
        key.public_key(),
        not_before=now - timedelta(days=1),
        not_after=now + timedelta(days=900),
        generation=0,
    )
    assert pki.issuer_of(cert) == pki.auth_ca_certs[0]
    registry.bind_card("S-005", cert_serial_hash(cert.serial_number), format(cert.serial_number, "X"))
    from cryptography.hazmat.primitives import serialization

    reply = _authenticate(kiosk, cert.public_bytes(serialization.Encoding.DER), key)
    assert reply.status == 200, reply.body  # its OCSP answer is signed by the old CA key itself


def test_foreign_pki_and_signature_ca_certificates_are_untrusted(relay, kiosk, key_pool, tmp_path: Path):
    resident = relay.center.registry.resident("S-005")
    other = foreign_pki(tmp_path / "foreign", key_factory=key_pool)
    path = tmp_path / "foreign.card"
    personalise_card(path, pki=other, holder=holder_for(resident), key_factory=key_pool)
    foreign = Card(path)
    reply = _authenticate(kiosk, foreign.cert_der, foreign.key)
    assert reply.code == "certificate_untrusted"
    card_path = tmp_path / "own.card"
    personalise_card(card_path, pki=relay.center.jpki, holder=holder_for(resident), key_factory=key_pool)
    from firmware_sim.card.image import CardImage

    image = CardImage.load(card_path)
    sign_cert, sign_key = image.jpki_files[0x0001], image.sign_key()
    assert sign_key is not None
    assert _authenticate(kiosk, sign_cert, sign_key).code == "certificate_untrusted"
    assert kiosk.post(
        "/v1/sessions/S-x/authenticate", {"route": "residence", "certificate": "!!", "signature": "AA=="}
    ).code in ("bad_request", "session_not_found")


def bad_version(der: bytes) -> bytes:
    """``der`` with its X.509 version field set to 18 (cryptography raises InvalidVersion, not ValueError)."""
    v3 = b"\xa0\x03\x02\x01\x02"
    assert v3 in der
    return der.replace(v3, b"\xa0\x03\x02\x01\x12", 1)


def test_a_certificate_with_an_impossible_version_is_a_client_error(kiosk, cards):
    card = cards("C-001")
    answer = _authenticate(kiosk, bad_version(card.cert_der), card.key)
    assert answer.status == 403 and answer.code == "certificate_invalid", answer.body
    assert answer.body["retryable"] is False
