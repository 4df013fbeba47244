"""LoopbackTransport and the card monitor: removal, cancel, timeout, insert/remove events."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from reader.constants import Ins
from reader.errors import CancelledError, CardRemovedError, NoCardError, ReaderTimeoutError, TransportError
from reader.jpki import JpkiClient
from reader.loopback import LoopbackTransport
from reader.monitor import (
    CardEvent,
    CardMonitor,
    EventKind,
    PollingPresence,
    connect_probe,
    diff_states,
    wait_for_event,
)
from reader.transport import Transport, open_transport


def slow_card(card_image: Path, read_delay: float):  # type: ignore[no-untyped-def]
    from firmware_sim.card.cardos import CardTiming
    from firmware_sim.card.mynumber import CardOptions, MyNumberCard

    timing = CardTiming(by_ins={Ins.READ_BINARY: read_delay})
    return MyNumberCard.from_image(card_image, CardOptions(timing=timing))


def test_loopback_is_a_transport(card) -> None:  # type: ignore[no-untyped-def]
    transport = LoopbackTransport(card)
    transport.connect()  # the protocol check reads .atr, which needs a connection
    assert isinstance(transport, Transport)
    transport.close()


def test_atr_needs_a_connection(card) -> None:  # type: ignore[no-untyped-def]
    transport = LoopbackTransport(card)
    with pytest.raises(NoCardError):
        _ = transport.atr
    transport.connect()
    assert transport.atr == card.atr
    transport.close()


def test_removed_card_cannot_connect_or_transmit(card) -> None:  # type: ignore[no-untyped-def]
    transport = LoopbackTransport(card)
    transport.connect()
    transport.remove()
    with pytest.raises(CardRemovedError):
        JpkiClient(transport).detect()
    with pytest.raises(NoCardError):
        transport.connect()
    transport.insert()
    transport.connect()
    assert JpkiClient(transport).detect().token == "JPKIAPICCTOKEN2"
    transport.close()


def test_removal_during_a_certificate_read_raises_promptly(card_image: Path) -> None:
    transport = LoopbackTransport(slow_card(card_image, 0.3), extended=False)
    transport.connect()
    threading.Timer(0.1, transport.remove).start()
    start = time.monotonic()
    with pytest.raises(CardRemovedError):
        JpkiClient(transport).read_certificate("auth")
    assert time.monotonic() - start < 1.0
    transport.close()


def test_timeout_raises_reader_timeout(card_image: Path) -> None:
    transport = LoopbackTransport(slow_card(card_image, 0.5))
    transport.connect()
    with pytest.raises(ReaderTimeoutError):
        JpkiClient(transport, timeout=0.1).read_certificate("auth")
    transport.close()


def test_cancel_while_waiting(card_image: Path) -> None:
    transport = LoopbackTransport(slow_card(card_image, 0.5))
    transport.connect()
    cancel = threading.Event()
    threading.Timer(0.1, cancel.set).start()
    start = time.monotonic()
    with pytest.raises(CancelledError):
        JpkiClient(transport).read_certificate("auth", cancel=cancel)
    assert time.monotonic() - start < 0.4
    transport.close()


def test_a_card_that_raises_becomes_a_transport_error() -> None:
    class Broken:
        atr = b"\x3b\x00"

        def power_on(self) -> None: ...

        def power_off(self) -> None: ...

        def process(self, apdu: bytes) -> bytes:
            raise RuntimeError("boom")

    transport = LoopbackTransport(Broken())
    transport.connect()
    with pytest.raises(TransportError, match="boom"):
        transport.transmit(b"\x00\xa4\x04\x00")
    transport.close()


def test_unknown_scheme_is_a_transport_error() -> None:
    with pytest.raises(TransportError, match="unknown reader URL scheme"):
        open_transport("nfc://x")


def test_diff_states() -> None:
    a, b = b"\x3b\x01", b"\x3b\x02"
    assert diff_states({}, {"r": a}) == [CardEvent(EventKind.INSERTED, "r", a)]
    assert diff_states({"r": a}, {"r": None}) == [CardEvent(EventKind.REMOVED, "r")]
    assert diff_states({"r": a}, {"r": b}) == [
        CardEvent(EventKind.REMOVED, "r"),
        CardEvent(EventKind.INSERTED, "r", b),
    ]
    assert diff_states({"r": a}, {"r": a}) == []


def test_polling_monitor_sees_insert_and_remove(card) -> None:  # type: ignore[no-untyped-def]
    transport = LoopbackTransport(card, name="slot")
    events: list[CardEvent] = []
    monitor = CardMonitor(PollingPresence(transport.presence, reader="slot", interval=0.02), step=0.05)
    monitor.add_observer(events.append)
    with monitor:
        inserted = wait_for_event(monitor, lambda e: e.kind is EventKind.REMOVED, 0.05)
        assert inserted is None  # nothing removed yet
        transport.remove()
        assert wait_for_event(monitor, lambda e: e.kind is EventKind.REMOVED, 2.0) is not None
        transport.insert()
        assert wait_for_event(monitor, lambda e: e.kind is EventKind.INSERTED, 2.0) is not None
    assert [e.kind for e in events] == [EventKind.INSERTED, EventKind.REMOVED, EventKind.INSERTED]
    assert events[0].atr == card.atr


def test_monitor_survives_a_failing_observer_and_stops_promptly(card) -> None:  # type: ignore[no-untyped-def]
    transport = LoopbackTransport(card)
    monitor = CardMonitor(PollingPresence(transport.presence, reader="r", interval=0.05), step=0.2)

    def bad(event: CardEvent) -> None:
        raise RuntimeError("observer bug")

    good: list[CardEvent] = []
    monitor.add_observer(bad)
    monitor.add_observer(good.append)
    monitor.start()
    deadline = time.monotonic() + 2
    while not good and time.monotonic() < deadline:
        time.sleep(0.01)
    start = time.monotonic()
    monitor.stop()
    assert time.monotonic() - start < 0.5
    assert good and good[0].kind is EventKind.INSERTED
    assert not any(t.name == "card-monitor" for t in threading.enumerate())


def test_connect_probe_reports_presence_of_an_idle_transport(card) -> None:  # type: ignore[no-untyped-def]
    transport = LoopbackTransport(card)
    probe = connect_probe(transport)
    assert probe() == card.atr
    transport.remove()
    assert probe() is None
    transport.insert()
    assert probe() == card.atr
    transport.close()
