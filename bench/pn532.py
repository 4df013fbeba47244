"""PN532 benchmarks: the kiosk's authentication sequence (detect, read the auth certificate, PIN
status, verify, sign) over a simulated PN532 module on a pty paced like a real 115200-baud 8N1
UART, beside the same sequence unpaced and over loopback, and the physical floor (bytes on the
wire ÷ baud rate)."""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench import AUTH_PIN, Row, make_card
from reader.jpki import JpkiClient
from reader.loopback import LoopbackTransport
from reader.pn532.transport import Pn532Transport, open_pn532
from reader.transport import Transport

BAUD = 115200
BITS_PER_BYTE = 10  # 8N1: start + 8 data + stop
REPEATS = 5


def auth_sequence(transport: Transport) -> None:
    client = JpkiClient(transport)
    client.detect()
    client.read_certificate("auth")
    client.pin_status("auth")
    client.verify_pin("auth", AUTH_PIN)
    client.sign_sha256("auth", b"challenge from the center")


def timed(run: Callable[[], None]) -> float:
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def pn532_rows(image: Path, baud: int | None, extended: bool) -> tuple[float, int, int]:
    """(median seconds of one sequence incl. activation, bytes host→chip, bytes chip→host)."""
    from firmware_sim.card.mynumber import MyNumberCard
    from firmware_sim.pn532.module import Pn532Sim
    from firmware_sim.pn532.typeb import TypeBCard

    sim = Pn532Sim(TypeBCard(MyNumberCard.from_image(image)), baud=baud)
    transport: Pn532Transport = open_pn532(f"pn532://{sim.start()}?extended={int(extended)}")
    try:
        transport.open()
        link = transport.chip.link

        def once() -> None:
            transport.connect()
            auth_sequence(transport)
            transport.disconnect()

        once()  # warm up; count the bytes of exactly one sequence next
        link.bytes_in = link.bytes_out = 0
        once()
        sent, received = link.bytes_out, link.bytes_in
        return timed(once), sent, received
    finally:
        transport.close()
        sim.stop()


def loopback_seconds(image: Path) -> float:
    from firmware_sim.card.mynumber import MyNumberCard

    transport = LoopbackTransport(MyNumberCard.from_image(image))

    def once() -> None:
        transport.connect()
        auth_sequence(transport)
        transport.disconnect()

    try:
        return timed(once)
    finally:
        transport.close()


def run() -> list[Row]:
    with tempfile.TemporaryDirectory() as tmp:
        image = make_card(Path(tmp))
        rows = []
        for extended, label in ((True, "extended Le"), (False, "256-byte reads")):
            paced, sent, received = pn532_rows(image, BAUD, extended)
            floor = (sent + received) * BITS_PER_BYTE / BAUD
            unpaced, _, _ = pn532_rows(image, None, extended)
            note = f"{sent} B to the chip, {received} B back"
            rows += [
                Row(f"PN532 {BAUD} baud, {label}", paced * 1000, "ms", "paced pty, incl. activation"),
                Row(f"  wire floor, {label}", floor * 1000, "ms", note),
                Row(f"  PN532 pty unpaced, {label}", unpaced * 1000, "ms", "software cost of both sides"),
            ]
        rows.append(Row("loopback (in-process card)", loopback_seconds(image) * 1000, "ms", "no reader"))
        return rows
