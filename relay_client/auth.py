"""Pure functions both sides compute identically (docs/center-protocol.md): the bound authentication message,
the certificate-serial hash, the canonical form of a document binding, and base64url without padding.

No I/O here; the tests and the mock center may import these to build expected values.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Mapping
from typing import Any

from cryptography import x509

AUTH_MESSAGE_PREFIX = b"myna-kiosk-auth/1"
CHALLENGE_LENGTH = 32
_SERIAL_BYTES = 20


def auth_message(session_id: str, challenge: bytes, terminal_id: str) -> bytes:
    """The bytes the card signs: prefix || session_id || challenge || terminal_id.

    Raises ValueError if the challenge is not 32 bytes or an identifier is empty or not printable ASCII (a
    non-ASCII identifier could be encoded two ways, and the two sides must agree byte for byte).
    """
    if len(challenge) != CHALLENGE_LENGTH:
        raise ValueError(f"challenge must be {CHALLENGE_LENGTH} bytes, got {len(challenge)}")
    session = _ascii("session_id", session_id)
    return AUTH_MESSAGE_PREFIX + session + challenge + _ascii("terminal_id", terminal_id)


def cert_serial_hash(serial: int) -> str:
    """sha256 over the serial as 20 big-endian bytes, lower-case hex. Raises ValueError if out of range."""
    if serial < 0 or serial.bit_length() > _SERIAL_BYTES * 8:
        raise ValueError("certificate serial out of range")
    return hashlib.sha256(serial.to_bytes(_SERIAL_BYTES, "big")).hexdigest()


def cert_serial_hash_of(certificate_der: bytes) -> str:
    """The serial hash of a DER certificate. Raises ValueError if the bytes are not a certificate."""
    try:
        cert = x509.load_der_x509_certificate(certificate_der)
    except x509.InvalidVersion as exc:  # not a ValueError
        raise ValueError(f"not an X.509 certificate: {exc}") from exc
    return cert_serial_hash(cert.serial_number)


def canonical(binding: Mapping[str, Any]) -> bytes:
    """canonical(binding): sorted keys, no whitespace, UTF-8 (what the document signature covers)."""
    return json.dumps(binding, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def b64url_encode(data: bytes) -> str:
    """base64url without padding (how the challenge travels)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Decode base64url with or without padding. Raises ValueError on bad input."""
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise ValueError("not base64url") from exc


def b64_decode(text: str) -> bytes:
    """Decode standard base64 strictly. Raises ValueError on bad input."""
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("not base64") from exc


def b64_encode(data: bytes) -> str:
    """Standard base64 (certificates, signatures, PDFs)."""
    return base64.b64encode(data).decode("ascii")


def _ascii(name: str, value: str) -> bytes:
    if not value or not value.isascii() or not value.isprintable():
        raise ValueError(f"{name} must be non-empty printable ASCII")
    return value.encode("ascii")
