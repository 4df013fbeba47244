"""券面事項確認AP (the card-face AP) file contents, and the codes that open it (docs/card.md §6.1).

- ``0001`` age record ``FF10 { DF11 YYYYMMDD, DF12 card key, DF13 signature }``
- ``0002`` card face ``FF20 { DF21 offsets, DF22 birth, DF23 sex, DF24 card key, DF25 name PNG,
  DF26 address PNG, DF27 photo JP2, DF28 signature, DF29 expiry YYYYMMDD, DF2A security-code PNG }``;
  the signature is PKCS#1 v1.5 over one DigestInfo holding three SHA-256 digests (DF22–DF24,
  DF25–DF26, DF27); DF29 and DF2A come after it and are not covered.
- ``0003`` AP basic info ``FF30 { DF31 identification, DF32 key ID, DF33 version, DF34 5-digit
  municipality code, DF35 key ID + 256 opaque bytes }``
- ``0004`` the AP's card-verifiable certificate (:mod:`firmware_sim.card.cvc`)
- ``0005`` My Number image ``FF40 { DF41 PNG, DF42 card key, DF43 signature }``

Records 0001 and 0005 are signed (RSASSA-PKCS1-v1_5, SHA-256) over every object before the signature
by the municipality key the certificate in 0004 certifies — the key that signs the 券面事項入力補助AP
integrity record too. Images are synthetic (:mod:`firmware_sim.card.face_images`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from firmware_sim.card.cvc import (
    FACE_AP_BASIC_KEY_NUMBER,
    FACE_AP_CA_NUMBER,
    build_cv_certificate,
    key_id,
    municipality_key_number,
    public_key_tlvs,
)
from firmware_sim.card.face_images import synthetic_label_png, synthetic_photo_jp2
from firmware_sim.card.jpki_ap import pkcs1_type1_sign
from firmware_sim.holder import Holder, era_year
from firmware_sim.pki.profile import der_length
from reader.ber import encode_tlv
from reader.constants import (
    KAKUNIN_TAG_AGE_BIRTH,
    KAKUNIN_TAG_AGE_KEY,
    KAKUNIN_TAG_AGE_RECORD,
    KAKUNIN_TAG_AGE_SIGNATURE,
    KAKUNIN_TAG_AP_BASIC_INFO,
    KAKUNIN_TAG_AP_IDENTIFICATION,
    KAKUNIN_TAG_AP_KEY_ID,
    KAKUNIN_TAG_AP_MUNICIPALITY,
    KAKUNIN_TAG_AP_REFERENCE,
    KAKUNIN_TAG_AP_VERSION,
    KAKUNIN_TAG_CARD_FACE,
    KAKUNIN_TAG_FACE_ADDRESS_IMAGE,
    KAKUNIN_TAG_FACE_BIRTH,
    KAKUNIN_TAG_FACE_CODE_IMAGE,
    KAKUNIN_TAG_FACE_EXPIRY,
    KAKUNIN_TAG_FACE_KEY,
    KAKUNIN_TAG_FACE_NAME_IMAGE,
    KAKUNIN_TAG_FACE_OFFSETS,
    KAKUNIN_TAG_FACE_PHOTO,
    KAKUNIN_TAG_FACE_SEX,
    KAKUNIN_TAG_FACE_SIGNATURE,
    KAKUNIN_TAG_NUMBER_IMAGE,
    KAKUNIN_TAG_NUMBER_KEY,
    KAKUNIN_TAG_NUMBER_PNG,
    KAKUNIN_TAG_NUMBER_SIGNATURE,
    KakuninFile,
)

SHA256_ALGORITHM = bytes.fromhex("300d06096086480165030402010500")  # AlgorithmIdentifier, NULL params
AP_VERSION = 0x01
ADULT_AGE = 18
_ADULT_YEARS, _MINOR_YEARS = 10, 5
_REFERENCE_SIZE = 256


@dataclass(frozen=True)
class FaceCodes:
    """The three values that open the 券面事項確認AP (and A/B the 券面事項入力補助AP too)."""

    code_a: str  # 照合番号A: the 12-digit My Number
    code_b: str  # 照合番号B: birth YYMMDD (era year) + expiry year + 4-digit security code
    birth_key: str  # birth YYMMDD in the era year


def nth_birthday_after(birth: date, issued: date, n: int) -> date:
    """The holder's ``n``-th birthday strictly after ``issued`` (29 Feb → 28 Feb in common years)."""

    def birthday(year: int) -> date:
        try:
            return birth.replace(year=year)
        except ValueError:
            return date(year, 2, 28)

    year = issued.year if birthday(issued.year) > issued else issued.year + 1
    return birthday(year + n - 1)


def card_expiry(birth: date, issued: date) -> date:
    """The card's 有効期限: the 10th birthday after issuance, the 5th for holders under 18."""
    age = issued.year - birth.year - ((issued.month, issued.day) < (birth.month, birth.day))
    return nth_birthday_after(birth, issued, _ADULT_YEARS if age >= ADULT_AGE else _MINOR_YEARS)


def birth_date_key(birth: date) -> str:
    """Birth date as ``YYMMDD`` with the Japanese era year. Raises ValueError before Meiji or past
    era year 99."""
    year = era_year(birth)
    if year > 99:
        raise ValueError("era year does not fit two digits")
    return f"{year:02d}{birth:%m%d}"


def face_codes(holder: Holder, expiry: date, security_code: str) -> FaceCodes:
    """照合番号A, 照合番号B and the birth-date key for ``holder``. Raises ValueError for a security code
    that is not 4 digits."""
    if len(security_code) != 4 or not security_code.isdigit():
        raise ValueError("security code must be 4 digits")
    birth = birth_date_key(holder.birth_date)
    return FaceCodes(holder.my_number, f"{birth}{expiry.year:04d}{security_code}", birth)


def digest_info_sha256(digest: bytes) -> bytes:
    """A SHA-256 DigestInfo over ``digest`` of any length (the card face puts three digests in one)."""
    inner = SHA256_ALGORITHM + b"\x04" + der_length(len(digest)) + digest
    return b"\x30" + der_length(len(inner)) + inner


def _signed_record(tag: int, signature_tag: int, fields: bytes, key: rsa.RSAPrivateKey) -> bytes:
    signature = key.sign(fields, padding.PKCS1v15(), hashes.SHA256())
    return encode_tlv(tag, fields + encode_tlv(signature_tag, signature))


def build_age_record(holder: Holder, card_key: rsa.RSAPublicKey, signer: rsa.RSAPrivateKey) -> bytes:
    """EF 0001: birth date, the card's public key, the municipality's signature."""
    fields = encode_tlv(KAKUNIN_TAG_AGE_BIRTH, f"{holder.birth_date:%Y%m%d}".encode("ascii")) + encode_tlv(
        KAKUNIN_TAG_AGE_KEY, public_key_tlvs(card_key)
    )
    return _signed_record(KAKUNIN_TAG_AGE_RECORD, KAKUNIN_TAG_AGE_SIGNATURE, fields, signer)


def build_card_face(
    holder: Holder, expiry: date, card_key: rsa.RSAPublicKey, signer: rsa.RSAPrivateKey, security_code: str
) -> bytes:
    """EF 0002: the card face behind an offset table (synthetic images)."""
    seed = holder.holder_id.encode("utf-8")
    groups = [
        [
            encode_tlv(KAKUNIN_TAG_FACE_BIRTH, f"{holder.birth_date:%Y%m%d}".encode("ascii")),
            encode_tlv(KAKUNIN_TAG_FACE_SEX, str(int(holder.sex)).encode("ascii")),
            encode_tlv(KAKUNIN_TAG_FACE_KEY, public_key_tlvs(card_key)),
        ],
        [
            encode_tlv(
                KAKUNIN_TAG_FACE_NAME_IMAGE, synthetic_label_png("SYNTHETIC NAME", seed + b"name", 160)
            ),
            encode_tlv(
                KAKUNIN_TAG_FACE_ADDRESS_IMAGE,
                synthetic_label_png("SYNTHETIC ADDRESS", seed + b"address", 240),
            ),
        ],
        [encode_tlv(KAKUNIN_TAG_FACE_PHOTO, synthetic_photo_jp2(seed))],
    ]
    digests = b"".join(hashlib.sha256(b"".join(group)).digest() for group in groups)
    signature = pkcs1_type1_sign(signer, digest_info_sha256(digests))
    fields = [
        *groups[0],
        *groups[1],
        *groups[2],
        encode_tlv(KAKUNIN_TAG_FACE_SIGNATURE, signature),
        encode_tlv(KAKUNIN_TAG_FACE_EXPIRY, f"{expiry:%Y%m%d}".encode("ascii")),
        encode_tlv(
            KAKUNIN_TAG_FACE_CODE_IMAGE, synthetic_label_png("CODE", security_code.encode("ascii"), 64)
        ),
    ]
    return _with_offsets(KAKUNIN_TAG_CARD_FACE, KAKUNIN_TAG_FACE_OFFSETS, fields)


def _with_offsets(tag: int, table_tag: int, fields: list[bytes]) -> bytes:
    table_len = len(encode_tlv(table_tag, bytes(2 * len(fields))))
    body_len = table_len + sum(len(f) for f in fields)
    header = tag.to_bytes(2, "big") + der_length(body_len)
    position = len(header) + table_len
    table = b""
    for field in fields:
        table += position.to_bytes(2, "big")
        position += len(field)
    return header + encode_tlv(table_tag, table) + b"".join(fields)


def build_face_ap_basic_info(holder: Holder, identification: bytes, reference: bytes) -> bytes:
    """EF 0003. ``reference``: the 256 opaque bytes of DF35 (their meaning is not public).

    Raises ValueError for a reference that is not 256 bytes.
    """
    if len(reference) != _REFERENCE_SIZE:
        raise ValueError("DF35 reference must be 256 bytes")
    municipality = holder.municipality_code[:5].encode("ascii")  # without the check digit
    return encode_tlv(
        KAKUNIN_TAG_AP_BASIC_INFO,
        encode_tlv(KAKUNIN_TAG_AP_IDENTIFICATION, identification)
        + encode_tlv(KAKUNIN_TAG_AP_KEY_ID, key_id(FACE_AP_BASIC_KEY_NUMBER))
        + encode_tlv(KAKUNIN_TAG_AP_VERSION, bytes([AP_VERSION]))
        + encode_tlv(KAKUNIN_TAG_AP_MUNICIPALITY, municipality)
        + encode_tlv(KAKUNIN_TAG_AP_REFERENCE, key_id(FACE_AP_BASIC_KEY_NUMBER) + reference),
    )


def build_number_image(holder: Holder, card_key: rsa.RSAPublicKey, signer: rsa.RSAPrivateKey) -> bytes:
    """EF 0005: a synthetic image standing in for the printed My Number, key, signature."""
    png = synthetic_label_png("SYNTHETIC NUMBER", holder.my_number.encode("ascii"), 96)
    fields = encode_tlv(KAKUNIN_TAG_NUMBER_PNG, png) + encode_tlv(
        KAKUNIN_TAG_NUMBER_KEY, public_key_tlvs(card_key)
    )
    return _signed_record(KAKUNIN_TAG_NUMBER_IMAGE, KAKUNIN_TAG_NUMBER_SIGNATURE, fields, signer)


@dataclass(frozen=True)
class FaceApKeys:
    """The keys the card-face AP's files need: the card's own (public half), the municipality key
    that signs the records, and the CA key that certifies the municipality key."""

    card_key: rsa.RSAPublicKey
    signer: rsa.RSAPrivateKey
    ca_key: rsa.RSAPrivateKey


def build_kakunin_files(
    holder: Holder,
    *,
    keys: FaceApKeys,
    expiry: date,
    security_code: str,
    identification: bytes,
    reference: bytes,
) -> dict[int, bytes]:
    """FID -> content for 0001–0005. Raises ValueError for an invalid holder or bad sizes."""
    holder.validate()
    subject = key_id(municipality_key_number(holder.municipality_code))
    return {
        KakuninFile.AGE_RECORD: build_age_record(holder, keys.card_key, keys.signer),
        KakuninFile.CARD_FACE: build_card_face(holder, expiry, keys.card_key, keys.signer, security_code),
        KakuninFile.AP_BASIC_INFO: build_face_ap_basic_info(holder, identification, reference),
        KakuninFile.AP_CERTIFICATE: build_cv_certificate(
            key_id(FACE_AP_CA_NUMBER), subject, keys.signer.public_key(), keys.ca_key
        ),
        KakuninFile.MY_NUMBER_IMAGE: build_number_image(holder, keys.card_key, keys.signer),
    }
