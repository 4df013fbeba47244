"""Helpers for the virtual-card tests: cards personalised by the test PKI, and APDU helpers."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from firmware_sim.card.image import CardImage
from firmware_sim.card.mynumber import MyNumberCard
from firmware_sim.holder import demo_holder
from firmware_sim.personalise import personalise_card
from firmware_sim.pki.hierarchy import TestPki
from reader.apdu import h

AUTH_PIN = "1234"
SIGN_PIN = "ABC123"
KENMEN_PIN = "5678"
SELECT_JPKI = "00 A4 04 0C 0A D3 92 F0 00 26 01 00 00 00 01"
SELECT_KENMEN = "00 A4 04 0C 0A D3 92 10 00 31 00 01 01 04 08"


@dataclass(frozen=True)
class Keys:
    auth: rsa.RSAPrivateKey
    sign: rsa.RSAPrivateKey


def personalise(path: Path, pki_dir: Path, *, with_sign_cert: bool = True) -> Path:
    """A demo-holder card at ``path`` (auth 1234, sign ABC123, kenmen 5678)."""
    personalise_card(
        path,
        pki=TestPki.open(pki_dir),
        holder=demo_holder(),
        auth_pin=AUTH_PIN,
        sign_pin=SIGN_PIN,
        kenmen_pin=KENMEN_PIN,
        with_sign_cert=with_sign_cert,
    )
    return path


@pytest.fixture(scope="session")
def child_template(pki_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An under-15 card: no signature certificate, key or PIN."""
    return personalise(tmp_path_factory.mktemp("child") / "card.json", pki_dir, with_sign_cert=False)


@pytest.fixture(scope="session")
def keys(template_image: Path) -> Keys:
    image = CardImage.load(template_image)
    sign = image.sign_key()
    assert sign is not None
    return Keys(auth=image.auth_key(), sign=sign)


@pytest.fixture(scope="session")
def certs(template_image: Path) -> dict[int, bytes]:
    return dict(CardImage.load(template_image).jpki_files)


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


def tx(card: MyNumberCard, apdu: str | bytes) -> tuple[bytes, int]:
    """Send spaced hex (or bytes); return (data, SW)."""
    raw = h(apdu) if isinstance(apdu, str) else apdu
    response = card.process(raw)
    assert len(response) >= 2
    return response[:-2], int.from_bytes(response[-2:], "big")


def sw(card: MyNumberCard, apdu: str | bytes) -> int:
    """Send and return only the status word."""
    return tx(card, apdu)[1]
