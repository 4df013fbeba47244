"""One contract, every transport (CONTRIBUTING.md, tests): connect, transmit, cancel, timeout, removal and
unpowering behave the same through LoopbackTransport, PcscTransport (pcscd + vpcd) and Pn532Transport.

A test module subclasses ``TransportContract`` and provides a ``rig`` fixture whose card answers
READ BINARY ``SLOW_READ`` seconds late (``SLOW_CARD``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from firmware_sim.card.cardos import CardTiming
from firmware_sim.card.mynumber import CardOptions
from reader.apdu import h
from reader.constants import Ins
from reader.errors import (
    CancelledError,
    CardRemovedError,
    NoCardError,
    ReaderTimeoutError,
    SecurityStatusNotSatisfiedError,
)
from reader.jpki import JpkiClient
from reader.transport import Transport

SELECT_JPKI = h("00 A4 04 0C 0A D3 92 F0 00 26 01 00 00 00 01")
SLOW_READ = 0.6
SLOW_CARD = CardOptions(timing=CardTiming(by_ins={Ins.READ_BINARY: SLOW_READ}))


@dataclass
class Rig:
    """A transport, the card OS behind it (``on_command`` hook), how to pull the card, what to expect."""

    transport: Any
    card: Any
    remove: Callable[[], None]
    atr: bytes
    auth_pin: str


class TransportContract:
    """The contract tests; subclasses supply the ``rig`` fixture."""

    def test_satisfies_the_protocol_once_connected(self, rig: Rig) -> None:
        with pytest.raises(NoCardError):
            _ = rig.transport.atr
        with pytest.raises(NoCardError):
            rig.transport.transmit(SELECT_JPKI)
        rig.transport.connect()
        assert isinstance(rig.transport, Transport)
        assert rig.transport.atr == rig.atr
        assert rig.transport.transmit(SELECT_JPKI) == h("90 00")
        assert rig.transport.supports_extended is True

    def test_cancel_before_sending_sends_nothing(self, rig: Rig) -> None:
        rig.transport.connect()
        seen: list[object] = []
        rig.card.on_command = seen.append
        cancel = threading.Event()
        cancel.set()
        with pytest.raises(CancelledError):
            rig.transport.transmit(SELECT_JPKI, cancel=cancel)
        assert seen == []

    def test_cancel_and_timeout_while_waiting_then_reconnect(self, rig: Rig) -> None:
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
        assert time.monotonic() - start < 4 * SLOW_READ  # neither wait ran to the card's pace
        rig.transport.disconnect()
        rig.transport.connect()
        assert JpkiClient(rig.transport).detect().token == "JPKIAPICCTOKEN2"

    def test_removal_during_an_exchange(self, rig: Rig) -> None:
        rig.transport.connect()
        client = JpkiClient(rig.transport)
        client.select_ef(0x000A)
        threading.Timer(0.1, rig.remove).start()
        with pytest.raises(CardRemovedError):
            client.read_binary(0, 4)
        with pytest.raises((CardRemovedError, NoCardError)):
            rig.transport.transmit(SELECT_JPKI)

    def test_disconnect_with_unpower_clears_the_verified_pin(self, rig: Rig) -> None:
        rig.transport.connect()
        client = JpkiClient(rig.transport)
        client.verify_pin("auth", rig.auth_pin)
        rig.transport.disconnect(unpower=True)
        rig.transport.disconnect(unpower=True)  # twice: never raises
        rig.transport.connect()
        with pytest.raises(SecurityStatusNotSatisfiedError):
            client.sign_sha256("auth", b"x")
