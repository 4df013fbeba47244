"""Fixtures for the reader tests: a scripted mock transport and the loopback virtual card."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from reader.loopback import LoopbackTransport


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
