"""券面事項入力補助AP file contents (docs/card.md §6): build them for a holder, and parse them back.

- ``0001`` My Number: ``FF 10 0C <12 ASCII digits> FF FF`` (17 bytes physical).
- ``0002`` 基本4情報: the structure is the product's (``reader/basic_info.py``, which the reader reads
  cards with too); here only the holder's values go into it.
- ``0005`` AP basic information: ``FF 40 { DF41 04 <identification>, DF42 10 <key ID>, DF43 81 80
  <32 bytes + 96 x FF> }``, readable without a PIN.
- ``0003`` integrity: ``FF 30 82 01 4B { DF31 20 sha256(0001 physical), DF32 20 sha256(0002 value
  from DF22 to the end of the TLV, i.e. without the offset table and filler), DF33 82 01 00 sig }``;
  ``sig`` = RSASSA-PKCS1-v1_5 SHA-256 over the DF31 and DF32 TLVs (the bytes before DF33), by the
  券面AP signing key (``TestPki.kenmen_signing_key()``).

The tags are private-class and written non-minimally (``FF 10`` for tag number 16), so the parser
here is a lenient BER reader; strict DER parsers reject these files (docs/card.md §9 pitfall 14). Objects
are written with ``reader/ber.py``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from firmware_sim.holder import Holder
from reader.basic_info import BasicInfo, basic_info_hashed_part, encode_basic_info
from reader.ber import encode_tlv
from reader.constants import (
    KENMEN_TAG_AP_BASIC_INFO,
    KENMEN_TAG_AP_IDENTIFICATION,
    KENMEN_TAG_AP_KEY_ID,
    KENMEN_TAG_AP_TRAILER,
    KENMEN_TAG_HASH_BASIC_INFO,
    KENMEN_TAG_HASH_MY_NUMBER,
    KENMEN_TAG_INTEGRITY,
    KENMEN_TAG_MY_NUMBER,
    KENMEN_TAG_SIGNATURE,
)

MY_NUMBER_FILE_SIZE = 17
FILLER = 0xFF
AP_TRAILER_SIZE = 128  # DF43: 32 bytes then FF filler on the cards seen
AP_TRAILER_VALUE_SIZE = 32


class KenmenFormatError(ValueError):
    """A 券面事項入力補助AP file does not have the expected layout."""


@dataclass(frozen=True)
class Tlv:
    """One BER object: raw tag bytes as an int (``0xFF10``), value, and where it sits in the buffer."""

    tag: int
    value: bytes
    start: int  # offset of the first tag byte
    end: int  # offset just past the value


@dataclass(frozen=True)
class IntegrityRecord:
    """0003: the two digests, the signature and exactly the bytes it covers."""

    my_number_digest: bytes
    basic_info_digest: bytes
    signature: bytes
    signed_data: bytes


def read_tlv(data: bytes, offset: int = 0) -> Tlv:
    """Parse one BER object at ``offset`` leniently (high-tag form accepted even when non-minimal).

    Raises KenmenFormatError for truncated data or an unsupported length form.
    """
    try:
        pos = offset
        tag = data[pos]
        pos += 1
        if tag & 0x1F == 0x1F:
            while True:
                byte = data[pos]
                tag = (tag << 8) | byte
                pos += 1
                if not byte & 0x80:
                    break
        first = data[pos]
        pos += 1
        if first < 0x80:
            length = first
        elif 0x81 <= first <= 0x83:
            count = first & 0x7F
            if pos + count > len(data):
                raise IndexError
            length = int.from_bytes(data[pos : pos + count], "big")
            pos += count
        else:
            raise KenmenFormatError(f"unsupported BER length byte {first:02X} at offset {pos - 1}")
    except IndexError:
        raise KenmenFormatError(f"truncated BER header at offset {offset}") from None
    if pos + length > len(data):
        raise KenmenFormatError(f"object at offset {offset} runs past the end ({length} bytes declared)")
    return Tlv(tag, data[pos : pos + length], offset, pos + length)


# --- building -------------------------------------------------------------------------------------------
def build_my_number_file(my_number: str) -> bytes:
    """EF 0001: ``FF 10 0C`` + 12 ASCII digits + ``FF FF``. Raises ValueError unless 12 digits."""
    if len(my_number) != 12 or not my_number.isascii() or not my_number.isdigit():
        raise ValueError("My Number must be 12 ASCII digits")
    return encode_tlv(KENMEN_TAG_MY_NUMBER, my_number.encode("ascii")) + bytes([FILLER, FILLER])


def basic_info_of(holder: Holder) -> BasicInfo:
    """The 基本4情報 of ``holder`` as EF 0002 holds them (birth YYYYMMDD, sex as its ISO 5218 digit)."""
    return BasicInfo(holder.name, holder.address, f"{holder.birth_date:%Y%m%d}", str(int(holder.sex)))


def build_basic_info_file(holder: Holder, *, long_header: bool = False) -> bytes:
    """EF 0002 for ``holder`` (``reader.basic_info.encode_basic_info``); ``long_header``: the outer length
    always as ``82 HH LL`` (cards issued from 2023)."""
    return encode_basic_info(basic_info_of(holder), long_header=long_header)


def build_integrity_file(my_number_file: bytes, basic_info_file: bytes, key: rsa.RSAPrivateKey) -> bytes:
    """EF 0003 over the two files, signed with ``key`` (RSA-2048).

    Raises ProtocolError for a malformed basic-info file, ValueError for a key that is not 2048-bit.
    """
    if key.key_size != 2048:
        raise ValueError("the 券面AP signing key must be RSA-2048")
    signed = encode_tlv(KENMEN_TAG_HASH_MY_NUMBER, hashlib.sha256(my_number_file).digest()) + encode_tlv(
        KENMEN_TAG_HASH_BASIC_INFO, hashlib.sha256(basic_info_hashed_part(basic_info_file)).digest()
    )
    signature = key.sign(signed, padding.PKCS1v15(), hashes.SHA256())
    return encode_tlv(KENMEN_TAG_INTEGRITY, signed + encode_tlv(KENMEN_TAG_SIGNATURE, signature))


def build_ap_basic_info_file(identification: bytes, key_id: bytes, value: bytes) -> bytes:
    """EF 0005: ``FF 40 { DF41 identification, DF42 key ID, DF43 value + FF filler to 128 bytes }``.

    Raises ValueError when ``identification`` is not 4 bytes, ``key_id`` not 16, or ``value`` not 32.
    """
    if len(identification) != 4 or len(key_id) != 16 or len(value) != AP_TRAILER_VALUE_SIZE:
        raise ValueError("AP basic info: identification 4 bytes, key ID 16, value 32")
    trailer = value + bytes([FILLER]) * (AP_TRAILER_SIZE - len(value))
    return encode_tlv(
        KENMEN_TAG_AP_BASIC_INFO,
        encode_tlv(KENMEN_TAG_AP_IDENTIFICATION, identification)
        + encode_tlv(KENMEN_TAG_AP_KEY_ID, key_id)
        + encode_tlv(KENMEN_TAG_AP_TRAILER, trailer),
    )


def build_kenmen_files(
    holder: Holder, key: rsa.RSAPrivateKey, *, long_header: bool = False
) -> dict[int, bytes]:
    """FID -> content for 0001, 0002, 0003. Raises ValueError for an invalid holder."""
    holder.validate()
    my_number = build_my_number_file(holder.my_number)
    basic = build_basic_info_file(holder, long_header=long_header)
    return {0x0001: my_number, 0x0002: basic, 0x0003: build_integrity_file(my_number, basic, key)}


# --- parsing --------------------------------------------------------------------------------------------
def parse_my_number_file(data: bytes) -> str:
    """The 12 digits from EF 0001 (filler ignored). Raises KenmenFormatError."""
    tlv = read_tlv(data)
    if tlv.tag != KENMEN_TAG_MY_NUMBER:
        raise KenmenFormatError(f"My Number file: expected tag FF10, got {tlv.tag:X}")
    text = tlv.value.decode("ascii", errors="replace")
    if len(text) != 12 or not text.isdigit():
        raise KenmenFormatError("My Number file: value is not 12 ASCII digits")
    return text


def parse_integrity_file(data: bytes) -> IntegrityRecord:
    """Parse EF 0003. Raises KenmenFormatError for a wrong tag, order or digest size."""
    outer = read_tlv(data)
    if outer.tag != KENMEN_TAG_INTEGRITY:
        raise KenmenFormatError(f"integrity record: expected tag FF30, got {outer.tag:X}")
    first = read_tlv(outer.value)
    second = read_tlv(outer.value, first.end)
    third = read_tlv(outer.value, second.end)
    tags = (first.tag, second.tag, third.tag)
    if tags != (KENMEN_TAG_HASH_MY_NUMBER, KENMEN_TAG_HASH_BASIC_INFO, KENMEN_TAG_SIGNATURE):
        raise KenmenFormatError(f"integrity record: unexpected objects {[f'{t:X}' for t in tags]}")
    if len(first.value) != 32 or len(second.value) != 32:
        raise KenmenFormatError("integrity record: digests must be 32 bytes (SHA-256)")
    return IntegrityRecord(first.value, second.value, third.value, outer.value[: third.start])


def verify_integrity(
    my_number_file: bytes, basic_info_file: bytes, integrity_file: bytes, public_key: rsa.RSAPublicKey
) -> IntegrityRecord:
    """Check both digests and the signature; returns the parsed record.

    Raises KenmenFormatError for a malformed My Number or integrity file or a digest mismatch,
    ProtocolError for a malformed basic-info file, cryptography.exceptions.InvalidSignature for a bad
    signature.
    """
    record = parse_integrity_file(integrity_file)
    if hashlib.sha256(my_number_file).digest() != record.my_number_digest:
        raise KenmenFormatError("integrity record: My Number file digest does not match")
    if hashlib.sha256(basic_info_hashed_part(basic_info_file)).digest() != record.basic_info_digest:
        raise KenmenFormatError("integrity record: basic info digest does not match")
    public_key.verify(record.signature, record.signed_data, padding.PKCS1v15(), hashes.SHA256())
    return record
