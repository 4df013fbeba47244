"""The virtual phones: Android (documented) and iPhone (assumed, firmware_sim/phone/iphone.py A1–A5)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from firmware_sim.card.cardos import CardOS
from firmware_sim.card.image import CardImage
from firmware_sim.card.mynumber import MyNumberCard
from firmware_sim.holder import demo_holder
from firmware_sim.personalise import personalise_card
from firmware_sim.phone.android import AndroidPhone
from firmware_sim.phone.iphone import IPhone, Unlock, unlock_from_word
from firmware_sim.phone.load import open_device
from firmware_sim.pki.hierarchy import TestPki
from reader.apdu import h
from reader.constants import SHA256_DIGESTINFO_PREFIX

SELECT_JPKI = "00 A4 04 0C 0A D3 92 F0 00 26 01 00 00 00 01"
SELECT_KENMEN = "00 A4 04 0C 0A D3 92 10 00 31 00 01 01 04 08"
SEL_TOKEN, SEL_AUTH_CERT, SEL_AUTH_PIN, SEL_AUTH_KEY = (
    f"00 A4 02 0C 02 00 {fid}" for fid in ("06", "0A", "18", "17")
)
READ = "00 B0 00 00 00 00 00"  # extended Le: the whole EF
VERIFY_1234 = "00 20 00 80 04 31 32 33 34"
STATUS = "00 20 00 80"


def tx(card: CardOS, apdu: str) -> tuple[bytes, int]:
    response = card.process(h(apdu))
    return response[:-2], int.from_bytes(response[-2:], "big")


def sw(card: CardOS, apdu: str) -> int:
    return tx(card, apdu)[1]


@pytest.fixture(scope="module")
def pki_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("pki")
    TestPki.open(directory)
    return directory


def make(tmp_path: Path, pki_dir: Path, form: str) -> Path:
    path = tmp_path / f"{form}.json"
    personalise_card(path, pki=TestPki.open(pki_dir), holder=demo_holder(), form=form)
    return path


def test_android_names_its_token_and_shows_the_auth_certificate_only_after_the_pin(
    tmp_path: Path, pki_dir: Path
) -> None:
    phone = open_device(make(tmp_path, pki_dir, "android"))
    assert isinstance(phone, AndroidPhone)
    assert sw(phone, SELECT_JPKI) == 0x9000 and sw(phone, SEL_TOKEN) == 0x9000
    label, status = tx(phone, "00 B0 00 00 20")
    assert status == 0x9000 and label.rstrip(b" \x00") == b"JPKIAPGPSETOKEN"
    assert sw(phone, SEL_AUTH_CERT) == 0x9000 and sw(phone, READ) == 0x6982  # before the PIN
    assert sw(phone, SEL_AUTH_PIN) == 0x9000 and sw(phone, STATUS) == 0x63C3
    assert sw(phone, "00 20 00 80 04 30 30 30 30") == 0x63C2  # a wrong PIN counts
    assert sw(phone, VERIFY_1234) == 0x9000
    assert sw(phone, SEL_AUTH_CERT) == 0x9000
    der, status = tx(phone, READ)
    assert status == 0x9000 and x509.load_der_x509_certificate(der).serial_number > 0
    phone.power_off()  # the verified PIN goes with the power
    assert sw(phone, SELECT_JPKI) == 0x9000 and sw(phone, SEL_AUTH_CERT) == 0x9000
    assert sw(phone, READ) == 0x6982


def test_android_has_no_kenmen_application(tmp_path: Path, pki_dir: Path) -> None:
    path = make(tmp_path, pki_dir, "android")
    phone = open_device(path)
    assert sw(phone, SELECT_KENMEN) == 0x6A82
    assert not CardImage.load(path).has_pin("kenmen")


def sign_input() -> bytes:
    return SHA256_DIGESTINFO_PREFIX + hashlib.sha256(b"challenge").digest()


def test_an_unlocked_iphone_signs_without_a_pin_from_the_reader(tmp_path: Path, pki_dir: Path) -> None:
    path = make(tmp_path, pki_dir, "iphone")
    phone = open_device(path)
    assert isinstance(phone, IPhone)
    assert sw(phone, SELECT_JPKI) == 0x9000 and sw(phone, SEL_TOKEN) == 0x9000
    label, _ = tx(phone, "00 B0 00 00 20")
    assert label.rstrip(b" \x00") == b"JPKIAPIOSTOKEN"
    assert sw(phone, SEL_AUTH_PIN) == 0x9000 and sw(phone, STATUS) == 0x9000  # A3: the unlock verified it
    assert sw(phone, VERIFY_1234) == 0x6985  # A4: no PIN from the reader, nothing counted
    assert CardImage.load(path).tries_left("auth") == 3
    assert sw(phone, SEL_AUTH_CERT) == 0x9000
    der, _ = tx(phone, READ)
    cert = x509.load_der_x509_certificate(der)
    assert sw(phone, SEL_AUTH_KEY) == 0x9000
    signature, status = tx(phone, "80 2A 00 80 33 " + sign_input().hex(" ") + " 00")
    assert status == 0x9000
    key = cert.public_key()
    assert isinstance(key, rsa.RSAPublicKey)
    key.verify(signature, b"challenge", padding.PKCS1v15(), hashes.SHA256())


@pytest.mark.parametrize("word", ["none", "refused"])
def test_an_iphone_not_unlocked_refuses_the_certificate_and_the_key(
    tmp_path: Path, pki_dir: Path, word: str
) -> None:
    phone = open_device(make(tmp_path, pki_dir, "iphone"), unlock=unlock_from_word(word))
    assert sw(phone, SELECT_JPKI) == 0x9000
    assert sw(phone, SEL_AUTH_PIN) == 0x9000 and sw(phone, STATUS) == 0x6982
    assert sw(phone, SEL_AUTH_CERT) == 0x9000 and sw(phone, READ) == 0x6982
    assert sw(phone, SEL_AUTH_KEY) == 0x9000
    assert sw(phone, "80 2A 00 80 33 " + sign_input().hex(" ") + " 00") == 0x6982


def test_an_iphone_whose_pin_is_locked_says_so_whatever_the_biometrics(tmp_path: Path, pki_dir: Path) -> None:
    path = make(tmp_path, pki_dir, "iphone")
    image = CardImage.load(path)
    while image.tries_left("auth"):
        image.verify_pin("auth", b"0000")
    phone = IPhone(CardImage.load(path), unlock=Unlock())
    assert sw(phone, SELECT_JPKI) == 0x9000 and sw(phone, SEL_AUTH_PIN) == 0x9000
    assert sw(phone, STATUS) == 0x6984


def test_open_device_picks_the_form_and_refuses_an_unknown_one(tmp_path: Path, pki_dir: Path) -> None:
    assert isinstance(open_device(make(tmp_path, pki_dir, "card")), MyNumberCard)
    with pytest.raises(ValueError, match="unlock"):
        unlock_from_word("pin")
    with pytest.raises(ValueError):
        personalise_card(tmp_path / "x.json", pki=TestPki.open(pki_dir), holder=demo_holder(), form="juki")


@pytest.mark.parametrize("form", ["android", "iphone"])
def test_both_card_offices_issue_phones(
    tmp_path: Path, pki_dir: Path, form: str, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from firmware_sim.cli.main import main as firmware_sim
    from mock_relay.cli.main import main as mock_relay

    out = tmp_path / "sim.json"
    assert firmware_sim(["card", "new", str(out), "--pki", str(pki_dir), "--form", form]) == 0
    assert CardImage.load(out).meta["form"] == form
    capsys.readouterr()
    relay_out = tmp_path / "relay.json"
    assert (
        mock_relay(
            [
                "card",
                "new",
                "--data",
                str(tmp_path / "data"),
                "C-001",
                "--out",
                str(relay_out),
                "--form",
                form,
            ]
        )
        == 0
    )
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["form"] == form and summary["sign_cert"] is (form == "android")
    assert isinstance(open_device(relay_out), AndroidPhone if form == "android" else IPhone)
