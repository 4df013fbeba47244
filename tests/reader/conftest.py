"""Fixtures for the reader tests: a scripted mock transport and the loopback virtual card."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from reader.loopback import LoopbackTransport


@pytest.fixture(scope="session")
def pki_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from firmware_sim.pki.hierarchy import TestPki

    directory = tmp_path_factory.mktemp("pki")
    TestPki.open(directory)
    return directory


@pytest.fixture(scope="session")
def template_image(pki_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from firmware_sim.holder import demo_holder
    from firmware_sim.personalise import personalise_card
    from firmware_sim.pki.hierarchy import TestPki

    path = tmp_path_factory.mktemp("template") / "card.json"
    personalise_card(
        path,
        pki=TestPki.open(pki_dir),
        holder=demo_holder(),
        auth_pin="1234",
        sign_pin="ABC123",
        kenmen_pin="5678",
    )
    return path


@pytest.fixture
def card_image(template_image: Path, tmp_path: Path) -> Path:
    """A fresh copy of the demo card image (auth PIN 1234, sign ABC123, kenmen 5678)."""
    path = tmp_path / "card.json"
    shutil.copy(template_image, path)
    return path


@pytest.fixture
def card(card_image: Path):  # type: ignore[no-untyped-def]
    from firmware_sim.card.mynumber import MyNumberCard

    return MyNumberCard.from_image(card_image)


@pytest.fixture(params=[True, False], ids=["extended", "short"])
def loopback(request: pytest.FixtureRequest, card) -> Iterator[LoopbackTransport]:  # type: ignore[no-untyped-def]
    transport = LoopbackTransport(card, extended=request.param)
    transport.connect()
    yield transport
    transport.disconnect()
    transport.close()
