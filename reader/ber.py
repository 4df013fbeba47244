"""A minimal BER/DER TLV reader and writer: what the card's files need, nothing more.

The 券面事項入力補助AP writes private tags in a non-minimal high-tag form (``FF 10`` for tag
number 16), which strict DER parsers reject (docs/card.md §9 pitfall 14): ``lenient=True`` accepts it.
Tags are returned as the integer of their raw bytes (``0xFF10``, ``0xDF21``), the form
reader.constants uses.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from reader.errors import ProtocolError

MAX_TAG_BYTES = 4
MAX_LENGTH_BYTES = 4


class BerError(ProtocolError):
    """Bytes that are not a well-formed BER object (or not one this reader accepts)."""


class BerIncompleteError(BerError):
    """The bytes end before the tag, the length or the value does: more are needed."""


@dataclass(frozen=True, slots=True)
class Tlv:
    """One decoded object: ``tag`` as raw-bytes integer, the value, and where it sits."""

    tag: int
    constructed: bool
    value: bytes
    header_length: int

    @property
    def total_length(self) -> int:
        return self.header_length + len(self.value)


def read_tag(data: bytes, offset: int = 0, *, lenient: bool = False) -> tuple[int, bool, int]:
    """Decode the tag at ``offset``: (tag as raw-bytes int, constructed, offset after the tag).

    Raises BerIncompleteError when the bytes end inside the tag, BerError for a non-minimal
    high-tag form (unless ``lenient``) or a tag longer than 4 bytes.
    """
    if offset >= len(data):
        raise BerIncompleteError("no tag byte")
    first = data[offset]
    tag, pos = first, offset + 1
    if first & 0x1F != 0x1F:
        return tag, bool(first & 0x20), pos
    while True:
        if pos >= len(data):
            raise BerIncompleteError("bytes end inside a multi-byte tag")
        byte = data[pos]
        if pos == offset + 1 and not lenient and (byte == 0x80 or byte < 0x1F):
            raise BerError(f"non-minimal tag encoding {data[offset : pos + 1].hex(' ').upper()}")
        tag = (tag << 8) | byte
        pos += 1
        if pos - offset > MAX_TAG_BYTES:
            raise BerError("tag longer than 4 bytes")
        if not byte & 0x80:
            return tag, bool(first & 0x20), pos


def read_length(data: bytes, offset: int = 0, *, lenient: bool = False) -> tuple[int, int]:
    """Decode the length at ``offset``: (length, offset after the length field).

    Raises BerIncompleteError when the bytes end inside the field, BerError for the indefinite
    form (the card never uses it), the reserved ``FF``, more than 4 length bytes, or (unless
    ``lenient``) a non-minimal long form.
    """
    if offset >= len(data):
        raise BerIncompleteError("no length byte")
    first = data[offset]
    if first < 0x80:
        return first, offset + 1
    count = first & 0x7F
    if count == 0:
        raise BerError("indefinite length is not accepted")
    if first == 0xFF or count > MAX_LENGTH_BYTES:
        raise BerError(f"unsupported length field {first:02X}")
    end = offset + 1 + count
    if end > len(data):
        raise BerIncompleteError("bytes end inside the length field")
    length = int.from_bytes(data[offset + 1 : end], "big")
    if not lenient and (length < 0x80 or data[offset + 1] == 0):
        raise BerError("non-minimal length encoding")
    return length, end


def read_header(data: bytes, offset: int = 0, *, lenient: bool = False) -> tuple[int, bool, int, int]:
    """(tag, constructed, value length, offset of the value). Raises BerError / BerIncompleteError."""
    tag, constructed, pos = read_tag(data, offset, lenient=lenient)
    length, pos = read_length(data, pos, lenient=lenient)
    return tag, constructed, length, pos


def object_length(prefix: bytes, *, lenient: bool = False) -> int:
    """Total length (header + value) of the object that ``prefix`` starts, from its first bytes.

    Raises BerIncompleteError when ``prefix`` is too short to tell, BerError when malformed.
    """
    _, _, length, value_offset = read_header(prefix, 0, lenient=lenient)
    return value_offset + length


def parse_tlv(data: bytes, offset: int = 0, *, lenient: bool = False) -> Tlv:
    """The object starting at ``offset``. Raises BerIncompleteError if the value is cut short."""
    tag, constructed, length, value_offset = read_header(data, offset, lenient=lenient)
    end = value_offset + length
    if end > len(data):
        raise BerIncompleteError(
            f"value of tag {tag:X} needs {length} bytes, {len(data) - value_offset} left"
        )
    return Tlv(tag, constructed, bytes(data[value_offset:end]), value_offset - offset)


def iter_tlvs(data: bytes, *, lenient: bool = False) -> Iterator[Tlv]:
    """Every object in ``data``, back to back. Raises BerError if the last one is cut short."""
    offset = 0
    while offset < len(data):
        tlv = parse_tlv(data, offset, lenient=lenient)
        yield tlv
        offset += tlv.total_length


def children(data: bytes, *, lenient: bool = False) -> dict[int, Tlv]:
    """The objects inside a constructed value, by tag (first occurrence wins). Raises BerError."""
    found: dict[int, Tlv] = {}
    for tlv in iter_tlvs(data, lenient=lenient):
        found.setdefault(tlv.tag, tlv)
    return found


# --- writing ---------------------------------------------------------------------------------------------
def encode_tag(tag: int) -> bytes:
    """``tag`` (the raw-bytes integer) as written: ``0xFF10`` → ``FF 10``, as is, even when non-minimal."""
    return tag.to_bytes(max(1, (tag.bit_length() + 7) // 8), "big")


def encode_length(length: int) -> bytes:
    """DER definite length octets: the short form below 128, else the fewest long-form bytes.

    Raises ValueError for a negative length.
    """
    if length < 0:
        raise ValueError("negative length")
    if length < 0x80:
        return bytes([length])
    raw = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


def encode_tlv(tag: int, value: bytes) -> bytes:
    """Tag bytes as written (``encode_tag``) + DER length + value."""
    return encode_tag(tag) + encode_length(len(value)) + value
