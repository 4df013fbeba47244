"""The transport contract of tests/pcsc/test_pcsc_transport_contract.py, run against Pn532Transport
(the contactless ATR is synthesised from the ATQB, so it is checked against that instead)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import pytest
from pn532_helpers import AUTH_PIN, HEX

from firmware_sim.card_os import CardTiming
from firmware_sim.mynumber import CardOptions
from reader.constants import Ins
from reader.errors import (
    CancelledError,
    CardRemovedError,
    NoCardError,
    ReaderTimeoutError,
    SecurityStatusNotSatisfiedError,
)
from reader.jpki import JpkiClient
from reader.pn532 import open_pn532
from reader.transport import Transport

SELECT_JPKI = HEX("00 A4 04 0C 0A D3 92 F0 00 26 01 00 00 00 01")
SLOW_READ = 0.6


@dataclass
class Rig:
    transport: Any
    sim: Any


@pytest.fixture
def rig(make_sim, request: pytest.FixtureRequest) -> Rig:  # type: ignore[no-untyped-def]
    sim = make_sim(options=CardOptions(timing=CardTiming(by_ins={Ins.READ_BINARY: SLOW_READ})))
    transport = open_pn532(f"pn532://{sim.wire.path}")
    request.addfinalizer(transport.close)
    return Rig(transport, sim)


def test_satisfies_the_protocol_once_connected(rig: Rig) -> None:
    with pytest.raises(NoCardError):
        _ = rig.transport.atr
    with pytest.raises(NoCardError):
        rig.transport.transmit(SELECT_JPKI)
    rig.transport.connect()
    assert isinstance(rig.transport, Transport)
    assert rig.transport.atr == HEX("3B 88 80 01") + rig.sim.card.params.atqb[5:] + HEX("00 7F")
    assert rig.transport.transmit(SELECT_JPKI) == HEX("90 00")
    assert rig.transport.supports_extended is True


def test_cancel_before_sending_sends_nothing(rig: Rig) -> None:
    rig.transport.connect()
    seen: list[object] = []
    rig.sim.card.card.on_command = seen.append
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(CancelledError):
        rig.transport.transmit(SELECT_JPKI, cancel=cancel)
    assert seen == []


def test_cancel_and_timeout_while_waiting_then_reconnect(rig: Rig) -> None:
    rig.transport.connect()
    client = JpkiClient(rig.transport, timeout=0.2)
    client.select_ef(0x000A)
    start = time.monotonic()
    with pytest.raises(ReaderTimeoutError):
        client.read_binary(0, 4)
    cancel = threading.Event()
    threading.Timer(0.1, cancel.set).start()
    rig.transport.disconnect()
    rig.transport.connect()
    with pytest.raises(CancelledError):
        JpkiClient(rig.transport).read_certificate_der("auth", cancel=cancel)
    assert time.monotonic() - start < 4 * SLOW_READ
    rig.transport.disconnect()
    rig.transport.connect()
    assert JpkiClient(rig.transport).detect().token == "JPKIAPICCTOKEN2"


def test_removal_during_an_exchange(rig: Rig) -> None:
    rig.transport.connect()
    client = JpkiClient(rig.transport)
    client.select_ef(0x000A)
    threading.Timer(0.1, rig.sim.remove_card).start()
    with pytest.raises(CardRemovedError):
        client.read_binary(0, 4)
    with pytest.raises((CardRemovedError, NoCardError)):
        rig.transport.transmit(SELECT_JPKI)


def test_disconnect_with_unpower_clears_the_verified_pin(rig: Rig) -> None:
    rig.transport.connect()
    client = JpkiClient(rig.transport)
    client.verify_pin("auth", AUTH_PIN)
    rig.transport.disconnect(unpower=True)
    rig.transport.disconnect(unpower=True)
    rig.transport.connect()
    with pytest.raises(SecurityStatusNotSatisfiedError):
        client.sign_sha256("auth", b"x")
