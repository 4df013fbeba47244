"""Personalisation: PIN formats, token info, validity rule, and the image CardImage.load reads back."""

from __future__ import annotations

import struct
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.serialization import Encoding
from pki_helpers import KeyPool

from firmware_sim.card.image import CardImage
from firmware_sim.card.kenmen.data import parse_my_number_file, verify_integrity
from firmware_sim.holder import demo_holder
from firmware_sim.personalise import (
    build_cert_presence,
    build_token_info,
    certificate_validity,
    fifth_birthday_after,
    personalise_card,
    validate_pins,
)
from firmware_sim.pki.hierarchy import TestPki
from reader.basic_info import parse_basic_info
from reader.constants import ATR_EXTENDED, ATR_OPENSC_JPKI

_DER = Encoding.DER


@pytest.mark.parametrize(
    ("pins", "message"),
    [
        (("123", "ABC123", "1234"), "auth PIN"),
        (("12345", "ABC123", "1234"), "auth PIN"),
        (("12a4", "ABC123", "1234"), "auth PIN"),
        (("1234", "ABC123", "12"), "kenmen PIN"),
        (("1234", "abc123", "1234"), "upper-case"),
        (("1234", "Abc123", "1234"), "upper-case"),
        (("1234", "ABC12", "1234"), "6–16"),
        (("1234", "A" * 17, "1234"), "6–16"),
        (("1234", "ABC-123", "1234"), "6–16"),
        (("1234", "ＡＢＣ１２３", "1234"), "6–16"),
    ],
)
def test_pin_formats_are_rejected_without_echoing_the_pin(pins: tuple[str, str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message) as info:
        validate_pins(*pins)
    assert pins[1] not in str(info.value) and pins[0] not in str(info.value)


def test_good_pins_pass() -> None:
    validate_pins("0000", "ABC123", "9999")
    validate_pins("1234", "A1B2C3D4E5F6G7H8", "1234")
    validate_pins("1234", None, "1234")


def test_token_info_layout() -> None:
    info = build_token_info("0123456789012345")
    assert len(info) == 160
    assert info[:32] == b"JPKIAPICCTOKEN2" + b" " * 17
    assert info[32:64].rstrip(b" ") and info[64:80].rstrip(b" ")
    assert info[80:96] == b"0123456789012345"
    ulongs = struct.unpack(">11L", info[96:140])
    assert ulongs[0] & 0x400 and ulongs[0] & 0x4  # token initialised, login required
    assert (ulongs[5], ulongs[6]) == (16, 4)  # max / min PIN length
    assert info[140:144] == bytes([1, 0, 1, 0])
    assert info[144:] == b" " * 16


def test_cert_presence() -> None:
    assert build_cert_presence(with_sign_cert=True) == bytes.fromhex("8F8F00")
    without = build_cert_presence(with_sign_cert=False)
    assert without[0] != 0x8F and without[1] == 0x8F


@pytest.mark.parametrize(
    ("birth", "issued", "expected"),
    [
        (date(1980, 2, 17), date(2025, 10, 27), date(2030, 2, 17)),  # the test card in myna-card
        (date(1985, 4, 1), date(2026, 4, 1), date(2031, 4, 1)),  # issued on the birthday: not counted
        (date(1985, 4, 1), date(2026, 3, 31), date(2030, 4, 1)),
        (date(2000, 2, 29), date(2026, 1, 1), date(2030, 2, 28)),
    ],
)
def test_fifth_birthday_after(birth: date, issued: date, expected: date) -> None:
    assert fifth_birthday_after(birth, issued) == expected


def test_default_validity_ends_23_59_59_jst_on_the_fifth_birthday() -> None:
    holder = replace(demo_holder(), birth_date=date(1980, 2, 17))
    now = datetime(2025, 10, 27, 1, 0, tzinfo=UTC)
    start, end = certificate_validity(holder, now=now, not_before=None, not_after=None, expired=False)
    assert start == now
    assert end == datetime(2030, 2, 17, 14, 59, 59, tzinfo=UTC)


def test_expired_validity_is_in_the_past() -> None:
    now = datetime.now(UTC)
    start, end = certificate_validity(demo_holder(), now=now, not_before=None, not_after=None, expired=True)
    assert start < end < now
    with pytest.raises(ValueError, match="either expired"):
        certificate_validity(demo_holder(), now=now, not_before=None, not_after=now, expired=True)
    with pytest.raises(ValueError, match="timezone-aware"):
        certificate_validity(
            demo_holder(), now=now, not_before=datetime(2026, 1, 1), not_after=None, expired=False
        )
    with pytest.raises(ValueError, match="before it starts"):
        certificate_validity(
            demo_holder(), now=now, not_before=now, not_after=now - timedelta(days=1), expired=False
        )


def test_personalised_image_reads_back(session_pki: TestPki, key_pool: KeyPool, tmp_path: Path) -> None:
    holder = demo_holder()
    card = personalise_card(tmp_path / "card.json", pki=session_pki, holder=holder, key_factory=key_pool)
    image = CardImage.load(card.path)
    assert image.atr == ATR_OPENSC_JPKI
    assert sorted(image.jpki_files) == [0x0001, 0x0002, 0x0006, 0x0008, 0x000A, 0x000B]
    assert image.jpki_files[0x0006][:32] == b"JPKIAPICCTOKEN2".ljust(32)
    assert image.jpki_files[0x0008] == bytes.fromhex("8F8F00")
    auth = x509.load_der_x509_certificate(image.jpki_files[0x000A])
    sign = x509.load_der_x509_certificate(image.jpki_files[0x0001])
    assert auth == card.auth_cert and sign == card.sign_cert
    assert image.jpki_files[0x000B] == session_pki.auth_ca_cert.public_bytes(_DER)
    assert image.jpki_files[0x0002] == session_pki.sign_ca_cert.public_bytes(_DER)
    assert session_pki.issuer_of(auth) == session_pki.auth_ca_cert
    assert session_pki.issuer_of(sign) == session_pki.sign_ca_cert
    assert auth.public_key() == image.auth_key().public_key()
    sign_key = image.sign_key()
    assert sign_key is not None and sign.public_key() == sign_key.public_key()
    assert auth.public_key() != sign.public_key()
    # the card key really signs for its certificate (what the center checks)
    signature = image.auth_key().sign(b"challenge", padding.PKCS1v15(), hashes.SHA256())
    auth.public_key().verify(signature, b"challenge", padding.PKCS1v15(), hashes.SHA256())  # type: ignore[union-attr]
    files = image.kenmen_files
    assert sorted(files) == [1, 2, 3, 4, 5]  # 0004 certificate, 0005 AP basic info (issue #18)
    assert parse_my_number_file(files[1]) == holder.my_number
    assert parse_basic_info(files[2]).name == holder.name
    verify_integrity(files[1], files[2], files[3], session_pki.kenmen_signing_key().public_key())
    assert {name: image.tries_left(name) for name in ("auth", "sign", "kenmen")} == {
        "auth": 3,
        "sign": 5,
        "kenmen": 3,
    }
    assert image.verify_pin("auth", b"1234") == 3
    assert image.verify_pin("sign", b"ABC123") == 5
    assert image.verify_pin("kenmen", b"9999") == 2
    assert image.meta["auth_cert_serial"] == card.auth_serial_hex == format(auth.serial_number, "X")
    assert image.meta["sign_cert_serial"] == card.sign_serial_hex == format(sign.serial_number, "X")
    assert image.meta["holder_id"] == holder.holder_id
    assert image.meta["auth_cn"] == auth.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value
    assert image.meta["issued_by"] == "firmware-sim"
    stored = card.path.read_text(encoding="utf-8")
    for secret in ("1234", "ABC123", b"1234".hex(), b"ABC123".hex(), "MTIzNA==", "QUJDMTIz"):
        assert f'"{secret}"' not in stored  # no PIN as a JSON value, plain, hex or base64
    assert session_pki.issued(auth.serial_number) is not None


def test_card_without_sign_certificate(session_pki: TestPki, key_pool: KeyPool, tmp_path: Path) -> None:
    card = personalise_card(
        tmp_path / "child.json",
        pki=session_pki,
        holder=demo_holder(),
        with_sign_cert=False,
        sign_pin="not checked",
        atr=ATR_EXTENDED,
        issued_by="mock-relay",
        key_factory=key_pool,
    )
    image = CardImage.load(card.path)
    assert card.sign_cert is None and card.sign_serial_hex is None
    assert 0x0001 not in image.jpki_files and 0x0002 not in image.jpki_files
    assert image.jpki_files[0x0008][0] != 0x8F
    assert image.sign_key() is None and not image.has_pin("sign")
    assert "sign_cert_serial" not in image.meta and image.meta["issued_by"] == "mock-relay"
    assert image.atr == ATR_EXTENDED


def test_expired_card(session_pki: TestPki, key_pool: KeyPool, tmp_path: Path) -> None:
    card = personalise_card(
        tmp_path / "old.json", pki=session_pki, holder=demo_holder(), expired=True, key_factory=key_pool
    )
    now = datetime.now(UTC)
    assert card.auth_cert.not_valid_after_utc < now
    assert card.sign_cert is not None and card.sign_cert.not_valid_after_utc < now


def test_explicit_validity(session_pki: TestPki, key_pool: KeyPool, tmp_path: Path) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    end = datetime(2026, 6, 1, tzinfo=UTC)
    card = personalise_card(
        tmp_path / "c.json",
        pki=session_pki,
        holder=demo_holder(),
        not_before=start,
        not_after=end,
        key_factory=key_pool,
    )
    assert (card.auth_cert.not_valid_before_utc, card.auth_cert.not_valid_after_utc) == (start, end)


def test_bad_input_writes_nothing(session_pki: TestPki, key_pool: KeyPool, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="upper-case"):
        personalise_card(tmp_path / "x.json", pki=session_pki, holder=demo_holder(), sign_pin="abc123")
    with pytest.raises(ValueError, match="check digit"):
        personalise_card(
            tmp_path / "x.json",
            pki=session_pki,
            holder=replace(demo_holder(), my_number="000000000001"),
            key_factory=key_pool,
        )
    assert not (tmp_path / "x.json").exists()
