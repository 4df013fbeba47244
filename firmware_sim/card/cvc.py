"""Card-verifiable certificates and key identifiers of the 券面 APs (docs/card.md §6, §6.1).

- Key identifier (16 bytes): 7 ASCII digits, ``08 05``, 3 ASCII digits, 4 padding bytes. The JPKI
  *test* hierarchy's identifiers begin with ``6`` (production ``5``).
- RSA public key: ``90 <exponent> 91 82 01 00 <modulus>`` (265 bytes for RSA-2048).
- Certificate (EF 0004): ``7F21 { 5F4E <issuer key ID, subject key ID, public key: 297 bytes>,
  5F37 <RSASSA-PKCS1-v1_5 SHA-256 over the 5F4E value> }``; the issuer key is not on the card.
"""

from __future__ import annotations

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from reader.ber import encode_tlv
from reader.constants import (
    CVC_KEY_ID_SIZE,
    CVC_TAG,
    CVC_TAG_BODY,
    CVC_TAG_SIGNATURE,
    RSA_TAG_EXPONENT,
    RSA_TAG_MODULUS,
)

_KEY_ID_MARK = b"\x08\x05"
_KEY_ID_GROUP = b"001"
_KEY_ID_PADDING = bytes(4)

#: Issuer key numbers of the two 券面 APs' certificates on a JPKI test card (myna-card).
FACE_AP_CA_NUMBER = "6000023"  # 券面事項確認AP
TEXT_AP_CA_NUMBER = "6000033"  # 券面事項入力補助AP
#: Key numbers the APs' basic-information files name (test-hierarchy form of x000024 / x000034).
FACE_AP_BASIC_KEY_NUMBER = "6000024"
TEXT_AP_BASIC_KEY_NUMBER = "6000034"


def key_id(number: str) -> bytes:
    """The 16-byte key identifier for a 7-digit key number. Raises ValueError unless 7 ASCII digits."""
    if len(number) != 7 or not number.isascii() or not number.isdigit():
        raise ValueError(f"key number must be 7 ASCII digits, got {number!r}")
    key = number.encode("ascii") + _KEY_ID_MARK + _KEY_ID_GROUP + _KEY_ID_PADDING
    assert len(key) == CVC_KEY_ID_SIZE
    return key


def municipality_key_number(municipality_code: str) -> str:
    """The issuing municipality's own key number: ``6`` + its 6-digit code (our choice; the format of
    real subject key numbers is not public). Raises ValueError for a code that is not 6 digits."""
    if len(municipality_code) != 6 or not municipality_code.isdigit():
        raise ValueError(f"municipality code must be 6 digits, got {municipality_code!r}")
    return "6" + municipality_code


def public_key_tlvs(key: rsa.RSAPublicKey) -> bytes:
    """``90 <e> 91 <n>`` as the card stores an RSA public key."""
    numbers = key.public_numbers()
    exponent = numbers.e.to_bytes((numbers.e.bit_length() + 7) // 8, "big")
    modulus = numbers.n.to_bytes((key.key_size + 7) // 8, "big")
    return encode_tlv(RSA_TAG_EXPONENT, exponent) + encode_tlv(RSA_TAG_MODULUS, modulus)


def build_cv_certificate(
    issuer_key_id: bytes, subject_key_id: bytes, subject: rsa.RSAPublicKey, issuer: rsa.RSAPrivateKey
) -> bytes:
    """EF 0004: a ``7F21`` certificate of ``subject`` signed by ``issuer``.

    Raises ValueError for key identifiers that are not 16 bytes.
    """
    if len(issuer_key_id) != CVC_KEY_ID_SIZE or len(subject_key_id) != CVC_KEY_ID_SIZE:
        raise ValueError("key identifiers are 16 bytes")
    body = issuer_key_id + subject_key_id + public_key_tlvs(subject)
    signature = issuer.sign(body, padding.PKCS1v15(), hashes.SHA256())
    return encode_tlv(CVC_TAG, encode_tlv(CVC_TAG_BODY, body) + encode_tlv(CVC_TAG_SIGNATURE, signature))
