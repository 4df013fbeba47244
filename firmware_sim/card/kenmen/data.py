"""券面事項入力補助AP file contents (docs/card.md §6): build them for a holder, and parse them back.

- ``0001`` My Number: ``FF 10 0C <12 ASCII digits> FF FF`` (17 bytes physical).
- ``0002`` 基本4情報: ``FF 20 <len> { DF21 08 <4 offsets>, DF22 name, DF23 address, DF24 YYYYMMDD,
  DF25 sex }`` + ``FF`` filler. Offsets are big-endian, from the start of the file, to each tag.
  ``<len>`` is the short DER form on first-generation cards and always ``82 HH LL`` on cards issued
  from 2023 (docs/card.md §1.1).
- ``0005`` AP basic information: ``FF 40 { DF41 04 <identification>, DF42 10 <key ID>, DF43 81 80
  <32 bytes + 96 x FF> }``, readable without a PIN.
- ``0003`` integrity: ``FF 30 82 01 4B { DF31 20 sha256(0001 physical), DF32 20 sha256(0002 value
  from DF22 to the end of the TLV, i.e. without the offset table and filler), DF33 82 01 00 sig }``;
  ``sig`` = RSASSA-PKCS1-v1_5 SHA-256 over the DF31 and DF32 TLVs (the bytes before DF33), by the
  券面AP signing key (``TestPki.kenmen_signing_key()``).

The tags are private-class and written non-minimally (``FF 10`` for tag number 16), so the parser
here is a lenient BER reader; strict DER parsers reject these files (docs/card.md §9 pitfall 14).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from firmware_sim.holder import Holder
from firmware_sim.pki.profile import der_length
from reader.constants import (
    KENMEN_TAG_ADDRESS,
    KENMEN_TAG_AP_BASIC_INFO,
    KENMEN_TAG_AP_IDENTIFICATION,
    KENMEN_TAG_AP_KEY_ID,
    KENMEN_TAG_AP_TRAILER,
    KENMEN_TAG_BASIC_INFO,
    KENMEN_TAG_BIRTH,
    KENMEN_TAG_HASH_BASIC_INFO,
    KENMEN_TAG_HASH_MY_NUMBER,
    KENMEN_TAG_INTEGRITY,
    KENMEN_TAG_MY_NUMBER,
    KENMEN_TAG_NAME,
    KENMEN_TAG_OFFSETS,
    KENMEN_TAG_SEX,
    KENMEN_TAG_SIGNATURE,
)

MY_NUMBER_FILE_SIZE = 17
BASIC_INFO_ALIGN = 32  # the 基本4情報 file is FF-filled to the next multiple of this (always some filler)
FILLER = 0xFF
LONG_FORM_2 = 0x82  # "two length bytes follow": the 2023 cards' basic-info header
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
class BasicInfo:
    """The 基本4情報 as 0002 holds them."""

    name: str
    address: str
    birth_date: date
    sex: str  # one ASCII digit: 1 male, 2 female, 9 not applicable (0 unknown)


@dataclass(frozen=True)
class IntegrityRecord:
    """0003: the two digests, the signature and exactly the bytes it covers."""

    my_number_digest: bytes
    basic_info_digest: bytes
    signature: bytes
    signed_data: bytes


def _tag_bytes(tag: int) -> bytes:
    return tag.to_bytes(2 if tag > 0xFF else 1, "big")


def encode_tlv(tag: int, value: bytes) -> bytes:
    """Tag bytes (as written, e.g. ``FF 10``) + DER length + value."""
    return _tag_bytes(tag) + der_length(len(value)) + value


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


def _basic_info_header(body_len: int, long_header: bool) -> bytes:
    tag = _tag_bytes(KENMEN_TAG_BASIC_INFO)
    if long_header:
        return tag + bytes([LONG_FORM_2]) + body_len.to_bytes(2, "big")
    return tag + der_length(body_len)


def build_basic_info_file(holder: Holder, *, long_header: bool = False) -> bytes:
    """EF 0002 for ``holder`` (offset table, UTF-8 name/address, YYYYMMDD, sex digit, FF filler);
    ``long_header``: the outer length always as ``82 HH LL`` (cards issued from 2023)."""
    fields = [
        encode_tlv(KENMEN_TAG_NAME, holder.name.encode("utf-8")),
        encode_tlv(KENMEN_TAG_ADDRESS, holder.address.encode("utf-8")),
        encode_tlv(KENMEN_TAG_BIRTH, f"{holder.birth_date:%Y%m%d}".encode("ascii")),
        encode_tlv(KENMEN_TAG_SEX, str(int(holder.sex)).encode("ascii")),
    ]
    offsets_len = len(encode_tlv(KENMEN_TAG_OFFSETS, bytes(8)))
    body_len = offsets_len + sum(len(f) for f in fields)
    header = _basic_info_header(body_len, long_header)
    position = len(header) + offsets_len
    table = b""
    for field in fields:
        table += position.to_bytes(2, "big")
        position += len(field)
    tlv = header + encode_tlv(KENMEN_TAG_OFFSETS, table) + b"".join(fields)
    size = (len(tlv) // BASIC_INFO_ALIGN + 1) * BASIC_INFO_ALIGN
    return tlv + bytes([FILLER]) * (size - len(tlv))


def basic_info_digest_source(basic_info_file: bytes) -> bytes:
    """The bytes DF32 hashes: the FF20 value after the offset table (DF22 to the end of the TLV).

    Raises KenmenFormatError if the file is not FF20 starting with DF21.
    """
    outer = read_tlv(basic_info_file)
    if outer.tag != KENMEN_TAG_BASIC_INFO:
        raise KenmenFormatError(f"basic info: expected tag FF20, got {outer.tag:X}")
    table = read_tlv(outer.value)
    if table.tag != KENMEN_TAG_OFFSETS:
        raise KenmenFormatError("basic info: the offset table (DF21) is not the first object")
    return outer.value[table.end :]


def build_integrity_file(my_number_file: bytes, basic_info_file: bytes, key: rsa.RSAPrivateKey) -> bytes:
    """EF 0003 over the two files, signed with ``key`` (RSA-2048).

    Raises KenmenFormatError for a malformed basic-info file, ValueError for a key that is not 2048-bit.
    """
    if key.key_size != 2048:
        raise ValueError("the 券面AP signing key must be RSA-2048")
    signed = encode_tlv(KENMEN_TAG_HASH_MY_NUMBER, hashlib.sha256(my_number_file).digest()) + encode_tlv(
        KENMEN_TAG_HASH_BASIC_INFO, hashlib.sha256(basic_info_digest_source(basic_info_file)).digest()
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


def parse_basic_info_file(data: bytes) -> BasicInfo:
    """Parse EF 0002, checking the offset table against where each field really is.

    Raises KenmenFormatError for a wrong tag, a missing field, bad offsets or bad encodings.
    """
    outer = read_tlv(data)
    if outer.tag != KENMEN_TAG_BASIC_INFO:
        raise KenmenFormatError(f"basic info: expected tag FF20, got {outer.tag:X}")
    base = outer.end - len(outer.value)
    found: dict[int, Tlv] = {}
    pos = base
    while pos < outer.end:
        tlv = read_tlv(data[: outer.end], pos)
        found[tlv.tag] = tlv
        pos = tlv.end
    wanted = (KENMEN_TAG_NAME, KENMEN_TAG_ADDRESS, KENMEN_TAG_BIRTH, KENMEN_TAG_SEX)
    missing = [f"{tag:X}" for tag in (KENMEN_TAG_OFFSETS, *wanted) if tag not in found]
    if missing:
        raise KenmenFormatError(f"basic info: missing {', '.join(missing)}")
    table = found[KENMEN_TAG_OFFSETS].value
    offsets = [int.from_bytes(table[i : i + 2], "big") for i in range(0, len(table), 2)]
    actual = [found[tag].start for tag in wanted]
    if offsets != actual:
        raise KenmenFormatError(f"basic info: offset table {offsets} does not match field positions {actual}")
    try:
        birth = found[KENMEN_TAG_BIRTH].value.decode("ascii")
        return BasicInfo(
            name=found[KENMEN_TAG_NAME].value.decode("utf-8"),
            address=found[KENMEN_TAG_ADDRESS].value.decode("utf-8"),
            birth_date=date(int(birth[:4]), int(birth[4:6]), int(birth[6:8])),
            sex=found[KENMEN_TAG_SEX].value.decode("ascii"),
        )
    except (UnicodeDecodeError, ValueError) as exc:
        raise KenmenFormatError(f"basic info: bad field encoding ({exc})") from exc


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

    Raises KenmenFormatError for malformed files or a digest mismatch, and
    cryptography.exceptions.InvalidSignature for a bad signature.
    """
    record = parse_integrity_file(integrity_file)
    if hashlib.sha256(my_number_file).digest() != record.my_number_digest:
        raise KenmenFormatError("integrity record: My Number file digest does not match")
    if hashlib.sha256(basic_info_digest_source(basic_info_file)).digest() != record.basic_info_digest:
        raise KenmenFormatError("integrity record: basic info digest does not match")
    public_key.verify(record.signature, record.signed_data, padding.PKCS1v15(), hashes.SHA256())
    return record
