"""Card benchmarks: APDUs and bytes of the authentication sequence (extended Le vs 256-byte chunks),
the same certificate read by OpenSC (counted at the virtual card), and the per-APDU cost of our stack
(JpkiClient over PcscTransport) against a bare pyscard transmit through the same pcscd + vpcd."""

from __future__ import annotations

import os
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench import AUTH_PIN, Row, make_card
from reader.apdu import CommandApdu, h
from reader.constants import Ins
from reader.jpki import JpkiClient
from reader.loopback import LoopbackTransport
from reader.pcsc import PcscTransport, bare_transmitter, list_readers

ROOT = Path(__file__).resolve().parent.parent
READER = "Virtual PCD 00 00"
PORT = 35963
REPEATS = 400


def auth_sequence(client: JpkiClient) -> None:
    """What the kiosk does with a card: detect, read the auth certificate, PIN status, verify, sign."""
    client.detect()
    client.read_certificate("auth")
    client.pin_status("auth")
    client.verify_pin("auth", AUTH_PIN)
    client.sign_sha256("auth", b"challenge from the center")


class Counter:
    """Counts exchanges at the card (its on_exchange hook)."""

    def __init__(self, card: Any) -> None:
        self.apdus = self.sent = self.received = self.reads = 0
        card.on_exchange = self.exchange

    def exchange(self, command: bytes, response: bytes) -> None:
        self.apdus += 1
        self.sent += len(command)
        self.received += len(response)
        self.reads += command[1] == Ins.READ_BINARY


def sequence_rows(image: Path) -> list[Row]:
    """APDUs and bytes of the auth sequence, extended Le vs 256-byte chunks (loopback)."""
    from firmware_sim.card.mynumber import MyNumberCard

    rows = []
    for extended, label in ((True, "extended Le"), (False, "256-byte chunks")):
        card = MyNumberCard.from_image(image)
        transport = LoopbackTransport(card, extended=extended)
        transport.connect()
        count = Counter(card)
        auth_sequence(JpkiClient(transport))
        transport.close()
        note = f"{count.sent} B to card, {count.received} B back, {count.reads} READ BINARY"
        rows.append(Row(f"auth sequence, {label}", count.apdus, "APDUs", note))
    return rows


def token_rows(directory: Path) -> list[Row]:
    """APDUs of the kiosk's own sequence (kiosk.flow.card.JpkiCard: read, PIN, sign) per token: the card,
    an Android phone (PIN before its certificate), an iPhone (unlocked on the phone, no PIN) (loopback)."""
    import threading

    from firmware_sim.holder import demo_holder
    from firmware_sim.personalise import personalise_card
    from firmware_sim.phone.load import open_device
    from firmware_sim.pki.hierarchy import TestPki
    from kiosk.flow.card import JpkiCard

    rows = []
    for form in ("card", "android", "iphone"):
        path = directory / f"{form}-token.json"
        personalise_card(
            path, pki=TestPki.open(directory / "pki"), holder=demo_holder(), auth_pin=AUTH_PIN, form=form
        )
        device = open_device(path)
        transport = LoopbackTransport(device)
        count = Counter(device)
        kiosk_card, cancel = JpkiCard(transport), threading.Event()
        read = kiosk_card.read(cancel)
        if read.asks_pin:
            kiosk_card.verify_pin(AUTH_PIN, cancel)
        kiosk_card.sign(b"challenge from the center")
        transport.close()
        rows.append(Row(f"kiosk auth sequence, {form}", count.apdus, "APDUs", f"{count.reads} READ BINARY"))
    return rows


def wait_card(present: bool, timeout: float = 5.0) -> None:
    """Wait for pcscd to see the card arrive/leave. Raises RuntimeError on timeout."""
    deadline = time.monotonic() + timeout
    while any(r.name == READER and r.card_present for r in list_readers()) != present:
        if time.monotonic() > deadline:
            raise RuntimeError(f"pcscd did not see the card {'arrive' if present else 'leave'} in {READER}")
        time.sleep(0.02)


@contextmanager
def card_in_vpcd(image: Path) -> Iterator[Any]:
    """The card in READER through vpcd for the duration. Raises RuntimeError."""
    from firmware_sim.card.mynumber import MyNumberCard
    from firmware_sim.vpcd import VpcdBridge

    subprocess.run([str(ROOT / "scripts" / "ensure-pcscd.sh")], check=True, timeout=30)
    card = MyNumberCard.from_image(image)
    bridge = VpcdBridge(card, port=PORT)
    bridge.start()
    try:
        if not bridge.wait_connected(5.0):
            raise RuntimeError(f"vpcd on port {PORT} did not accept the card")
        wait_card(True)
        yield card
    finally:
        bridge.stop()
        wait_card(False)


def opensc_rows(card: Any) -> list[Row]:
    """What pkcs15-tool sends to read the auth certificate, counted at the card."""
    index = str([r.name for r in list_readers()].index(READER))
    rows = []
    for env_extra, label in (({}, "all drivers probe"), ({"OPENSC_DRIVER": "jpki"}, "OPENSC_DRIVER=jpki")):
        count = Counter(card)
        env = dict(os.environ, **env_extra)
        cmd = ["pkcs15-tool", "--reader", index, "--read-certificate", "01"]
        subprocess.run(cmd, check=True, capture_output=True, timeout=60, env=env)
        note = f"{count.reads} READ BINARY, {count.sent} B to card, {count.received} B back"
        rows.append(Row(f"OpenSC auth cert read ({label})", count.apdus, "APDUs", note))
    return rows


def our_cert_read_rows(card: Any) -> list[Row]:
    """What our client sends to read the auth certificate over pcscd."""
    rows = []
    for query, label in (("", "extended Le"), ("?extended=0", "256-byte chunks")):
        transport = PcscTransport(f"pcsc://{READER}{query}")
        transport.connect()
        count = Counter(card)
        JpkiClient(transport).read_certificate("auth")
        transport.close()
        note = f"{count.reads} READ BINARY, {count.sent} B to card, {count.received} B back"
        rows.append(Row(f"our auth cert read ({label})", count.apdus, "APDUs", note))
    return rows


def interleaved(ours: Callable[[], object], bare: Callable[[], object], repeats: int) -> tuple[float, float]:
    """Median seconds of each, measured alternately in the same run."""
    a: list[float] = []
    b: list[float] = []
    for _ in range(repeats):
        for fn, out in ((ours, a), (bare, b)):
            start = time.perf_counter()
            fn()
            out.append(time.perf_counter() - start)
    return statistics.median(a), statistics.median(b)


def timing_rows() -> list[Row]:
    """Per-APDU medians: our stack vs bare pyscard, interleaved in the same run."""
    transport = PcscTransport(f"pcsc://{READER}")
    transport.connect(exclusive=False)  # shared, so that the bare connection can use the card too
    client = JpkiClient(transport)
    client.select_ap()
    select = CommandApdu(0x00, Ins.SELECT, 0x02, 0x0C, h("00 0A"))
    rows = []
    with bare_transmitter(READER, exclusive=False) as bare:
        read = h("00 B0 00 00 00")
        cases: tuple[tuple[str, Callable[[], object], Callable[[], object]], ...] = (
            ("SELECT EF (7 B → 2 B)", lambda: client.call(select), lambda: bare(select.encode())),
            ("READ BINARY 256 B", lambda: client.read_binary(0, 256), lambda: bare(read)),
        )
        for label, ours, plain in cases:
            ours()
            plain()  # warm both paths
            mine, base = interleaved(ours, plain, REPEATS)
            rows.append(Row(f"per APDU, {label}: our stack", mine * 1000, "ms", f"median of {REPEATS}"))
            rows.append(Row(f"per APDU, {label}: bare pyscard", base * 1000, "ms", f"median of {REPEATS}"))
            rows.append(Row(f"per APDU, {label}: ratio ours/bare", mine / base, "x", "same run, interleaved"))
    transport.close()
    return rows


def cert_read_time_rows() -> list[Row]:
    """Wall time of one auth-certificate read over pcscd (the PIN and RSA steps are dominated by the
    simulator's scrypt + fsync and key loading, so they are not timed here)."""
    rows = []
    for query, label in (("", "extended Le"), ("?extended=0", "256-byte chunks")):
        transport = PcscTransport(f"pcsc://{READER}{query}")
        transport.connect()
        client = JpkiClient(transport)
        client.read_certificate_der("auth")
        times = []
        for _ in range(50):
            start = time.perf_counter()
            client.read_certificate_der("auth")
            times.append(time.perf_counter() - start)
        transport.close()
        rows.append(
            Row(
                f"auth cert read over pcscd ({label})",
                statistics.median(times) * 1000,
                "ms",
                "median of 50, AP already selected",
            )
        )
    return rows


def run() -> list[Row]:
    """All card figures. Raises RuntimeError / OSError when pcscd or vpcd are unusable."""
    with tempfile.TemporaryDirectory() as directory:
        image = make_card(Path(directory))
        rows = sequence_rows(image) + token_rows(Path(directory))
        with card_in_vpcd(image) as card:
            rows += our_cert_read_rows(card)
            rows += opensc_rows(card)
            rows += timing_rows()
            rows += cert_read_time_rows()
    return rows
