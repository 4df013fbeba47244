"""Card-verifiable certificates of the 券面 APs (EF 0004) and the RSA keys their records carry.

``7F21 { 5F4E <issuer key ID 16, subject key ID 16, 90 e 91 n>, 5F37 <signature> }``: the body is
signed (RSASSA-PKCS1-v1_5, SHA-256) by a CA key that is not on the card, named by the issuer key ID
(docs/card.md §6). Parsed leniently: the card's private tags are non-minimal BER.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from reader import ber
from reader.constants import (
    CVC_KEY_ID_SIZE,
    CVC_TAG,
    CVC_TAG_BODY,
    CVC_TAG_SIGNATURE,
    RSA_TAG_EXPONENT,
    RSA_TAG_MODULUS,
)
from reader.errors import ProtocolError

_KEY_NUMBER_DIGITS = 7
_GROUP = slice(9, 12)


@dataclass(frozen=True)
class KeyId:
    """A 16-byte key identifier: 7-digit key number, 2 bytes, 3-digit group, 4 bytes padding."""

    raw: bytes

    @property
    def number(self) -> str:
        """The 7-digit key number (``6…`` on the JPKI test hierarchy, ``5…`` in production)."""
        return self.raw[:_KEY_NUMBER_DIGITS].decode("ascii", errors="replace")

    def __str__(self) -> str:
        return f"{self.number}/{self.raw[_GROUP].decode('ascii', errors='replace')}"


def parse_key_id(raw: bytes) -> KeyId:
    """Raises ProtocolError unless 16 bytes with digits where the format has them."""
    if len(raw) != CVC_KEY_ID_SIZE or not raw[:_KEY_NUMBER_DIGITS].isdigit() or not raw[_GROUP].isdigit():
        raise ProtocolError(f"not a key identifier: {raw.hex(' ').upper()}")
    return KeyId(raw)


def parse_rsa_public_key(data: bytes) -> rsa.RSAPublicKey:
    """``90 <e> 91 <n>`` as the card stores a public key. Raises ProtocolError."""
    items = ber.children(data, lenient=True)
    if RSA_TAG_EXPONENT not in items or RSA_TAG_MODULUS not in items:
        raise ProtocolError("public key lacks the exponent (90) or the modulus (91)")
    e = int.from_bytes(items[RSA_TAG_EXPONENT].value, "big")
    n = int.from_bytes(items[RSA_TAG_MODULUS].value, "big")
    try:
        return rsa.RSAPublicNumbers(e, n).public_key()
    except ValueError as exc:
        raise ProtocolError(f"unusable RSA public key: {exc}") from exc


@dataclass(frozen=True)
class CvCertificate:
    """A parsed card-verifiable certificate."""

    issuer_key_id: KeyId
    subject_key_id: KeyId
    public_key: rsa.RSAPublicKey
    signature: bytes
    signed_data: bytes

    def verify_with(self, ca_key: rsa.RSAPublicKey) -> None:
        """Check the signature with the CA key its issuer key ID names. Raises ProtocolError."""
        try:
            ca_key.verify(self.signature, self.signed_data, padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature as exc:
            raise ProtocolError(
                f"card-verifiable certificate not signed by CA key {self.issuer_key_id}"
            ) from exc


def parse_cv_certificate(raw: bytes) -> CvCertificate:
    """EF 0004 of a 券面 AP. Raises ProtocolError for a wrong tag or a malformed body."""
    outer = ber.parse_tlv(raw, lenient=True)
    if outer.tag != CVC_TAG:
        raise ProtocolError(f"certificate has tag {outer.tag:X}, expected {CVC_TAG:X}")
    items = ber.children(outer.value, lenient=True)
    if CVC_TAG_BODY not in items or CVC_TAG_SIGNATURE not in items:
        raise ProtocolError("certificate lacks its body (5F4E) or signature (5F37)")
    body = items[CVC_TAG_BODY].value
    ids = 2 * CVC_KEY_ID_SIZE
    return CvCertificate(
        issuer_key_id=parse_key_id(body[:CVC_KEY_ID_SIZE]),
        subject_key_id=parse_key_id(body[CVC_KEY_ID_SIZE:ids]),
        public_key=parse_rsa_public_key(body[ids:]),
        signature=items[CVC_TAG_SIGNATURE].value,
        signed_data=body,
    )
