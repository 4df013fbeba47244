"""The virtual card through the real stack: pyscard → pcscd → vpcd → VpcdBridge (reader 1, port 35964)."""

from __future__ import annotations

import hashlib
import logging
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from card_helpers import AUTH_PIN, SELECT_JPKI
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from smartcard.CardConnection import CardConnection
from smartcard.Exceptions import CardConnectionException, NoCardException
from smartcard.System import readers

from firmware_sim.card.mynumber import MyNumberCard
from firmware_sim.vpcd import VpcdBridge
from reader.apdu import CommandApdu, h
from reader.constants import SHA256_DIGESTINFO_PREFIX

pytestmark = pytest.mark.pcsc
READER = "Virtual PCD 00 01"
PORT = 35964
log = logging.getLogger(__name__)


def _reader():  # type: ignore[no-untyped-def]
    found = [r for r in readers() if str(r) == READER]
    assert found, f"pcscd has no reader {READER!r} (is pcscd running with vpcd?)"
    return found[0]


def try_connect() -> CardConnection | None:
    """A connection to the card, or None when pcscd says there is no card."""
    conn = _reader().createConnection()
    try:
        conn.connect()
    except (NoCardException, CardConnectionException):
        return None
    return conn


def wait_for(predicate: Callable[[], bool], timeout: float) -> float | None:
    """Seconds until ``predicate()`` held, or None on timeout."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if predicate():
            return time.monotonic() - start
        time.sleep(0.02)
    return None


def card_absent() -> bool:
    conn = try_connect()
    if conn is None:
        return True
    conn.disconnect()
    return False


def connect(timeout: float = 3.0) -> CardConnection:
    box: list[CardConnection] = []

    def attempt() -> bool:
        conn = try_connect()
        if conn is not None:
            box.append(conn)
        return bool(box)

    assert wait_for(attempt, timeout) is not None, "pcscd never saw the card"
    return box[0]


def send(conn: CardConnection, apdu: str | bytes) -> tuple[bytes, int]:
    raw = h(apdu) if isinstance(apdu, str) else apdu
    data, sw1, sw2 = conn.transmit(list(raw))
    return bytes(data), (sw1 << 8) | sw2


@pytest.fixture
def bridge(image_path: Path) -> Iterator[VpcdBridge]:
    b = VpcdBridge(MyNumberCard.from_image(image_path), "127.0.0.1", PORT)
    b.start()
    assert b.wait_connected(3), "vpcd on 35964 never talked to the card"
    yield b
    b.stop()
    assert wait_for(card_absent, 2) is not None  # leave the reader empty for the next test


@pytest.fixture
def conn(bridge: VpcdBridge) -> Iterator[CardConnection]:
    c = connect()
    yield c
    try:
        c.disconnect()
    except CardConnectionException:
        pass


def test_select_and_read_auth_cert_short_and_extended(
    bridge: VpcdBridge, conn: CardConnection, certs: dict[int, bytes]
) -> None:
    cert = certs[0x000A]
    assert bytes(conn.getATR()) == bridge.card.atr
    assert send(conn, "00 A4 04 0C 0A D3 92 F0 00 26 01 00 00 00 02") == (b"", 0x6A82)
    assert send(conn, SELECT_JPKI) == (b"", 0x9000)
    assert send(conn, "00 A4 02 0C 02 00 0A") == (b"", 0x9000)
    head, status = send(conn, "00 B0 00 00 04")
    assert status == 0x9000
    size = int.from_bytes(head[2:4], "big") + 4
    rest, status = send(conn, CommandApdu(0, 0xB0, 0, 4, le=size - 4, extended=True).encode())
    assert status == 0x9000 and head + rest == cert
    chunks = b""
    while len(chunks) < size:
        data, status = send(conn, CommandApdu(0, 0xB0, len(chunks) >> 8, len(chunks) & 0xFF, le=256).encode())
        assert status == 0x9000
        chunks += data
    assert chunks == cert
    whole, status = send(conn, "00 B0 00 00 00 00 00")  # extended Le 65536
    assert (whole, status) == (cert, 0x9000)


def test_verify_and_sign_through_pcscd(conn: CardConnection, certs: dict[int, bytes]) -> None:
    send(conn, SELECT_JPKI)
    send(conn, "00 A4 02 0C 02 00 18")
    assert send(conn, "00 20 00 80") == (b"", 0x63C3)
    assert send(conn, b"\x00\x20\x00\x80\x04" + AUTH_PIN.encode()) == (b"", 0x9000)
    send(conn, "00 A4 02 0C 02 00 17")
    digest = hashlib.sha256(b"challenge").digest()
    apdu = CommandApdu(0x80, 0x2A, 0x00, 0x80, data=SHA256_DIGESTINFO_PREFIX + digest, le=256).encode()
    signature, status = send(conn, apdu)
    assert status == 0x9000 and len(signature) == 256
    key = x509.load_der_x509_certificate(certs[0x000A]).public_key()
    assert isinstance(key, rsa.RSAPublicKey)
    key.verify(signature, b"challenge", padding.PKCS1v15(), hashes.SHA256())


def test_remove_and_reinsert(bridge: VpcdBridge, conn: CardConnection) -> None:
    assert send(conn, SELECT_JPKI) == (b"", 0x9000)
    bridge.remove()
    with pytest.raises(CardConnectionException):
        send(conn, SELECT_JPKI)
    conn.disconnect()
    assert wait_for(card_absent, 1.0) is not None, "pcscd still sees the card 1 s after removal"
    bridge.insert()
    again = connect(3.0)
    try:
        assert send(again, SELECT_JPKI) == (b"", 0x9000)
        # power-off on removal cleared the security state: VERIFY state is gone, counters are not
        assert send(again, "00 20 00 98") == (b"", 0x63C3)
    finally:
        again.disconnect()


def test_tolerates_atr_polling_while_idle(bridge: VpcdBridge, conn: CardConnection) -> None:
    time.sleep(1.0)  # pcscd asks for the ATR every 400 ms meanwhile
    assert bridge.connected.is_set()
    assert send(conn, SELECT_JPKI) == (b"", 0x9000)


def test_latency_of_small_apdus(conn: CardConnection) -> None:
    send(conn, SELECT_JPKI)
    send(conn, "00 A4 02 0C 02 00 0A")
    apdu = list(h("00 B0 00 00 04"))
    times = []
    for _ in range(200):
        start = time.perf_counter()
        conn.transmit(apdu)
        times.append(time.perf_counter() - start)
    median_ms = statistics.median(times) * 1000
    log.warning("pcscd+vpcd median per small APDU: %.3f ms", median_ms)
    print(f"median per small APDU through pcscd+vpcd: {median_ms:.3f} ms")
    assert median_ms < 10, "delayed-ACK trap? (~44 ms per APDU without TCP_QUICKACK)"


# --- the CLI as a subprocess ----------------------------------------------------------------------
def _read_line(proc: subprocess.Popen[str], timeout: float) -> str:
    box: list[str] = []
    reader = threading.Thread(target=lambda: box.append(proc.stdout.readline() if proc.stdout else ""))
    reader.start()
    reader.join(timeout)
    assert box, "no line from firmware-sim vpcd"
    return box[0].strip()


def test_vpcd_cli_signals(image_path: Path) -> None:
    cmd = [sys.executable, "-m", "firmware_sim.cli.main", "vpcd", str(image_path), "--reader-index", "1"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert _read_line(proc, 5) == f"inserted {image_path} into vpcd 127.0.0.1:{PORT}"
        first = connect()
        assert send(first, SELECT_JPKI) == (b"", 0x9000)
        first.disconnect()
        os.kill(proc.pid, signal.SIGUSR1)
        assert _read_line(proc, 3) == f"removed {image_path} from vpcd 127.0.0.1:{PORT}"
        assert wait_for(card_absent, 1.5) is not None
        os.kill(proc.pid, signal.SIGUSR2)
        assert _read_line(proc, 5).startswith("inserted ")
        second = connect()
        assert send(second, SELECT_JPKI) == (b"", 0x9000)
        second.disconnect()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=5) == 0
        assert _read_line(proc, 1).startswith("removed ")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout:
            proc.stdout.close()
        if proc.stderr:
            proc.stderr.close()
    assert wait_for(card_absent, 2) is not None
