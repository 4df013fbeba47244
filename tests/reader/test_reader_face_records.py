"""The 券面 APs' records as the reader parses and checks them: tampering and malformed data fail."""

from __future__ import annotations

from pathlib import Path

import pytest

from firmware_sim.card.image import CardImage
from firmware_sim.pki.hierarchy import TestPki
from reader.apdu import h
from reader.constants import KAKUNIN_TAG_AGE_RECORD, KAKUNIN_TAG_AGE_SIGNATURE, KakuninFile, KenmenFile
from reader.cvc import parse_cv_certificate, parse_key_id
from reader.errors import PinFormatError, ProtocolError
from reader.kakunin import (
    check_birth_key,
    parse_card_face,
    parse_face_ap_basic_info,
    verify_card_face,
    verify_record,
)
from reader.kenmen import check_code_a, check_code_b, parse_ap_basic_info


@pytest.fixture(scope="module")
def image(template_image: Path) -> CardImage:
    return CardImage.load(template_image)


def flip(data: bytes, index: int) -> bytes:
    return data[:index] + bytes([data[index] ^ 0x01]) + data[index + 1 :]


def test_text_ap_certificate_verifies_and_tampering_fails(image: CardImage, pki_dir: Path) -> None:
    raw = image.kenmen_files[KenmenFile.AP_CERTIFICATE]
    ca = TestPki.open(pki_dir).cv_ca_key("6000033").public_key()
    cert = parse_cv_certificate(raw)
    cert.verify_with(ca)
    assert str(cert.issuer_key_id) == "6000033/001"
    with pytest.raises(ProtocolError, match="not signed by CA key 6000033/001"):
        parse_cv_certificate(flip(raw, 40)).verify_with(ca)  # a byte of the subject key ID
    with pytest.raises(ProtocolError, match="expected 7F21"):
        parse_cv_certificate(h("7F 4E 00"))


@pytest.mark.parametrize(
    "raw",
    ["36 30 30 30 30 33 33 08 05 30 30 31 00 00 00", "36 30 30 30 30 33 41 08 05 30 30 31 00 00 00 00"],
    ids=["15-bytes", "letter-in-number"],
)
def test_bad_key_ids_are_refused(raw: str) -> None:
    with pytest.raises(ProtocolError, match="not a key identifier"):
        parse_key_id(h(raw))


def test_ap_basic_infos(image: CardImage) -> None:
    text = parse_ap_basic_info(image.kenmen_files[KenmenFile.AP_BASIC_INFO])
    assert (text.identification, text.key_id.number, len(text.trailer)) == (h("01 03 0E 01"), "6000034", 128)
    assert text.trailer[32:] == b"\xff" * 96
    face = parse_face_ap_basic_info(image.kakunin_files[KakuninFile.AP_BASIC_INFO])
    assert (face.identification, face.key_id.number, face.version) == (h("06 03 0E 01"), "6000024", 1)
    with pytest.raises(ProtocolError, match="lacks DF41, DF42 or DF43"):
        parse_ap_basic_info(h("FF 40 07 DF 41 04 01 03 0E 01"))


def test_card_face_signature_covers_the_photo_not_the_expiry(image: CardImage) -> None:
    raw = image.kakunin_files[KakuninFile.CARD_FACE]
    signer = parse_cv_certificate(image.kakunin_files[KakuninFile.AP_CERTIFICATE]).public_key
    face = parse_card_face(raw)
    verify_card_face(face, signer)
    photo_at = raw.index(face.photo)
    with pytest.raises(ProtocolError, match="covers other data"):
        verify_card_face(parse_card_face(flip(raw, photo_at + len(face.photo) // 2)), signer)
    expiry_at = raw.index(face.expiry.encode())
    verify_card_face(parse_card_face(flip(raw, expiry_at + 7)), signer)  # DF29 is after the signature


def test_age_record_signature(image: CardImage) -> None:
    raw = image.kakunin_files[KakuninFile.AGE_RECORD]
    signer = parse_cv_certificate(image.kakunin_files[KakuninFile.AP_CERTIFICATE]).public_key
    fields = verify_record(raw, KAKUNIN_TAG_AGE_RECORD, KAKUNIN_TAG_AGE_SIGNATURE, signer)
    assert len(fields[KAKUNIN_TAG_AGE_SIGNATURE].value) == 256
    with pytest.raises(ProtocolError, match="does not verify"):
        verify_record(flip(raw, 8), KAKUNIN_TAG_AGE_RECORD, KAKUNIN_TAG_AGE_SIGNATURE, signer)


@pytest.mark.parametrize(
    ("check", "value"),
    [
        (check_code_a, "123456789010"),  # wrong check digit
        (check_code_a, "12345678901"),
        (check_code_b, "6004012036240"),  # 13 digits
        (check_code_b, "60040120362４07"),  # a full-width digit
        (check_birth_key, "60041"),
        (check_birth_key, "S60401"),
    ],
)
def test_code_formats_are_checked_before_sending(check: object, value: str) -> None:
    with pytest.raises(PinFormatError):
        check(value)  # type: ignore[operator]
