"""券面事項入力補助AP files as the virtual card writes them for a holder: exact byte layouts, lenient BER
parsing, integrity record. The 基本4情報 structure itself: tests/reader/test_reader_basic_info.py."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import date

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from hypothesis import given, settings
from hypothesis import strategies as st
from pki_helpers import KeyPool

from firmware_sim.card.kenmen.data import (
    KenmenFormatError,
    build_basic_info_file,
    build_integrity_file,
    build_kenmen_files,
    build_my_number_file,
    parse_integrity_file,
    parse_my_number_file,
    read_tlv,
    verify_integrity,
)
from firmware_sim.holder import Sex, demo_holder
from firmware_sim.pki.hierarchy import TestPki
from reader.basic_info import basic_info_hashed_part, parse_basic_info


def h(text: str) -> bytes:
    return bytes.fromhex(text.replace(" ", ""))


# The real test-card 0002 published in soltia48/myna-card (name 黒桐　幹也, Kiyose, 1980-02-17, male).
REAL_BASIC_INFO = h(
    "ff2065df2108000e002000590064df220fe9bb92e6a190e38080e5b9b9e4b99fdf2336e69db1e4baace983bde6b885e7"
    "80ace5b882e8a6b3e5b883e5ad90e58d97efbc91efbc92efbc8defbc97efbc8defbc92efbc90efbc92df240831393830"
    "30323137df250131"
)


def test_my_number_file_layout() -> None:
    data = build_my_number_file("123456789018")
    assert data == h("FF 10 0C 31 32 33 34 35 36 37 38 39 30 31 38 FF FF")
    assert len(data) == 17
    assert parse_my_number_file(data) == "123456789018"
    with pytest.raises(ValueError, match="12 ASCII digits"):
        build_my_number_file("12345")


def test_basic_info_layout_byte_by_byte() -> None:
    data = build_basic_info_file(demo_holder())
    name = "山田\u3000太郎".encode()
    address = "神奈川県横浜市中区山下町１２３－４".encode()
    tlv = (
        h("DF 21 08")
        + (14).to_bytes(2, "big")
        + (14 + 3 + len(name)).to_bytes(2, "big")
        + (14 + 6 + len(name) + len(address)).to_bytes(2, "big")
        + (14 + 6 + len(name) + len(address) + 11).to_bytes(2, "big")
        + h("DF 22")
        + bytes([len(name)])
        + name
        + h("DF 23")
        + bytes([len(address)])
        + address
        + h("DF 24 08")
        + b"19850401"
        + h("DF 25 01")
        + b"1"
    )
    expected = h("FF 20") + bytes([len(tlv)]) + tlv
    assert data[: len(expected)] == expected
    assert len(data) % 32 == 0 and len(data) > len(expected)
    assert set(data[len(expected) :]) == {0xFF}
    info = parse_basic_info(data, check_offsets=True)
    assert (info.name, info.address, info.birth_date, info.sex) == (
        "山田\u3000太郎",
        "神奈川県横浜市中区山下町１２３－４",
        date(1985, 4, 1),
        "1",
    )


def test_builder_matches_the_real_layout() -> None:
    holder = replace(
        demo_holder(),
        family_name="黒桐",
        given_name="幹也",
        address="東京都清瀬市観布子南１２－７－２０２",
        birth_date=date(1980, 2, 17),
        sex=Sex.MALE,
        municipality_code="132217",
    )
    built = build_basic_info_file(holder)
    assert built[: len(REAL_BASIC_INFO)] == REAL_BASIC_INFO


def test_long_address_uses_long_form_lengths() -> None:
    holder = replace(demo_holder(), address="神奈川県横浜市中区" + "山" * 100)
    data = build_basic_info_file(holder)
    assert data[:3] == h("FF 20 82")
    assert parse_basic_info(data, check_offsets=True).address == holder.address
    outer = read_tlv(data)
    assert outer.tag == 0xFF20 and outer.end < len(data)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (h("FF 11 0C") + b"123456789018", "expected tag FF10"),
        (h("FF 10 0C") + b"12345", "runs past the end"),
        (h("FF 10 0C") + b"12345678901A", "12 ASCII digits"),
        (h("FF"), "truncated"),
        (h("FF 10 84 00 00 00 01 00"), "unsupported BER length"),
    ],
)
def test_my_number_parser_errors(data: bytes, message: str) -> None:
    with pytest.raises(KenmenFormatError, match=message):
        parse_my_number_file(data)


def test_integrity_record_layout_and_signature(session_pki: TestPki) -> None:
    key = session_pki.kenmen_signing_key()
    files = build_kenmen_files(demo_holder(), key)
    mn, basic, integrity = files[1], files[2], files[3]
    assert integrity[:5] == h("FF 30 82 01 4B") and len(integrity) == 5 + 0x14B
    assert integrity[5:8] == h("DF 31 20") and integrity[8:40] == hashlib.sha256(mn).digest()
    assert integrity[40:43] == h("DF 32 20")
    assert integrity[43:75] == hashlib.sha256(basic_info_hashed_part(basic)).digest()
    assert basic_info_hashed_part(basic).startswith(h("DF 22"))
    assert basic_info_hashed_part(basic).endswith(h("DF 25 01 31"))
    assert integrity[75:80] == h("DF 33 82 01 00") and len(integrity[80:]) == 256
    key.public_key().verify(integrity[80:], integrity[5:75], padding.PKCS1v15(), hashes.SHA256())
    record = verify_integrity(mn, basic, integrity, key.public_key())
    assert record.signed_data == integrity[5:75]


def test_integrity_detects_tampering(session_pki: TestPki, key_pool: KeyPool) -> None:
    key = session_pki.kenmen_signing_key()
    files = build_kenmen_files(demo_holder(), key)
    other = build_kenmen_files(replace(demo_holder(), given_name="花子"), key)
    with pytest.raises(KenmenFormatError, match="basic info digest"):
        verify_integrity(files[1], other[2], files[3], key.public_key())
    with pytest.raises(KenmenFormatError, match="My Number file digest"):
        verify_integrity(build_my_number_file("537686677188"), files[2], files[3], key.public_key())
    forged = build_integrity_file(files[1], files[2], key_pool())
    with pytest.raises(InvalidSignature):
        verify_integrity(files[1], files[2], forged, key.public_key())
    with pytest.raises(KenmenFormatError, match="FF30"):
        parse_integrity_file(files[1])


katakana = st.text(alphabet="アイウエオカキクケコヤマダタロウ", min_size=1, max_size=8)
kanji = st.text(alphabet="山田太郎花子一二三鈴木佐藤髙﨑", min_size=1, max_size=12)


@settings(derandomize=True, deadline=None, max_examples=100)
@given(
    kanji,
    kanji,
    st.text(alphabet="山下町１２３４－丁目番地ビル", min_size=1, max_size=150),
    st.dates(date(1900, 1, 1), date(2025, 12, 31)),
    st.sampled_from(list(Sex)),
)
def test_basic_info_round_trip(family: str, given_name: str, rest: str, born: date, sex: Sex) -> None:
    holder = replace(
        demo_holder(),
        family_name=family,
        given_name=given_name,
        address="神奈川県横浜市中区" + rest,
        birth_date=born,
        sex=sex,
    )
    info = parse_basic_info(build_basic_info_file(holder), check_offsets=True)
    assert (info.name, info.address, info.birth_date, info.sex) == (
        holder.name,
        holder.address,
        born,
        str(int(sex)),
    )


def test_long_header_form_of_2023_cards() -> None:
    """Cards issued from 2023 write the outer length as 82 HH LL; offsets and the digest follow."""
    short = build_basic_info_file(demo_holder())
    long = build_basic_info_file(demo_holder(), long_header=True)
    body = short[3 : 3 + short[2]]
    assert short[:3] == h(f"FF 20 {len(body):02X}")
    assert long[:5] == h(f"FF 20 82 00 {len(body):02X}")
    shifted = bytes(b + 2 if i % 2 else b for i, b in enumerate(body[3:11]))  # every offset moves by 2
    assert long[5:8] == h("DF 21 08") and long[8:16] == shifted
    assert long[16 : 5 + len(body)] == body[11:]
    assert parse_basic_info(long, check_offsets=True) == parse_basic_info(short, check_offsets=True)
    assert basic_info_hashed_part(long) == basic_info_hashed_part(short)  # the integrity hash agrees
    assert set(long[5 + len(body) :]) == {0xFF} and len(long) % 32 == 0
