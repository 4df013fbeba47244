"""RFC 8010 codec: exact bytes for the header and each value type, round trips, malformed input → IppError."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.devices.printer import ipp
from kiosk.devices.printer.ipp import Attribute, AttributeGroup, Collection, IppError, IppMessage
from kiosk.devices.printer.ipp_constants import GroupTag, Operation, Status, ValueTag
from reader.apdu import h


def a(text: str) -> str:
    """ASCII text as spaced hex, for the byte tables."""
    return text.encode().hex(" ")


CHARSET = f"47 0012 {a('attributes-charset')} 0005 {a('utf-8')}"
LANGUAGE = f"48 001B {a('attributes-natural-language')} 0002 {a('en')}"
HEAD = (
    Attribute("attributes-charset", ValueTag.CHARSET, ("utf-8",)),
    Attribute("attributes-natural-language", ValueTag.NATURAL_LANGUAGE, ("en",)),
)


def test_get_printer_attributes_request_bytes() -> None:
    message = IppMessage(Operation.GET_PRINTER_ATTRIBUTES, 1, (AttributeGroup(GroupTag.OPERATION, HEAD),))
    assert ipp.encode(message) == h(f"02 00 000B 00000001  01 {CHARSET} {LANGUAGE}  03")


def test_document_data_follows_the_end_tag() -> None:
    message = IppMessage(Operation.PRINT_JOB, 7, (), (1, 1), b"%PDF-1.4")
    encoded = ipp.encode(message)
    assert encoded == h("01 01 0002 00000007 03") + b"%PDF-1.4"
    assert ipp.decode(encoded) == message


MEDIA_COL = Collection(
    (
        Attribute(
            "media-size",
            ValueTag.BEG_COLLECTION,
            (
                Collection(
                    (
                        Attribute("x-dimension", ValueTag.INTEGER, (21000,)),
                        Attribute("y-dimension", ValueTag.INTEGER, (29700,)),
                    )
                ),
            ),
        ),
        Attribute("media-type", ValueTag.KEYWORD, ("stationery",)),
    )
)
TOKYO = dt.datetime(2026, 11, 29, 17, 32, 5, tzinfo=dt.timezone(dt.timedelta(hours=9)))

ATTRIBUTE_BYTES = [
    (Attribute("copies", ValueTag.INTEGER, (2,)), f"21 0006 {a('copies')} 0004 00000002"),
    (Attribute("copies", ValueTag.INTEGER, (-1,)), f"21 0006 {a('copies')} 0004 FFFFFFFF"),
    (Attribute("last-document", ValueTag.BOOLEAN, (True,)), f"22 000D {a('last-document')} 0001 01"),
    (Attribute("printer-state", ValueTag.ENUM, (3,)), f"23 000D {a('printer-state')} 0004 00000003"),
    (
        Attribute("requested-attributes", ValueTag.KEYWORD, ("job-state", "job-id")),
        f"44 0014 {a('requested-attributes')} 0009 {a('job-state')}  44 0000 0006 {a('job-id')}",
    ),
    (
        Attribute("printer-resolution", ValueTag.RESOLUTION, (ipp.Resolution(300, 600, 3),)),
        f"32 0012 {a('printer-resolution')} 0009 0000012C 00000258 03",
    ),
    (
        Attribute("copies-supported", ValueTag.RANGE, (ipp.IntRange(1, 999),)),
        f"33 0010 {a('copies-supported')} 0008 00000001 000003E7",
    ),
    (
        Attribute("job-name", ValueTag.NAME_WITH_LANGUAGE, (ipp.TextWithLanguage("ja", "住民票"),)),
        f"36 0008 {a('job-name')} 000F 0002 {a('ja')} 0009 E4BD8F E6B091 E7A5A8",
    ),
    (
        Attribute("printer-current-time", ValueTag.DATE_TIME, (TOKYO,)),
        f"31 0014 {a('printer-current-time')} 000B 07EA 0B 1D 11 20 05 00 2B 09 00",
    ),
    (Attribute("job-hold-until", ValueTag.NO_VALUE, (None,)), f"13 000E {a('job-hold-until')} 0000"),
    (Attribute("vendor-blob", 0x38, (b"\x01\x02",)), f"38 000B {a('vendor-blob')} 0002 0102"),  # unknown tag
    (
        Attribute("media-col", ValueTag.BEG_COLLECTION, (MEDIA_COL,)),
        f"34 0009 {a('media-col')} 0000"
        f"  4A 0000 000A {a('media-size')}  34 0000 0000"
        f"    4A 0000 000B {a('x-dimension')} 21 0000 0004 00005208"
        f"    4A 0000 000B {a('y-dimension')} 21 0000 0004 00007404"
        f"  37 0000 0000"
        f"  4A 0000 000A {a('media-type')} 44 0000 000A {a('stationery')}"
        f"  37 0000 0000",
    ),
]


@pytest.mark.parametrize(("attribute", "wire"), ATTRIBUTE_BYTES, ids=lambda x: getattr(x, "name", ""))
def test_attribute_bytes_both_ways(attribute: Attribute, wire: str) -> None:
    message = IppMessage(Status.OK, 0x01020304, (AttributeGroup(GroupTag.PRINTER, (attribute,)),))
    encoded = h(f"02 00 0000 01020304  04 {wire}  03")
    assert ipp.encode(message) == encoded
    assert ipp.decode(encoded) == message


def test_lookup_helpers() -> None:
    message = ipp.decode(h(f"02 00 0000 00000001 01 {CHARSET} 04 {ATTRIBUTE_BYTES[3][1]} 03"))
    assert message.find("printer-state") == ATTRIBUTE_BYTES[3][0]
    assert message.find("printer-state", GroupTag.OPERATION) is None
    group = message.group(GroupTag.PRINTER)
    assert group is not None and group.get("printer-state") is not None
    assert MEDIA_COL.get("media-type") == Attribute("media-type", ValueTag.KEYWORD, ("stationery",))


# RFC 8010 §3.1.4: an additional value may carry another value tag than the first. Each keeps its own.
MIXED = [
    (  # printer-state-reasons as out-of-band unknown, then keyword none
        Attribute(
            "printer-state-reasons", ValueTag.UNKNOWN, (None, "none"), (ValueTag.UNKNOWN, ValueTag.KEYWORD)
        ),
        f"12 0015 {a('printer-state-reasons')} 0000  44 0000 0004 {a('none')}",
    ),
    (
        Attribute("number-up-supported", ValueTag.INTEGER, (1, ipp.IntRange(2, 4)), (0x21, ValueTag.RANGE)),
        f"21 0013 {a('number-up-supported')} 0004 00000001  33 0000 0008 00000002 00000004",
    ),
    (
        Attribute(
            "media-col-ready",
            ValueTag.KEYWORD,
            ("custom", Collection((Attribute("media-type", ValueTag.NO_VALUE, (None, "x"), (0x13, 0x44)),))),
            (ValueTag.KEYWORD, ValueTag.BEG_COLLECTION),
        ),
        f"44 000F {a('media-col-ready')} 0006 {a('custom')}  34 0000 0000"
        f"  4A 0000 000A {a('media-type')} 13 0000 0000  44 0000 0001 {a('x')}  37 0000 0000",
    ),
]


@pytest.mark.parametrize(("attribute", "wire"), MIXED, ids=lambda x: getattr(x, "name", ""))
def test_each_value_keeps_its_own_tag(attribute: Attribute, wire: str) -> None:
    message = IppMessage(Status.OK, 1, (AttributeGroup(GroupTag.PRINTER, (attribute,)),))
    encoded = h(f"02 00 0000 00000001  04 {wire}  03")
    decoded = ipp.decode(encoded)
    assert decoded == message and decoded.groups[0].attributes[0].tagged() == attribute.tagged()
    assert ipp.encode(decoded) == encoded
    assert ipp.decode(ipp.encode(decoded)) == decoded


def test_attributes_built_with_one_tag_give_it_to_every_value() -> None:
    reasons = Attribute("printer-state-reasons", ValueTag.KEYWORD, ("media-low-report", "none"))
    assert reasons.tags == (ValueTag.KEYWORD, ValueTag.KEYWORD)
    assert reasons == Attribute(reasons.name, ValueTag.KEYWORD, reasons.values, reasons.tags)
    with pytest.raises(ValueError, match="tags"):
        Attribute("x", ValueTag.KEYWORD, ("a", "b"), (ValueTag.KEYWORD,))
    with pytest.raises(ValueError, match="tags"):
        Attribute("x", ValueTag.KEYWORD, ("a",), (ValueTag.NAME,))


def test_text_that_is_not_utf8_decodes_to_as_many_bytes_and_round_trips() -> None:
    # 30,000 bytes of Latin-1: as U+FFFD each, the text would re-encode to 90,000 bytes, past the 2-byte
    # value length. One "?" per byte keeps it the same length.
    latin = "Caf\xe9 ".encode("latin-1") * 6000
    wire = h(f"02 00 0000 00000001 04 41 0010 {a('printer-location')} 7530") + latin + b"\x03"
    decoded = ipp.decode(wire)
    assert decoded.find("printer-location") == Attribute("printer-location", ValueTag.TEXT, ("Caf? " * 6000,))
    assert ipp.encode(decoded) == wire.replace(b"\xe9", b"?")
    assert ipp.decode(ipp.encode(decoded)) == decoded


def test_many_additional_values_decode_in_linear_time() -> None:
    # A hostile printer's 200 kB answer: one attribute with 40,000 additional out-of-band values. Copying
    # the attribute for each value took 40 s; growing it in place takes well under a second.
    wire = h(f"{HEADER} 04 12 0001 61 0000") + h("12 0000 0000") * 40_000 + b"\x03"
    started = time.monotonic()
    (attribute,) = ipp.decode(wire).groups[0].attributes
    assert time.monotonic() - started < 10
    assert len(attribute.values) == 40_001 and set(attribute.tags) == {ValueTag.UNKNOWN}


def test_a_mixed_value_that_does_not_fit_its_own_tag_is_refused() -> None:
    wrong = Attribute("copies", ValueTag.INTEGER, (1, "two"), (ValueTag.INTEGER, ValueTag.INTEGER))
    with pytest.raises(IppError, match="does not fit tag 0x21"):
        ipp.encode(IppMessage(Status.OK, 1, (AttributeGroup(GroupTag.JOB, (wrong,)),)))


HEADER = "02 00 0000 00000001"
MALFORMED = [
    ("", "truncated"),
    ("02 00 000B 000000", "truncated"),
    (f"{HEADER}", "no end-of-attributes"),
    (f"{HEADER} 01 {CHARSET}", "no end-of-attributes"),
    (f"{HEADER} 21 0001 61 0004 00000001 03", "before any group"),
    (f"{HEADER} 00", "reserved delimiter"),
    (f"{HEADER} 01 21 0001 61 0002 0001 03", "needs 4 bytes"),
    (f"{HEADER} 01 22 0001 61 0002 0001 03", "needs 1 bytes"),
    (f"{HEADER} 01 44 0001 61 00FF 62 03", "truncated"),
    (f"{HEADER} 01 44 00FF 61", "truncated"),
    (f"{HEADER} 01 44 0000 0001 61 03", "no attribute before"),
    (f"{HEADER} 01 4A 0000 0001 61 03", "outside a collection"),
    (f"{HEADER} 01 37 0001 61 0000 03", "outside a collection"),
    (f"{HEADER} 01 34 0001 61 0000 03", "inside a collection"),
    (f"{HEADER} 01 34 0001 61 0000 21 0000 0004 00000001 37 0000 0000 03", "before any member name"),
    (f"{HEADER} 01 34 0001 61 0000 4A 0000 0001 62 37 0000 0000 03", "has no value"),
    (f"{HEADER} 01 34 0001 61 0000 44 0001 62 0001 63 37 0000 0000 03", "with a name"),
    (f"{HEADER} 01 35 0001 61 0005 0001 6A 0005 61 03", "truncated"),
    (f"{HEADER} 01 35 0001 61 0007 0001 6A 0001 61 FF 03", "do not add up"),
    (f"{HEADER} 01 31 0001 61 000B 07EA 0B 1D 11 20 05 00 3F 09 00 03", "offset direction"),
    (f"{HEADER} 01 31 0001 61 000B 07EA 0D 1D 11 20 05 00 2B 09 00 03", "dateTime"),
    (f"{HEADER} 01 34 0001 61 0000 " + "4A 0000 0001 62 34 0000 0000 " * 20 + "03", "nested too deeply"),
]


@pytest.mark.parametrize(("wire", "complaint"), MALFORMED)
def test_malformed_input_is_a_clear_ipp_error(wire: str, complaint: str) -> None:
    with pytest.raises(IppError, match=complaint):
        ipp.decode(h(wire))


@pytest.mark.parametrize(
    ("attribute", "complaint"),
    [
        (Attribute("copies", ValueTag.INTEGER, ("2",)), "does not fit"),
        (Attribute("copies", ValueTag.INTEGER, (True,)), "does not fit"),
        (Attribute("copies", ValueTag.INTEGER, (2**31,)), "out of range"),
        (Attribute("job-name", ValueTag.NAME, ("x" * 70000,)), "too large"),
        (Attribute("media-col", ValueTag.BEG_COLLECTION, ("x",)), "Collection"),
        (Attribute("copies", ValueTag.INTEGER, ()), "no values"),
        (Attribute("", ValueTag.INTEGER, (1,)), "no name"),
        (
            Attribute("x", ValueTag.KEYWORD, ("a", "b"), (ValueTag.KEYWORD, ValueTag.MEMBER_NAME)),
            "not a value",
        ),
        (Attribute("job-name", ValueTag.NAME, ("\ud800",)), "not encodable"),
    ],
)
def test_values_that_do_not_fit_are_refused_when_encoding(attribute: Attribute, complaint: str) -> None:
    message = IppMessage(Operation.PRINT_JOB, 1, (AttributeGroup(GroupTag.JOB, (attribute,)),))
    with pytest.raises(IppError, match=complaint):
        ipp.encode(message)


def test_bad_header_fields_are_refused_when_encoding() -> None:
    with pytest.raises(IppError, match="header"):
        ipp.encode(IppMessage(0x10000, 1))
    with pytest.raises(IppError, match="group tag"):
        ipp.encode(IppMessage(1, 1, (AttributeGroup(GroupTag.END),)))


# ------------------------------------------------------------------------------- properties

_names = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=20)
_text = st.text(max_size=30)
_int32 = st.integers(-(2**31), 2**31 - 1)
_times = st.datetimes(
    min_value=dt.datetime(1970, 1, 1),
    max_value=dt.datetime(2099, 12, 31),
    timezones=st.sampled_from(
        [dt.UTC, dt.timezone(dt.timedelta(hours=9)), dt.timezone(dt.timedelta(hours=-5, minutes=-30))]
    ),
)
_SCALARS: list[tuple[int, st.SearchStrategy[ipp.Value]]] = [
    (ValueTag.INTEGER, _int32),
    (ValueTag.ENUM, _int32),
    (ValueTag.BOOLEAN, st.booleans()),
    (ValueTag.KEYWORD, _text),
    (ValueTag.NAME, _text),
    (ValueTag.URI, _text),
    (ValueTag.OCTET_STRING, st.binary()),
    (ValueTag.RANGE, st.builds(ipp.IntRange, _int32, _int32)),
    (ValueTag.RESOLUTION, st.builds(ipp.Resolution, _int32, _int32, st.sampled_from([3, 4]))),
    (ValueTag.TEXT_WITH_LANGUAGE, st.builds(ipp.TextWithLanguage, _names, _text)),
    (ValueTag.DATE_TIME, _times.map(lambda t: t.replace(microsecond=t.microsecond // 100_000 * 100_000))),
]


_tagged_scalar = st.one_of([values.map(lambda v, tag=tag: (tag, v)) for tag, values in _SCALARS])
_out_of_band = st.tuples(
    st.sampled_from([ValueTag.UNSUPPORTED, ValueTag.UNKNOWN, ValueTag.NO_VALUE]), st.none()
)


def _mixed(name: str, pairs: list[tuple[int, ipp.Value]]) -> Attribute:
    return Attribute(name, pairs[0][0], tuple(v for _, v in pairs), tuple(t for t, _ in pairs))


def _attribute(depth: int) -> st.SearchStrategy[Attribute]:
    choices = [
        st.builds(
            lambda n, vs, tag=tag: Attribute(n, tag, tuple(vs)),
            _names,
            st.lists(values, min_size=1, max_size=3),
        )
        for tag, values in _SCALARS
    ]
    tagged = _tagged_scalar | _out_of_band
    if depth < 2:
        members = st.lists(_attribute(depth + 1), min_size=0, max_size=3)
        collections = members.map(lambda ms: Collection(tuple(ms)))
        choices.append(
            st.builds(
                lambda n, vs: Attribute(n, ValueTag.BEG_COLLECTION, tuple(vs)),
                _names,
                st.lists(collections, min_size=1, max_size=2),
            )
        )
        tagged |= collections.map(lambda c: (ValueTag.BEG_COLLECTION, c))
    # RFC 8010 §3.1.4: additional values under other tags (out-of-band ones and collections too)
    choices.append(st.builds(_mixed, _names, st.lists(tagged, min_size=2, max_size=4)))
    return st.one_of(choices)


_messages = st.builds(
    IppMessage,
    st.integers(0, 0xFFFF),
    st.integers(0, 2**32 - 1),
    st.lists(
        st.builds(
            lambda tag, attrs: AttributeGroup(tag, tuple(attrs)),
            st.sampled_from([t for t in GroupTag if t != GroupTag.END]),
            st.lists(_attribute(0), max_size=4),
        ),
        max_size=3,
    ).map(tuple),
    st.tuples(st.sampled_from([1, 2]), st.integers(0, 1)),
    st.binary(max_size=20),
)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(_messages)
def test_round_trip(message: IppMessage) -> None:
    assert ipp.decode(ipp.encode(message)) == message


@settings(max_examples=500, deadline=None, derandomize=True)
@given(st.binary(max_size=200))
def test_random_bytes_raise_only_ipp_error(data: bytes) -> None:
    for candidate in (data, h(HEADER + " 01") + data):
        try:
            ipp.decode(candidate)
        except IppError:
            pass


@settings(max_examples=300, deadline=None, derandomize=True)
@given(_messages, st.data())
def test_damaged_messages_raise_only_ipp_error(message: IppMessage, data: st.DataObject) -> None:
    wire = bytearray(ipp.encode(message))
    index = data.draw(st.integers(0, len(wire) - 1))
    wire[index] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(wire)))
    for candidate in (bytes(wire), bytes(wire[:cut])):
        try:
            ipp.decode(candidate)
        except IppError:
            pass
