"""IPP/1.1–2.0 message codec (RFC 8010 §3): requests and responses as frozen values, to and from bytes.

Why our own codec rather than a PyPI client: ``pyipp`` is asyncio/aiohttp-only, aimed at printer
status, and silently drops attributes whose names are not in its fixed tag map; ``ippx`` is new,
single-author, has no Create-Job/Send-Document and no collections; ``pkipplib`` is Python 2 era.
The kiosk needs a synchronous client (the transaction worker thread blocks with a timeout and a
cancel event), exact control of the request bytes for tests, and a decoder that turns any bad
input into one clear error. The wire format is small (one header, tagged attributes), so a
codec of a few hundred lines is cheaper to own than a dependency that does half of the job.

What is covered: the 8-byte header; all delimiter (group) tags; integer, boolean, enum, dateTime,
resolution, rangeOfInteger, octetString, text/name with and without language, keyword, uri,
uriScheme, charset, naturalLanguage, mimeMediaType, out-of-band values, and collections
(``media-col`` and friends, which every IPP Everywhere printer returns). Unknown value tags are
kept as raw bytes, never dropped. Any malformed input raises :class:`IppError`, nothing else.

Each value keeps its own value tag: RFC 8010 §3.1.4 lets an additional value carry another tag than
the first (``printer-state-reasons`` as out-of-band ``unknown`` then keyword ``none``), so a decoded
message encodes back to a message that decodes to the same values under the same tags.
"""

from __future__ import annotations

import codecs
import datetime as dt
import struct
from dataclasses import dataclass, field

from kiosk.devices.printer.ipp_constants import GroupTag, JobState, Operation, PrinterState, Status, ValueTag

__all__ = [
    "Attribute",
    "AttributeGroup",
    "Collection",
    "GroupTag",
    "IntRange",
    "IppError",
    "IppMessage",
    "JobState",
    "Operation",
    "PrinterState",
    "Resolution",
    "Status",
    "TextWithLanguage",
    "Value",
    "ValueTag",
    "decode",
    "encode",
]

_MAX_COLLECTION_DEPTH = 16


class IppError(Exception):
    """A message that cannot be encoded or decoded (truncated, bad tag, wrong length, bad value)."""


@dataclass(frozen=True)
class Resolution:
    x: int
    y: int
    units: int = 3  # 3 = dots per inch, 4 = dots per cm


@dataclass(frozen=True)
class IntRange:
    lower: int
    upper: int


@dataclass(frozen=True)
class TextWithLanguage:
    language: str
    text: str


@dataclass(frozen=True)
class Collection:
    """A collection value: its member attributes in wire order."""

    members: tuple[Attribute, ...]

    def get(self, name: str) -> Attribute | None:
        return next((m for m in self.members if m.name == name), None)


Value = int | bool | str | bytes | dt.datetime | Resolution | IntRange | TextWithLanguage | Collection | None


@dataclass(frozen=True)
class Attribute:
    """One attribute: its name and one or more values, each with its own value tag.

    ``Attribute(name, tag, values)`` gives every value the tag ``tag``; ``tags`` names one tag per
    value where they differ (RFC 8010 §3.1.4), and ``tag`` is then the first value's. Out-of-band
    values (unsupported, unknown, no-value) are ``None``. Unknown value tags keep the raw value bytes.
    Raises ValueError if ``tags`` does not have one tag per value, starting with ``tag``.
    """

    name: str
    tag: int
    values: tuple[Value, ...]
    tags: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if not self.tags:
            object.__setattr__(self, "tags", (self.tag,) * len(self.values))
        elif len(self.tags) != len(self.values) or self.tags[0] != self.tag:
            raise ValueError(
                f"{self.name}: tags {self.tags} for tag {self.tag} and {len(self.values)} values"
            )

    @property
    def value(self) -> Value:
        return self.values[0] if self.values else None

    def tagged(self) -> tuple[tuple[int, Value], ...]:
        """(value tag, value) of each value, in wire order."""
        return tuple(zip(self.tags, self.values, strict=True))


@dataclass(frozen=True)
class AttributeGroup:
    tag: int
    attributes: tuple[Attribute, ...] = ()

    def get(self, name: str) -> Attribute | None:
        return next((a for a in self.attributes if a.name == name), None)


@dataclass(frozen=True)
class IppMessage:
    """A request (``code`` = operation id) or response (``code`` = status code), plus trailing data."""

    code: int
    request_id: int
    groups: tuple[AttributeGroup, ...] = ()
    version: tuple[int, int] = (2, 0)
    data: bytes = field(default=b"", repr=False)

    def group(self, tag: int) -> AttributeGroup | None:
        """The first group with this delimiter tag, or None."""
        return next((g for g in self.groups if g.tag == tag), None)

    def find(self, name: str, tag: int | None = None) -> Attribute | None:
        """The first attribute called ``name`` (in groups with ``tag`` if given), or None."""
        for group in self.groups:
            if tag is None or group.tag == tag:
                found = group.get(name)
                if found is not None:
                    return found
        return None


# ---------------------------------------------------------------------------------------------- encode

_STRING_TAGS = frozenset(range(0x40, 0x60)) - {ValueTag.MEMBER_NAME}
_OUT_OF_BAND = frozenset(range(0x10, 0x20))


def encode(message: IppMessage) -> bytes:
    """Serialise ``message`` (header, groups, end tag, then ``data``).

    Raises IppError if a value does not fit its tag or a field is out of range.
    """
    out = bytearray()
    try:
        out += struct.pack(">BBHI", *message.version, message.code, message.request_id)
    except struct.error as exc:
        raise IppError(f"header field out of range: {exc}") from exc
    for group in message.groups:
        if not 0x01 <= group.tag <= 0x0F or group.tag == GroupTag.END:
            raise IppError(f"bad group tag 0x{group.tag:02X}")
        out.append(group.tag)
        for attribute in group.attributes:
            _encode_attribute(out, attribute)
    out.append(GroupTag.END)
    return bytes(out) + message.data


def _encode_attribute(out: bytearray, attribute: Attribute, *, named: bool = True) -> None:
    """The attribute's values, each under its own tag; the name on the first (``named``: not for a
    collection member, which memberAttrName names)."""
    if not attribute.values:
        raise IppError(f"attribute {attribute.name!r} has no values")
    if named and not attribute.name:
        raise IppError("an attribute with no name (on the wire, its values would join the one before)")
    for index, (tag, value) in enumerate(attribute.tagged()):
        name = _utf8(attribute.name, "attribute name") if named and index == 0 else b""
        if tag in (ValueTag.END_COLLECTION, ValueTag.MEMBER_NAME):
            raise IppError(f"{attribute.name}: tag 0x{tag:02X} is not a value tag")
        if tag == ValueTag.BEG_COLLECTION:
            if not isinstance(value, Collection):
                raise IppError(f"{attribute.name}: collection tag needs a Collection value")
            _encode_collection(out, name, value)
        else:
            _put(out, tag, name, _encode_value(tag, value, attribute.name))


def _encode_collection(out: bytearray, name: bytes, collection: Collection) -> None:
    _put(out, ValueTag.BEG_COLLECTION, name, b"")
    for member in collection.members:
        _put(out, ValueTag.MEMBER_NAME, b"", _utf8(member.name, "member name"))
        _encode_attribute(out, member, named=False)
    _put(out, ValueTag.END_COLLECTION, b"", b"")


def _utf8(text: str, what: str) -> bytes:
    try:
        return text.encode()
    except UnicodeEncodeError as exc:
        raise IppError(f"{what} {text!r} is not encodable as UTF-8") from exc


def _put(out: bytearray, tag: int, name: bytes, value: bytes) -> None:
    if not 0 <= tag <= 0xFF or len(name) > 0xFFFF or len(value) > 0xFFFF:
        raise IppError("tag, name or value too large for the IPP encoding")
    out += struct.pack(">BH", tag, len(name)) + name + struct.pack(">H", len(value)) + value


def _encode_value(tag: int, value: Value, name: str) -> bytes:
    try:
        if tag in _OUT_OF_BAND:
            return b""
        if tag in (ValueTag.INTEGER, ValueTag.ENUM) and type(value) is int:
            return struct.pack(">i", value)
        if tag == ValueTag.BOOLEAN and isinstance(value, bool):
            return b"\x01" if value else b"\x00"
        if tag == ValueTag.DATE_TIME and isinstance(value, dt.datetime):
            return _encode_datetime(value)
        if tag == ValueTag.RESOLUTION and isinstance(value, Resolution):
            return struct.pack(">iib", value.x, value.y, value.units)
        if tag == ValueTag.RANGE and isinstance(value, IntRange):
            return struct.pack(">ii", value.lower, value.upper)
        if tag in (ValueTag.TEXT_WITH_LANGUAGE, ValueTag.NAME_WITH_LANGUAGE) and isinstance(
            value, TextWithLanguage
        ):
            lang, text = _utf8(value.language, name), _utf8(value.text, name)
            return struct.pack(">H", len(lang)) + lang + struct.pack(">H", len(text)) + text
        if tag in _STRING_TAGS and isinstance(value, str):
            return _utf8(value, name)
        if isinstance(value, bytes) and tag not in (ValueTag.INTEGER, ValueTag.ENUM, ValueTag.BOOLEAN):
            return value
    except struct.error as exc:
        raise IppError(f"{name}: value {value!r} out of range") from exc
    raise IppError(f"{name}: value {value!r} does not fit tag 0x{tag:02X}")


def _encode_datetime(value: dt.datetime) -> bytes:
    offset = value.utcoffset() or dt.timedelta(0)
    minutes = int(offset.total_seconds()) // 60
    sign = b"+" if minutes >= 0 else b"-"
    return (
        struct.pack(
            ">HBBBBBB",
            value.year,
            value.month,
            value.day,
            value.hour,
            value.minute,
            value.second,
            value.microsecond // 100_000,
        )
        + sign
        + bytes(divmod(abs(minutes), 60))
    )


# ---------------------------------------------------------------------------------------------- decode


class _Reader:
    """Bounds-checked cursor over the message bytes."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, count: int, what: str) -> bytes:
        if self.pos + count > len(self.data):
            raise IppError(
                f"truncated message: {what} needs {count} bytes at offset {self.pos}, "
                f"{len(self.data) - self.pos} left"
            )
        chunk = self.data[self.pos : self.pos + count]
        self.pos += count
        return chunk

    def u8(self, what: str) -> int:
        return self.take(1, what)[0]

    def u16(self, what: str) -> int:
        hi, lo = self.take(2, what)
        return hi << 8 | lo

    def raw_attribute(self, tag: int) -> tuple[str, bytes]:
        """After the value tag: (name, value bytes)."""
        name = self.take(self.u16("name-length"), "name")
        value = self.take(self.u16("value-length"), "value")
        return _text(name, "attribute name"), value


def decode(data: bytes) -> IppMessage:
    """Parse a complete IPP message; bytes after the end-of-attributes tag become ``data``.

    Raises IppError for any malformed input (truncation, unknown delimiter, bad lengths/values).
    """
    reader = _Reader(bytes(data))
    major, minor = reader.take(2, "version")
    code = reader.u16("operation-id/status-code")
    request_id = struct.unpack(">I", reader.take(4, "request-id"))[0]
    groups: list[AttributeGroup] = []
    current: list[_Building] | None = None
    current_tag = 0
    while True:
        tag = reader.u8("tag (no end-of-attributes tag)")
        if tag < 0x10:
            if current is not None:
                groups.append(AttributeGroup(current_tag, tuple(b.done() for b in current)))
            if tag == GroupTag.END:
                break
            if tag == 0x00:
                raise IppError(f"reserved delimiter tag 0x00 at offset {reader.pos - 1}")
            current, current_tag = [], tag
            continue
        if current is None:
            raise IppError(f"attribute (tag 0x{tag:02X}) before any group tag")
        _read_attribute(reader, tag, current, depth=0)
    return IppMessage(code, request_id, tuple(groups), (major, minor), reader.data[reader.pos :])


class _Building:
    """An attribute being read: its values and their tags grow in place (a frozen Attribute copied for
    each additional value would make decoding quadratic in their number)."""

    def __init__(self, name: str, tag: int, value: Value) -> None:
        self.name, self.tags, self.values = name, [tag], [value]

    def add(self, tag: int, value: Value) -> None:
        """An additional value, under its own tag (RFC 8010 §3.1.4)."""
        self.tags.append(tag)
        self.values.append(value)

    def done(self) -> Attribute:
        return Attribute(self.name, self.tags[0], tuple(self.values), tuple(self.tags))


def _read_attribute(reader: _Reader, tag: int, into: list[_Building], depth: int) -> None:
    """Read one (name, value) pair and append it as a new attribute or an extra value."""
    name, raw = reader.raw_attribute(tag)
    if tag in (ValueTag.END_COLLECTION, ValueTag.MEMBER_NAME):
        raise IppError(f"tag 0x{tag:02X} outside a collection")
    value = _read_value(reader, tag, raw, depth)
    if name:
        into.append(_Building(name, tag, value))
    elif into:
        into[-1].add(tag, value)
    else:
        raise IppError("additional value (empty name) with no attribute before it")


def _read_collection(reader: _Reader, depth: int) -> Collection:
    if depth > _MAX_COLLECTION_DEPTH:
        raise IppError("collections nested too deeply")
    members: list[_Building] = []
    pending_name: str | None = None
    while True:
        tag = reader.u8("collection member tag")
        if tag == ValueTag.END_COLLECTION:
            reader.raw_attribute(tag)
            if pending_name is not None:
                raise IppError(f"collection member {pending_name!r} has no value")
            return Collection(tuple(m.done() for m in members))
        if tag < 0x10:
            raise IppError(f"delimiter tag 0x{tag:02X} inside a collection")
        name, raw = reader.raw_attribute(tag)
        if name:
            raise IppError("collection value with a name (members are named by memberAttrName)")
        if tag == ValueTag.MEMBER_NAME:
            if pending_name is not None:
                raise IppError(f"collection member {pending_name!r} has no value")
            pending_name = _text(raw, "member name")
            continue
        value = _read_value(reader, tag, raw, depth)
        if pending_name is not None:
            members.append(_Building(pending_name, tag, value))
            pending_name = None
        elif members:
            members[-1].add(tag, value)
        else:
            raise IppError("collection value before any member name")


def _read_value(reader: _Reader, tag: int, raw: bytes, depth: int) -> Value:
    return _read_collection(reader, depth + 1) if tag == ValueTag.BEG_COLLECTION else _decode_value(tag, raw)


_FIXED_LENGTHS: dict[int, int] = {
    ValueTag.INTEGER: 4,
    ValueTag.ENUM: 4,
    ValueTag.BOOLEAN: 1,
    ValueTag.DATE_TIME: 11,
    ValueTag.RESOLUTION: 9,
    ValueTag.RANGE: 8,
}


def _decode_value(tag: int, raw: bytes) -> Value:
    expected = _FIXED_LENGTHS.get(tag)
    if expected is not None and len(raw) != expected:
        raise IppError(f"value tag 0x{tag:02X} needs {expected} bytes, got {len(raw)}")
    if tag in _OUT_OF_BAND:
        return None
    if tag in (ValueTag.INTEGER, ValueTag.ENUM):
        return int(struct.unpack(">i", raw)[0])
    if tag == ValueTag.BOOLEAN:
        return raw != b"\x00"
    if tag == ValueTag.DATE_TIME:
        return _decode_datetime(raw)
    if tag == ValueTag.RESOLUTION:
        x, y, units = struct.unpack(">iib", raw)
        return Resolution(x, y, units)
    if tag == ValueTag.RANGE:
        return IntRange(*struct.unpack(">ii", raw))
    if tag in (ValueTag.TEXT_WITH_LANGUAGE, ValueTag.NAME_WITH_LANGUAGE):
        return _decode_with_language(raw)
    if tag in _STRING_TAGS:
        return _text(raw, f"value of tag 0x{tag:02X}")
    return raw  # octetString, extension and unknown tags: kept as bytes


def _decode_with_language(raw: bytes) -> TextWithLanguage:
    inner = _Reader(raw)
    language = inner.take(inner.u16("language length"), "language")
    text = inner.take(inner.u16("text length"), "text")
    if inner.pos != len(raw):
        raise IppError("text/name-with-language: lengths do not add up to the value length")
    return TextWithLanguage(_text(language, "language"), _text(text, "text"))


def _decode_datetime(raw: bytes) -> dt.datetime:
    year, month, day, hour, minute, second, decis = struct.unpack(">HBBBBBB", raw[:8])
    sign, off_h, off_m = raw[8:9], raw[9], raw[10]
    if sign not in (b"+", b"-"):
        raise IppError("dateTime: bad UTC offset direction")
    try:
        offset = dt.timedelta(hours=off_h, minutes=off_m) * (1 if sign == b"+" else -1)
        return dt.datetime(
            year, month, day, hour, minute, min(second, 59), decis * 100_000, tzinfo=dt.timezone(offset)
        )
    except (ValueError, OverflowError) as exc:
        raise IppError(f"dateTime: {exc}") from exc


def _one_char_per_byte(error: UnicodeError) -> tuple[str, int]:
    if not isinstance(error, UnicodeDecodeError):
        raise error
    return "?" * (error.end - error.start), error.end


_LENIENT = "myna-ipp-lenient"
codecs.register_error(_LENIENT, _one_char_per_byte)


def _text(raw: bytes, what: str) -> str:
    # Lenient on purpose: a printer with a Latin-1 printer-location must not make its status unreadable.
    # Each byte that is not UTF-8 becomes one "?" (not U+FFFD, three bytes in UTF-8): the text encodes
    # back to as many bytes as it came in, so a value that fitted its 2-byte length still fits it.
    del what
    return raw.decode("utf-8", errors=_LENIENT)
