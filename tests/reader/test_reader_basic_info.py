"""The 基本4情報 structure (reader/basic_info.py) and the BER writer under it: the real test card's file,
both header forms, the offset table, and what is refused."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reader import ber
from reader.apdu import h
from reader.basic_info import BasicInfo, basic_info_hashed_part, encode_basic_info, parse_basic_info
from reader.errors import ProtocolError

# The real test-card 0002 published in soltia48/myna-card (name 黒桐　幹也, Kiyose, 1980-02-17, male).
REAL_BASIC_INFO = h(
    "ff2065df2108000e002000590064df220fe9bb92e6a190e38080e5b9b9e4b99fdf2336e69db1e4baace983bde6b885e7"
    "80ace5b882e8a6b3e5b883e5ad90e58d97efbc91efbc92efbc8defbc97efbc8defbc92efbc90efbc92df240831393830"
    "30323137df250131"
)
REAL = BasicInfo("黒桐\u3000幹也", "東京都清瀬市観布子南１２－７－２０２", "19800217", "1")


def test_reads_the_real_test_card_file_offsets_and_all() -> None:
    info = parse_basic_info(REAL_BASIC_INFO, check_offsets=True)
    assert info == REAL
    assert (info.birth_date, info.sex_name) == (date(1980, 2, 17), "male")


def test_writes_the_real_test_card_file_then_filler() -> None:
    built = encode_basic_info(REAL)
    assert built[: len(REAL_BASIC_INFO)] == REAL_BASIC_INFO
    assert set(built[len(REAL_BASIC_INFO) :]) == {0xFF} and len(built) % 32 == 0


def test_long_header_moves_every_offset_by_two() -> None:
    body = REAL_BASIC_INFO[3:]
    offsets = h("0010 0022 005B 0066")  # the real offsets + 2
    long = h("FF 20 82 00 65") + body[:3] + offsets + body[11:]
    assert encode_basic_info(REAL, long_header=True)[: len(long)] == long
    assert parse_basic_info(long, check_offsets=True) == REAL
    assert basic_info_hashed_part(long) == basic_info_hashed_part(REAL_BASIC_INFO) == body[11:]


def test_a_wrong_offset_table_is_refused_only_when_asked() -> None:
    bad = bytearray(REAL_BASIC_INFO)
    bad[7] = 0x0F
    assert parse_basic_info(bytes(bad)) == REAL  # the product reads the fields by their tags
    with pytest.raises(ProtocolError, match="offset table"):
        parse_basic_info(bytes(bad), check_offsets=True)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (h("FF 21 03 DF 22 00"), "has tag FF21"),
        (h("FF 20 0E DF 21 08 00 0E 00 11 00 14 00 17 DF 22 00"), "lacks tag DF23"),
        (h("FF 20 0D DF 22 01 FF DF 23 00 DF 24 00 DF 25 00"), "DF22 is not UTF-8"),
        (h("FF 20 10 DF 22 00 DF 23 00 DF 24 04") + b"1980" + h("DF 25 00"), "not YYYYMMDD"),
        (h("FF 20 05 DF 22 01"), "needs 5 bytes"),
    ],
)
def test_malformed_files_are_refused(raw: bytes, message: str) -> None:
    with pytest.raises(ProtocolError, match=message):
        parse_basic_info(raw)


def test_a_table_is_needed_to_check_it() -> None:
    body = h("DF 22 00 DF 23 00 DF 24 08") + b"19800217" + h("DF 25 01") + b"1"
    raw = h("FF 20") + bytes([len(body)]) + body
    assert parse_basic_info(raw).birth == "19800217"
    assert basic_info_hashed_part(raw) == body  # no table to skip
    with pytest.raises(ProtocolError, match="lacks tag DF21"):
        parse_basic_info(raw, check_offsets=True)


def test_only_a_yyyymmdd_birth_is_written() -> None:
    with pytest.raises(ValueError, match="YYYYMMDD"):
        encode_basic_info(BasicInfo("a", "b", "1980-2-17", "1"))


texts = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=200)


@settings(derandomize=True, deadline=None)
@given(texts, texts, st.dates(date(1900, 1, 1), date(2099, 12, 31)), st.sampled_from("0129"), st.booleans())
def test_round_trip(name: str, address: str, born: date, sex: str, long_header: bool) -> None:
    info = BasicInfo(name, address, f"{born:%Y%m%d}", sex)
    raw = encode_basic_info(info, long_header=long_header)
    assert raw[2] == 0x82 or not long_header
    assert parse_basic_info(raw, check_offsets=True) == info
    assert parse_basic_info(raw).birth_date == born


@pytest.mark.parametrize(
    ("tag", "length", "written"),
    [
        (0x04, 0, "04 00"),
        (0xDF21, 0x7F, "DF 21 7F"),
        (0xFF20, 0x80, "FF 20 81 80"),
        (0xFF30, 0x14B, "FF 30 82 01 4B"),
        (0x5F8101, 0x10000, "5F 81 01 83 01 00 00"),
    ],
)
def test_the_writer_writes_tags_as_they_are_and_minimal_lengths(tag: int, length: int, written: str) -> None:
    value = bytes(length)
    raw = ber.encode_tlv(tag, value)
    assert raw[: len(h(written))] == h(written)
    tlv = ber.parse_tlv(raw, lenient=True)
    assert (tlv.tag, tlv.value) == (tag, value)
    with pytest.raises(ValueError, match="negative"):
        ber.encode_length(-1)
