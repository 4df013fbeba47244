"""The transport contract (tests/transport_contract.py) against LoopbackTransport (in process) and
PcscTransport (pcscd + vpcd)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pcsc_helpers import READER_URL, InsertCard
from transport_contract import SLOW_CARD, Rig, TransportContract

from firmware_sim.card.mynumber import MyNumberCard
from reader.loopback import LoopbackTransport
from reader.pcsc import PcscTransport

pytestmark = pytest.mark.pcsc


@pytest.fixture(params=["loopback", "pcsc"])
def rig(request: pytest.FixtureRequest, card_image: Path) -> Rig:
    if request.param == "loopback":
        card = MyNumberCard.from_image(card_image, SLOW_CARD)
        loop = LoopbackTransport(card)
        request.addfinalizer(loop.close)
        return Rig(loop, card, loop.remove, card.atr, "1234")
    insert_card: InsertCard = request.getfixturevalue("insert_card")
    reader = insert_card(card_image, SLOW_CARD)
    pcsc = PcscTransport(READER_URL)
    request.addfinalizer(pcsc.close)
    return Rig(pcsc, reader.card, reader.remove, reader.card.atr, "1234")


class TestLoopbackAndPcsc(TransportContract):
    """Both local transports keep the contract."""
