"""Fixtures for the PN532 tests: one personalised card image, the simulated module on a real pty,
and nfcpy-style byte helpers (HEX, CMD, RSP, ACK) for exact frames."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pn532_helpers import PUPI

from firmware_sim.card.mynumber import CardOptions, MyNumberCard
from firmware_sim.pn532.module import Pn532Sim
from firmware_sim.pn532.typeb import TypeBCard, TypeBParams

SimFactory = Callable[..., Pn532Sim]


@pytest.fixture
def make_sim(card_image: Path) -> Iterator[SimFactory]:
    """Start simulated modules (stopped at teardown): ``make_sim(baud=None, options=None, fwi=10)``."""
    sims: list[Pn532Sim] = []

    def make(
        *,
        baud: int | None = None,
        options: CardOptions | None = None,
        fwi: int = 10,
        link: Path | None = None,
    ) -> Pn532Sim:
        card = MyNumberCard.from_image(card_image, options)
        params = TypeBParams(pupi=PUPI, protocol_info=bytes((0xB3, 0x81, fwi << 4 | 0x01)))
        sim = Pn532Sim(TypeBCard(card, params), baud=baud, link=link)
        sim.start()
        sims.append(sim)
        return sim

    yield make
    for sim in sims:
        sim.stop()


@pytest.fixture
def sim(make_sim: SimFactory) -> Pn532Sim:
    return make_sim()
