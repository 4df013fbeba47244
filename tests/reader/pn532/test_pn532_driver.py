"""Pn532Transport against the simulated module over a real pty: activation, faults on the wire,
timeouts with ACK-to-cancel, card removal, presence events; and the chip layer against a scripted
link (exact bytes)."""

from __future__ import annotations

import os
import select
import socket
import threading
import time
import tty

import pytest
from pn532_helpers import ACK, CMD, HEX, PUPI, RSP

from firmware_sim.pn532.module import Pn532Sim
from reader.errors import CancelledError, CardRemovedError, NoCardError, ReaderTimeoutError, TransportError
from reader.monitor import CardMonitor, EventKind, wait_for_event
from reader.pn532.chip import Pn532, Pn532Error
from reader.pn532.presence import Pn532Presence
from reader.pn532.transport import Pn532Transport, open_pn532
from reader.transport import Transport, open_transport

SELECT_JPKI = HEX("00 A4 04 0C 0A D3 92 F0 00 26 01 00 00 00 01")
READ_256 = HEX("00 B0 00 00 00")


@pytest.fixture
def transport(sim: Pn532Sim):  # type: ignore[no-untyped-def]
    t = open_transport(f"pn532://{sim.wire.path}")
    yield t
    t.close()  # type: ignore[attr-defined]


def test_opens_like_libnfc_and_synthesises_the_contactless_atr(
    sim: Pn532Sim, transport: Pn532Transport
) -> None:
    transport.connect()
    assert isinstance(transport, Transport)  # (the protocol check reads .atr: needs a card)
    assert sim.commands[:2] == [0x14, 0x02]  # wake-up + SAMConfiguration first, then the version
    assert transport.firmware == HEX("32 01 06 07")
    assert transport.target is not None and transport.target.pupi == PUPI
    assert transport.atr == HEX("3B 88 80 01 00 00 05 E0 B3 81 A1 00 7F")  # docs/card.md §1, contactless
    assert transport.transmit(SELECT_JPKI) == HEX("90 00")


def test_long_answers_are_chained_with_mi(sim: Pn532Sim, transport: Pn532Transport) -> None:
    transport.connect()
    transport.transmit(SELECT_JPKI)
    transport.transmit(HEX("00 A4 02 0C 02 00 0A"))
    whole = transport.transmit(HEX("00 B0 00 00 00 00 00"))  # extended Le: the whole certificate
    assert whole[-2:] == HEX("90 00") and len(whole) > 1000
    assert transport.transmit(READ_256)[:-2] == whole[:256]
    assert sim.card is not None and sim.card.fsd == 64  # the firmware's own ATTRIB: 64-byte frames


def test_no_card_and_removal_between_commands(sim: Pn532Sim, transport: Pn532Transport) -> None:
    sim.remove_card()
    with pytest.raises(NoCardError):
        transport.connect()
    sim.insert_card()
    transport.connect()
    sim.remove_card()
    with pytest.raises(CardRemovedError):
        transport.transmit(SELECT_JPKI)
    with pytest.raises(NoCardError):
        transport.transmit(SELECT_JPKI)


def test_card_pulled_mid_chain_raises_card_removed_promptly(sim: Pn532Sim, transport: Pn532Transport) -> None:
    transport.connect()
    transport.transmit(SELECT_JPKI)
    transport.transmit(HEX("00 A4 02 0C 02 00 0A"))
    sim.remove_after_blocks = 8  # the card leaves the field after 8 ISO-DEP blocks of the read
    start = time.monotonic()
    with pytest.raises(CardRemovedError):
        transport.transmit(HEX("00 B0 00 00 00 00 00"), timeout=5)
    assert time.monotonic() - start < 1.0
    assert transport.presence() is None
    sim.insert_card()
    assert transport.presence() == HEX("3B 88 80 01 00 00 05 E0 B3 81 A1 00 7F")
    transport.connect()
    assert transport.transmit(SELECT_JPKI) == HEX("90 00")


def test_timeout_aborts_with_ack_and_the_late_answer_is_never_taken(
    sim: Pn532Sim, transport: Pn532Transport
) -> None:
    transport.connect()
    sim.delay = 0.6
    start = time.monotonic()
    with pytest.raises(ReaderTimeoutError):
        transport.transmit(SELECT_JPKI, timeout=0.2)
    assert time.monotonic() - start < 0.5
    sim.delay = 0.0
    time.sleep(0.7)  # the aborted command would have answered by now
    assert transport.transmit(READ_256[:4] + b"\x05") != b""  # a fresh exchange, fresh answer
    assert transport.transmit(SELECT_JPKI) == HEX("90 00")


def test_cancel_event_aborts_the_exchange(sim: Pn532Sim, transport: Pn532Transport) -> None:
    transport.connect()
    sim.delay = 2.0
    cancel = threading.Event()
    threading.Timer(0.1, cancel.set).start()
    start = time.monotonic()
    with pytest.raises(CancelledError):
        transport.transmit(SELECT_JPKI, cancel=cancel)
    assert time.monotonic() - start < 1.0


def test_corrupted_response_is_nacked_and_resent(sim: Pn532Sim, transport: Pn532Transport) -> None:
    transport.connect()
    sim.wire.corrupt_next(1)
    assert transport.transmit(SELECT_JPKI) == HEX("90 00")


def test_response_broken_every_time_is_a_clear_error(sim: Pn532Sim, transport: Pn532Transport) -> None:
    transport.connect()
    sim.wire.corrupt_next(1)
    sim.wire.last_response = sim.wire.last_response[:-2] + b"\x00\x00"  # NACK resends a bad frame too
    original = sim.wire.resend_last
    sim.wire.resend_last = lambda: sim.wire._write(HEX("00 00 FF 02 FE D5 41 00 00"))  # type: ignore[method-assign]
    try:
        with pytest.raises(TransportError, match="still broken"):
            transport.transmit(SELECT_JPKI)
    finally:
        sim.wire.resend_last = original  # type: ignore[method-assign]


def test_dropped_response_times_out(sim: Pn532Sim, transport: Pn532Transport) -> None:
    transport.connect()
    sim.wire.drop_next(1)
    with pytest.raises(ReaderTimeoutError, match="no response"):
        transport.transmit(SELECT_JPKI, timeout=0.3)
    assert transport.transmit(SELECT_JPKI) == HEX("90 00")


def test_silent_module_gives_no_ack(sim: Pn532Sim, transport: Pn532Transport) -> None:
    sim.wire.silent = True
    with pytest.raises(ReaderTimeoutError, match="no ACK"):
        transport.connect()
    sim.wire.silent = False
    transport.connect()


def test_unknown_command_gets_the_error_frame(sim: Pn532Sim) -> None:
    t = open_pn532(f"pn532://{sim.wire.path}")
    t.open()
    with pytest.raises(Pn532Error) as info:
        t.chip.command(0x77, b"")
    assert info.value.status == 0x7F
    t.close()


def test_presence_polling_gives_monitor_events(sim: Pn532Sim) -> None:
    t = open_pn532(f"pn532://{sim.wire.path}?poll=0.05")
    monitor = CardMonitor(Pn532Presence(t))
    with monitor:
        inserted = wait_for_event(monitor, lambda e: e.kind is EventKind.INSERTED, 3)
        assert inserted is not None and inserted.atr == HEX("3B 88 80 01 00 00 05 E0 B3 81 A1 00 7F")
        t.connect()
        t.transmit(SELECT_JPKI)
        sim.remove_card()
        removed = wait_for_event(monitor, lambda e: e.kind is EventKind.REMOVED, 3)
        assert removed is not None and removed.reader == t.name
        sim.insert_card()
        assert wait_for_event(monitor, lambda e: e.kind is EventKind.INSERTED, 3) is not None
    t.close()


def test_real_baud_pacing_costs_wire_time(make_sim) -> None:  # type: ignore[no-untyped-def]
    sim = make_sim(baud=9600)
    t = open_pn532(f"pn532://{sim.wire.path}")
    t.connect()
    t.transmit(SELECT_JPKI)
    t.transmit(HEX("00 A4 02 0C 02 00 0A"))
    start = time.monotonic()
    t.transmit(READ_256)  # 15-byte command, 6-byte ACK, 270-byte extended frame back
    assert time.monotonic() - start >= 291 * 10 / 9600
    t.close()


URLS = [
    ("pn532:///dev/ttyUSB0?baud=9600", "/dev/ttyUSB0", 9600),
    ("pn532+socket://127.0.0.1:7000", "socket://127.0.0.1:7000", 115200),
]


@pytest.mark.parametrize(("url", "link", "baud"), URLS)
def test_urls(url: str, link: str, baud: int) -> None:
    t = open_transport(url)
    assert isinstance(t, Pn532Transport)
    assert t.chip.link.url == link and t.chip.link.baud == baud


@pytest.mark.parametrize("url", ["pn532://", "pn532+socket://", "pn532:///dev/x?baud=fast"])
def test_bad_urls(url: str) -> None:
    with pytest.raises(TransportError):
        open_transport(url)


def test_nothing_listening_on_the_socket_is_a_transport_error() -> None:
    with pytest.raises(TransportError, match="cannot open"):
        open_transport("pn532+socket://127.0.0.1:9").connect()


class ScriptedLink:
    """A byte pipe that answers each write from a script (the nfcpy test style)."""

    def __init__(self, script: list[tuple[bytes, bytes]]) -> None:
        self.script, self.writes, self.pending = script, [], b""

    def write(self, data: bytes) -> None:
        self.writes.append(data)
        if self.script and self.script[0][0] == data:
            self.pending += self.script.pop(0)[1]

    def read(self, timeout: float) -> bytes:
        data, self.pending = self.pending, b""
        if not data:
            time.sleep(min(timeout, 0.005))
        return data


def test_command_exact_bytes_and_ack_to_cancel_on_timeout() -> None:
    link = ScriptedLink([(CMD("02"), ACK() + RSP("03 32 01 06 07")), (CMD("4A 01 03 00"), ACK())])
    chip = Pn532(link)  # type: ignore[arg-type]
    assert chip.firmware_version() == HEX("32 01 06 07")
    with pytest.raises(ReaderTimeoutError):
        chip.list_type_b(timeout=0.1)
    assert link.writes == [CMD("02"), CMD("4A 01 03 00"), ACK()]


def test_chip_status_gone_maps_to_card_removed_and_others_to_pn532_error() -> None:
    link = ScriptedLink(
        [(CMD("40 01 00 A4"), ACK() + RSP("41 2B")), (CMD("40 01 00 A5"), ACK() + RSP("41 02"))]
    )
    chip = Pn532(link)  # type: ignore[arg-type]
    with pytest.raises(CardRemovedError):
        chip.data_exchange(HEX("00 A4"), timeout=1)
    with pytest.raises(Pn532Error) as info:
        chip.data_exchange(HEX("00 A5"), timeout=1)
    assert info.value.status == 0x02


def test_wrong_response_code_is_a_transport_error() -> None:
    chip = Pn532(ScriptedLink([(CMD("02"), ACK() + RSP("05 00"))]))  # type: ignore[arg-type]
    with pytest.raises(TransportError, match="response"):
        chip.firmware_version()


def test_socket_url_reaches_the_module_through_a_tcp_bridge(sim: Pn532Sim) -> None:
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    fd = os.open(sim.wire.path, os.O_RDWR | os.O_NOCTTY)
    tty.setraw(fd)
    stop = threading.Event()

    def bridge() -> None:  # a ser2net-like TCP ↔ serial relay
        conn, _ = server.accept()
        with conn:
            while not stop.is_set():
                ready, _, _ = select.select([conn, fd], [], [], 0.05)
                if conn in ready:
                    data = conn.recv(4096)
                    if not data:
                        return
                    os.write(fd, data)
                if fd in ready:
                    conn.sendall(os.read(fd, 4096))

    thread = threading.Thread(target=bridge, daemon=True)
    thread.start()
    try:
        transport = open_transport(f"pn532+socket://127.0.0.1:{port}")
        transport.connect()
        assert transport.transmit(SELECT_JPKI) == HEX("90 00")
        transport.close()  # type: ignore[attr-defined]
    finally:
        stop.set()
        thread.join(2)
        server.close()
        os.close(fd)
