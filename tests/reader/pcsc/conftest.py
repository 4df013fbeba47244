"""Real pcscd + vpcd: the virtual card bridged into reader "Virtual PCD 00 00" (TCP 35963)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from pcsc_helpers import PORT, ROOT, InsertCard, VirtualReader, wait_card


@pytest.fixture(scope="session")
def pcscd() -> None:
    subprocess.run([str(ROOT / "scripts" / "ensure-pcscd.sh")], check=True, timeout=30)


@pytest.fixture
def insert_card(pcscd: None) -> Iterator[InsertCard]:
    """Factory: put a virtual card (from an image, with CardOptions) into READER; all removed after."""
    from firmware_sim.card.mynumber import MyNumberCard
    from firmware_sim.vpcd import VpcdBridge

    started: list[VirtualReader] = []

    def insert(image: Path, options: object = None) -> VirtualReader:
        card = MyNumberCard.from_image(image, options)  # type: ignore[arg-type]
        bridge = VpcdBridge(card, port=PORT)
        bridge.start()
        assert bridge.wait_connected(3.0), "vpcd did not accept the card"
        wait_card(True)
        reader = VirtualReader(bridge, card, image)
        started.append(reader)
        return reader

    yield insert
    for reader in started:
        reader.bridge.stop()  # type: ignore[attr-defined]
    wait_card(False)


@pytest.fixture
def vcard(insert_card: InsertCard, card_image: Path) -> VirtualReader:
    return insert_card(card_image)
