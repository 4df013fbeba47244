"""Helpers for the virtual-card tests: throw-away card images, fixtures' building blocks, APDU helpers."""

from __future__ import annotations

import datetime
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from firmware_sim.image import CardImage, PinSpec
from firmware_sim.mynumber import CardOptions, MyNumberCard
from reader.apdu import h
from reader.constants import ATR_EXTENDED, JpkiFile, KenmenFile

AUTH_PIN = b"1234"
SIGN_PIN = b"ABC123"
KENMEN_PIN = b"5678"
MY_NUMBER_FILE = h("FF 10 0C") + b"123456789018" + h("FF FF")
BASIC_INFO_FILE = h("FF 20 10 DF 22 06") + "山田".encode() + h("DF 25 01 31 FF FF FF")
INTEGRITY_FILE = h("FF 30 05 DF 31 02 AA BB")


@dataclass(frozen=True)
class Keys:
    auth: rsa.RSAPrivateKey
    sign: rsa.RSAPrivateKey


def _pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def self_signed(key: rsa.RSAPrivateKey, cn: str) -> bytes:
    """A throw-away self-signed certificate (DER) padded to a realistic ~1.3 KB with an extension."""
    name = x509.Name(
        [x509.NameAttribute(NameOID.COUNTRY_NAME, "JP"), x509.NameAttribute(NameOID.COMMON_NAME, cn)]
    )
    now = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("x" * 60 + f".{i}.test") for i in range(6)]), False
        )
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.DER)


def token_info(label: str = "JPKIAPICCTOKEN2") -> bytes:
    return label.encode("ascii").ljust(32, b" ") + bytes(128)


@pytest.fixture(scope="session")
def keys() -> Keys:
    return Keys(
        auth=rsa.generate_private_key(public_exponent=65537, key_size=2048),
        sign=rsa.generate_private_key(public_exponent=65537, key_size=2048),
    )


@pytest.fixture(scope="session")
def certs(keys: Keys) -> dict[int, bytes]:
    return {
        JpkiFile.AUTH_CERT: self_signed(keys.auth, "AUTH0001"),
        JpkiFile.AUTH_CA_CERT: self_signed(keys.auth, "auth CA"),
        JpkiFile.SIGN_CERT: self_signed(keys.sign, "SIGN0001"),
        JpkiFile.SIGN_CA_CERT: self_signed(keys.sign, "sign CA"),
    }


def make_image(path: Path, keys: Keys, certs: dict[int, bytes], *, with_sign: bool = True) -> CardImage:
    """Write a test card image at ``path`` (adult card by default; ``with_sign=False`` = under 15)."""
    files = {JpkiFile.TOKEN_INFO: token_info(), JpkiFile.CERT_PRESENCE: h("8F 8F 00")}
    files |= {fid: der for fid, der in certs.items() if with_sign or fid not in (JpkiFile.SIGN_CERT,)}
    if not with_sign:
        files[JpkiFile.CERT_PRESENCE] = h("00 8F 00")
    pins = {"auth": PinSpec(AUTH_PIN, 3), "kenmen": PinSpec(KENMEN_PIN, 3)}
    if with_sign:
        pins["sign"] = PinSpec(SIGN_PIN, 5)
    return CardImage.create(
        path,
        atr=ATR_EXTENDED,
        jpki_files=files,
        auth_key_pem=_pem(keys.auth),
        sign_key_pem=_pem(keys.sign) if with_sign else None,
        kenmen_files={
            KenmenFile.MY_NUMBER: MY_NUMBER_FILE,
            KenmenFile.BASIC_INFO: BASIC_INFO_FILE,
            KenmenFile.INTEGRITY: INTEGRITY_FILE,
            0x0005: h("FF 40 03 DF 41 01 03"),
        },
        pins=pins,
        meta={"holder_id": "test", "auth_cn": "AUTH0001", "issued_by": "firmware-sim"},
    )


@pytest.fixture(scope="session")
def template_image(tmp_path_factory: pytest.TempPathFactory, keys: Keys, certs: dict[int, bytes]) -> Path:
    path = tmp_path_factory.mktemp("template") / "card.json"
    make_image(path, keys, certs)
    return path


@pytest.fixture
def image_path(tmp_path: Path, template_image: Path) -> Path:
    """A fresh copy of the adult test card (full PIN counters) for this test."""
    path = tmp_path / "card.json"
    shutil.copyfile(template_image, path)
    return path


@pytest.fixture
def card(image_path: Path) -> Iterator[MyNumberCard]:
    card = MyNumberCard.from_image(image_path)
    card.power_on()
    yield card
    card.power_off()


@pytest.fixture
def card_options() -> CardOptions:
    return CardOptions()


def tx(card: MyNumberCard, apdu: str | bytes) -> tuple[bytes, int]:
    """Send spaced hex (or bytes); return (data, SW)."""
    raw = h(apdu) if isinstance(apdu, str) else apdu
    response = card.process(raw)
    assert len(response) >= 2
    return response[:-2], int.from_bytes(response[-2:], "big")


def sw(card: MyNumberCard, apdu: str | bytes) -> int:
    """Send and return only the status word."""
    return tx(card, apdu)[1]


SELECT_JPKI = "00 A4 04 0C 0A D3 92 F0 00 26 01 00 00 00 01"
SELECT_KENMEN = "00 A4 04 0C 0A D3 92 10 00 31 00 01 01 04 08"
