"""基本4情報, the basic 4 information (EF ``0002`` of the 券面事項入力補助AP): its structure, built and read.

Pure data: no card access, no I/O, no logging. The product reads a card's file with it
(``reader/kenmen.py``); the virtual card writes its cards' files with it (``firmware_sim/card/kenmen/``),
so the two sides share one layout (docs/card.md §1.1, §6):

``FF 20 <len> { DF21 08 <4 offsets>, DF22 name, DF23 address, DF24 YYYYMMDD, DF25 sex }`` + ``FF`` filler
to the next multiple of 32 bytes (always some). The offsets are big-endian, from the start of the file, to
each field's tag. ``<len>`` is the short DER form on first-generation cards and always ``82 HH LL`` on
cards issued from 2023. The tags are private-class and written non-minimally, so the file is read with the
lenient BER reader. The integrity record (EF ``0003``) hashes the ``FF 20`` value from DF22 on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from reader import ber
from reader.constants import (
    KENMEN_TAG_ADDRESS,
    KENMEN_TAG_BASIC_INFO,
    KENMEN_TAG_BIRTH,
    KENMEN_TAG_NAME,
    KENMEN_TAG_OFFSETS,
    KENMEN_TAG_SEX,
)
from reader.errors import ProtocolError

ALIGN = 32  # the file is FF-filled to the next multiple of this
FILLER = 0xFF
LONG_FORM_2 = 0x82  # "two length bytes follow": the header of cards issued from 2023
FIELD_TAGS = (KENMEN_TAG_NAME, KENMEN_TAG_ADDRESS, KENMEN_TAG_BIRTH, KENMEN_TAG_SEX)
SEX_NAMES = {"0": "unknown", "1": "male", "2": "female", "9": "not applicable"}


@dataclass(frozen=True)
class BasicInfo:
    """基本4情報 as the card holds it (birth is ``YYYYMMDD``; sex is the ISO 5218 digit)."""

    name: str
    address: str
    birth: str
    sex: str

    @property
    def sex_name(self) -> str:
        return SEX_NAMES.get(self.sex, "unknown")

    @property
    def birth_date(self) -> date:
        """``birth`` as a date. Raises ValueError for a day that does not exist."""
        return date(int(self.birth[:4]), int(self.birth[4:6]), int(self.birth[6:8]))


def _is_yyyymmdd(text: str) -> bool:
    return len(text) == 8 and text.isascii() and text.isdigit()


def encode_basic_info(info: BasicInfo, *, long_header: bool = False) -> bytes:
    """EF 0002 holding ``info``: the offset table, UTF-8 fields, then FF filler. ``long_header``: the outer
    length always as ``82 HH LL`` (cards issued from 2023). Raises ValueError unless birth is YYYYMMDD."""
    if not _is_yyyymmdd(info.birth):
        raise ValueError("birth must be YYYYMMDD")
    values = (info.name, info.address, info.birth, info.sex)
    fields = [ber.encode_tlv(tag, v.encode("utf-8")) for tag, v in zip(FIELD_TAGS, values, strict=True)]
    table_len = len(ber.encode_tlv(KENMEN_TAG_OFFSETS, bytes(2 * len(fields))))
    body_len = table_len + sum(len(f) for f in fields)
    tag = ber.encode_tag(KENMEN_TAG_BASIC_INFO)
    if long_header:
        header = tag + bytes([LONG_FORM_2]) + body_len.to_bytes(2, "big")
    else:
        header = tag + ber.encode_length(body_len)
    position = len(header) + table_len
    table = b""
    for field in fields:
        table += position.to_bytes(2, "big")
        position += len(field)
    tlv = header + ber.encode_tlv(KENMEN_TAG_OFFSETS, table) + b"".join(fields)
    size = (len(tlv) // ALIGN + 1) * ALIGN
    return tlv + bytes([FILLER]) * (size - len(tlv))


def _text(items: dict[int, ber.Tlv], tag: int) -> str:
    if tag not in items:
        raise ProtocolError(f"basic information lacks tag {tag:X}")
    try:
        return items[tag].value.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ProtocolError(f"basic information tag {tag:X} is not UTF-8") from exc


def parse_basic_info(raw: bytes, *, check_offsets: bool = False) -> BasicInfo:
    """基本4情報 from EF 0002 (either header form; the filler after the object is ignored).

    ``check_offsets``: also check that the offset table points at each field's tag. The product reads the
    fields by their tags and leaves it off, as the table says nothing the tags do not; the virtual card's
    tests turn it on to pin the files it writes.

    Raises ProtocolError for a wrong tag, a missing field, a field that is not UTF-8, a birth date that is
    not YYYYMMDD, and (``check_offsets``) an offset table that does not match.
    """
    outer = ber.parse_tlv(raw, lenient=True)
    if outer.tag != KENMEN_TAG_BASIC_INFO:
        raise ProtocolError(f"basic information has tag {outer.tag:X}, expected {KENMEN_TAG_BASIC_INFO:X}")
    items = ber.children(outer.value, lenient=True)
    info = BasicInfo(*(_text(items, tag) for tag in FIELD_TAGS))
    if not _is_yyyymmdd(info.birth):
        raise ProtocolError("birth date on the card is not YYYYMMDD")
    if check_offsets:
        _check_offsets(outer)
    return info


def _check_offsets(outer: ber.Tlv) -> None:
    starts: dict[int, int] = {}
    position = outer.header_length
    for tlv in ber.iter_tlvs(outer.value, lenient=True):
        starts.setdefault(tlv.tag, position)
        position += tlv.total_length
    if KENMEN_TAG_OFFSETS not in starts:
        raise ProtocolError(f"basic information lacks tag {KENMEN_TAG_OFFSETS:X}")
    table = ber.children(outer.value, lenient=True)[KENMEN_TAG_OFFSETS].value
    offsets = [int.from_bytes(table[i : i + 2], "big") for i in range(0, len(table), 2)]
    actual = [starts[tag] for tag in FIELD_TAGS]
    if offsets != actual:
        raise ProtocolError(f"basic information: offset table {offsets}, fields at {actual}")


def basic_info_hashed_part(raw: bytes) -> bytes:
    """The part of EF 0002 the integrity record hashes: the value of ``FF 20`` from DF22 on (the offset
    table DF21 skipped, the filler left out). Raises ProtocolError."""
    value = ber.parse_tlv(raw, lenient=True).value
    first = ber.parse_tlv(value, lenient=True)
    return value[first.total_length :] if first.tag == KENMEN_TAG_OFFSETS else value
