"""The BER reader: tags (multi-byte, non-minimal private tags), lengths, object size from a prefix."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reader import ber
from reader.apdu import h
from reader.errors import ProtocolError


@pytest.mark.parametrize(
    ("raw", "tag", "constructed", "end"),
    [
        ("30", 0x30, True, 1),
        ("04", 0x04, False, 1),
        ("DF 21", 0xDF21, False, 2),
        ("FF 20", 0xFF20, True, 2),
        ("7F 21", 0x7F21, True, 2),
        ("5F 81 01", 0x5F8101, False, 3),
    ],
)
def test_tags_lenient(raw: str, tag: int, constructed: bool, end: int) -> None:
    assert ber.read_tag(h(raw), lenient=True) == (tag, constructed, end)


@pytest.mark.parametrize("raw", ["FF 10", "DF 05", "5F 80 01"])
def test_non_minimal_tags_rejected_when_strict(raw: str) -> None:
    with pytest.raises(ber.BerError):
        ber.read_tag(h(raw))


def test_strict_accepts_minimal_high_tag() -> None:
    assert ber.read_tag(h("DF 21"))[0] == 0xDF21
    assert ber.read_tag(h("7F 21"))[0] == 0x7F21


@pytest.mark.parametrize(
    ("raw", "length", "end"),
    [
        ("05", 5, 1),
        ("7F", 127, 1),
        ("81 80", 128, 2),
        ("82 06 1F", 0x061F, 3),
        ("83 01 00 00", 65536, 4),
    ],
)
def test_lengths(raw: str, length: int, end: int) -> None:
    assert ber.read_length(h(raw)) == (length, end)


@pytest.mark.parametrize("raw", ["80", "FF", "85 01 02 03 04 05", "81 05", "82 00 80"])
def test_bad_lengths_rejected(raw: str) -> None:
    with pytest.raises(ber.BerError):
        ber.read_length(h(raw))


def test_non_minimal_length_accepted_when_lenient() -> None:
    assert ber.read_length(h("81 05"), lenient=True) == (5, 2)


@pytest.mark.parametrize(
    ("prefix", "total"),
    [
        ("30 82 06 1F 30 82", 0x061F + 4),
        ("30 81 90", 0x90 + 3),
        ("30 03", 5),
        ("FF 10 0C 30", 15),
    ],
)
def test_object_length_from_first_bytes(prefix: str, total: int) -> None:
    assert ber.object_length(h(prefix), lenient=True) == total


@pytest.mark.parametrize("prefix", ["", "30", "30 82 06", "DF"])
def test_object_length_needs_more_bytes(prefix: str) -> None:
    with pytest.raises(ber.BerIncompleteError):
        ber.object_length(h(prefix))


def test_my_number_file_parses_leniently_only() -> None:
    raw = h("FF 10 0C") + b"123456789018" + h("FF FF")
    tlv = ber.parse_tlv(raw, lenient=True)
    assert (tlv.tag, tlv.value, tlv.total_length) == (0xFF10, b"123456789018", 15)
    with pytest.raises(ber.BerError):
        ber.parse_tlv(raw)


def test_children_of_a_constructed_value() -> None:
    value = h("DF 22 02 41 42 DF 25 01 31")
    items = ber.children(value, lenient=True)
    assert items[0xDF22].value == b"AB" and items[0xDF25].value == b"1"


def test_truncated_value_is_incomplete() -> None:
    with pytest.raises(ber.BerIncompleteError):
        ber.parse_tlv(h("04 05 01 02"))


def test_ber_errors_are_protocol_errors() -> None:
    assert issubclass(ber.BerError, ProtocolError)


@given(st.binary(max_size=64), st.booleans())
def test_random_bytes_only_raise_ber_error(raw: bytes, lenient: bool) -> None:
    try:
        for tlv in ber.iter_tlvs(raw, lenient=lenient):
            assert tlv.total_length <= len(raw)
    except ber.BerError:
        pass


@given(st.integers(0, 2**32 - 1), st.binary(max_size=8))
def test_definite_lengths_round_trip(length: int, rest: bytes) -> None:
    if length < 0x80:
        encoded = bytes((length,))
    else:
        body = length.to_bytes((length.bit_length() + 7) // 8, "big")
        encoded = bytes((0x80 | len(body),)) + body
    assert ber.read_length(encoded + rest) == (length, len(encoded))
