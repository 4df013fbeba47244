"""The transport contract (tests/transport_contract.py) against Pn532Transport. The contactless ATR is
synthesised from the ATQB (PC/SC part 3 form), so that is what the transport must report."""

from __future__ import annotations

import pytest
from pn532_helpers import AUTH_PIN, HEX
from transport_contract import SLOW_CARD, Rig, TransportContract

from reader.pn532.transport import open_pn532


@pytest.fixture
def rig(make_sim, request: pytest.FixtureRequest) -> Rig:  # type: ignore[no-untyped-def]
    sim = make_sim(options=SLOW_CARD)
    transport = open_pn532(f"pn532://{sim.wire.path}")
    request.addfinalizer(transport.close)
    atr = HEX("3B 88 80 01") + sim.card.params.atqb[5:] + HEX("00 7F")
    return Rig(transport, sim.card.card, sim.remove_card, atr, AUTH_PIN)


class TestPn532(TransportContract):
    """The serial reader module keeps the contract."""
