"""The kiosk's card port with a phone (docs/card.md §11): the Android certificate comes after the PIN and
is checked then; an iPhone asks no PIN and must have been unlocked; ``myna-reader info --json`` names the
token."""

from __future__ import annotations

import io
import json
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from firmware_sim.holder import demo_holder
from firmware_sim.personalise import personalise_card
from firmware_sim.phone.iphone import unlock_from_word
from firmware_sim.phone.load import open_device
from firmware_sim.pki.hierarchy import TestPki
from kiosk.flow.card import JpkiCard
from kiosk.flow.ports import CardCheckError
from reader.cli import main
from reader.errors import PinIncorrectError
from reader.loopback import LoopbackTransport


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TestPki:
    return TestPki.open(tmp_path_factory.mktemp("pki"))


def phone(tmp_path: Path, pki: TestPki, form: str) -> Path:
    path = tmp_path / f"{form}.json"
    personalise_card(path, pki=pki, holder=demo_holder(), form=form)
    return path


def kiosk_card(path: Path, pki: TestPki, unlock: str = "face_id") -> JpkiCard:
    transport = LoopbackTransport(open_device(path, unlock=unlock_from_word(unlock)))
    return JpkiCard(transport, [pki.auth_ca_cert])


def test_android_pin_first_then_its_certificate_checked(tmp_path: Path, pki: TestPki) -> None:
    card, cancel = kiosk_card(phone(tmp_path, pki, "android"), pki), threading.Event()
    read = card.read(cancel)
    assert (read.form, read.certificate_der, read.tries_left, read.asks_pin) == ("android", b"", 3, True)
    with pytest.raises(PinIncorrectError) as wrong:
        card.verify_pin("0000", cancel)
    assert wrong.value.tries_left == 2
    der = card.verify_pin("1234", cancel)
    assert der is not None and x509.load_der_x509_certificate(der).issuer == pki.auth_ca_cert.subject
    assert len(card.sign(b"challenge")) == 256


def test_android_certificate_from_another_ca_is_refused_after_the_pin(tmp_path: Path, pki: TestPki) -> None:
    path = phone(tmp_path, pki, "android")
    other = TestPki.open(tmp_path / "other-pki")
    card = JpkiCard(LoopbackTransport(open_device(path)), [other.auth_ca_cert])
    cancel = threading.Event()
    card.read(cancel)
    with pytest.raises(CardCheckError) as refused:
        card.verify_pin("1234", cancel)
    assert refused.value.reason == "card_not_usable"


def test_iphone_asks_no_pin_and_must_be_unlocked(tmp_path: Path, pki: TestPki) -> None:
    path, cancel = phone(tmp_path, pki, "iphone"), threading.Event()
    read = kiosk_card(path, pki).read(cancel)
    assert (read.form, read.asks_pin, read.tries_left) == ("iphone", False, 3)
    assert x509.load_der_x509_certificate(read.certificate_der).issuer == pki.auth_ca_cert.subject
    for word in ("none", "refused"):
        with pytest.raises(CardCheckError) as refused:
            kiosk_card(path, pki, word).read(cancel)
        assert refused.value.reason == "phone_not_unlocked"


def test_myna_reader_info_json_names_the_android_token(
    tmp_path: Path, pki: TestPki, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    lines: list[str] = []
    url = f"sim://{phone(tmp_path, pki, 'android')}"
    status = main(["info", "--json", "--reader", url], out=lines.append)
    info = json.loads("\n".join(lines))
    assert status == 0
    assert (info["token"], info["form"], info["auth_cert_needs_pin"]) == ("JPKIAPGPSETOKEN", "android", True)
    assert "auth_cert_serial" not in info and info["auth_pin_tries_left"] == 3


@pytest.mark.parametrize("form", ["android", "iphone"])
def test_myna_reader_signs_with_a_phone(
    tmp_path: Path, pki: TestPki, monkeypatch: pytest.MonkeyPatch, form: str
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("1234\n"))
    lines: list[str] = []
    url = f"sim://{phone(tmp_path, pki, form)}"
    assert main(["sign", "--text", "hello", "--reader", url], out=lines.append) == 0
    assert lines[-1].startswith("signature verified with the certificate of")


def test_kiosk_sequence_apdus_per_token(tmp_path: Path) -> None:
    from bench.card import token_rows

    rows = {row.name: row.value for row in token_rows(tmp_path)}
    assert rows == {
        "kiosk auth sequence, card": 11,
        "kiosk auth sequence, android": 11,  # the same commands, the certificate read after the PIN
        "kiosk auth sequence, iphone": 9,  # no VERIFY and no second SELECT of the PIN EF
    }


def test_a_certificate_with_an_impossible_version_is_not_usable(tmp_path: Path, pki: TestPki) -> None:
    """cryptography raises InvalidVersion, not ValueError, for a version field it does not know."""
    from kiosk.flow.card import check_certificate
    from relay_client.auth import cert_serial_hash_of

    der = pki.auth_ca_cert.public_bytes(serialization.Encoding.DER)
    bad = der.replace(b"\xa0\x03\x02\x01\x02", b"\xa0\x03\x02\x01\x12", 1)
    assert bad != der
    with pytest.raises(CardCheckError) as refused:
        check_certificate(bad, [pki.auth_ca_cert], datetime.now(UTC))
    assert refused.value.reason == "card_not_usable"
    with pytest.raises(ValueError):
        cert_serial_hash_of(bad)
