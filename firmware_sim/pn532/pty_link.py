"""The PN532 simulator's wire: HSU framing on the chip side, served on a pseudo-terminal.

Written apart from ``reader.pn532.frames`` on purpose (the chip mirrors the driver but shares no
framing code with it), so that a framing mistake on one side fails a test instead of cancelling out;
libnfc and nfcpy check this side independently. Everything pty-related lives here: the pty pair, the
optional stable symlink, real-baud pacing (10 bits a byte, both directions), and wire faults
(drop or corrupt the next response, go silent). Every reply starts exactly with ``00 00 FF``.
"""

from __future__ import annotations

import enum
import logging
import os
import select
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from firmware_sim.pty_server import PtyServer

log = logging.getLogger(__name__)
TRAFFIC = 5

ACK = bytes.fromhex("0000ff00ff00")
NACK = bytes.fromhex("0000ffff0000")
ERROR_FRAME = bytes.fromhex("0000ff01ff7f8100")
HOST_TFI, CHIP_TFI = 0xD4, 0xD5
MAX_BODY = 265  # TFI + command code + 263 bytes
PARTIAL_TIMEOUT = 0.5  # a frame that stalls this long is dropped


class WireError(Exception):
    """The pty could not be set up, or ``--link`` names something that is not a symlink."""


class EventKind(enum.Enum):
    COMMAND = "command"  # a well-formed host frame (payload = code + data)
    ACK = "ack"  # host ACK: abort the pending command
    NACK = "nack"  # host NACK: send the last response again
    CHECKSUM = "checksum"  # bad LCS or DCS: ignored (no ACK), the host retries
    SYNTAX = "syntax"  # impossible frame: answered with the error frame


@dataclass(frozen=True)
class WireEvent:
    kind: EventKind
    payload: bytes = b""
    raw_size: int = 0


def _sum8(data: bytes) -> int:
    return -sum(data) & 0xFF


def chip_frame(payload: bytes) -> bytes:
    """``D5 payload`` as a normal or (beyond 254 bytes) extended frame. Raises ValueError if too long."""
    body = bytes((CHIP_TFI,)) + payload
    if len(body) > MAX_BODY:
        raise ValueError(f"response of {len(body)} bytes does not fit a frame")
    if len(body) <= 255:
        head = bytes((0, 0, 0xFF, len(body), _sum8(bytes((len(body),)))))
    else:
        size = len(body).to_bytes(2, "big")
        head = b"\x00\x00\xff\xff\xff" + size + bytes((_sum8(size),))
    return head + body + bytes((_sum8(body), 0))


class HostFrameReader:
    """Chip-side parser of the host's byte stream; ``feed`` returns events and never raises."""

    def __init__(self) -> None:
        self.buf = bytearray()

    def feed(self, chunk: bytes) -> list[WireEvent]:
        self.buf += chunk
        events: list[WireEvent] = []
        while True:
            at = self.buf.find(b"\x00\xff")
            if at < 0:
                del self.buf[: max(0, len(self.buf) - 1)]  # keep a trailing 00 that may start a frame
                return events
            del self.buf[:at]
            event, used = self._one(bytes(self.buf))
            if event is None:
                return events
            del self.buf[:used]
            events.append(event)

    @staticmethod
    def _one(buf: bytes) -> tuple[WireEvent | None, int]:
        if len(buf) < 4:
            return None, 0
        if buf[2:4] == b"\x00\xff":
            return WireEvent(EventKind.ACK), 4
        if buf[2:4] == b"\xff\x00":
            return WireEvent(EventKind.NACK), 4
        at, size = 4, buf[2]
        if buf[2:4] == b"\xff\xff":
            if len(buf) < 7:
                return None, 0
            if sum(buf[4:7]) & 0xFF:
                return WireEvent(EventKind.CHECKSUM), 2
            at, size = 7, int.from_bytes(buf[4:6], "big")
        elif (buf[2] + buf[3]) & 0xFF:
            return WireEvent(EventKind.CHECKSUM), 2
        if size < 2 or size > MAX_BODY:
            return WireEvent(EventKind.SYNTAX), at
        if len(buf) < at + size + 1:
            return None, 0
        body = buf[at : at + size]
        if (sum(body) + buf[at + size]) & 0xFF:
            return WireEvent(EventKind.CHECKSUM), 2
        if body[0] != HOST_TFI:
            return WireEvent(EventKind.SYNTAX), at + size + 1
        return WireEvent(EventKind.COMMAND, bytes(body[1:]), at + size + 2), at + size + 1


class PtyWire(PtyServer):
    """Serves the chip on a pty; ``on_event`` runs on the wire thread for every host event."""

    error = WireError
    thread_name = "pn532-sim-wire"

    def __init__(
        self, on_event: Callable[[WireEvent], None], *, link: Path | None = None, baud: int | None = None
    ) -> None:
        super().__init__(link)
        self._on_event, self.baud = on_event, baud
        self._write_lock = threading.Lock()
        self._fault_lock = threading.Lock()
        self._drop = self._corrupt = 0
        self.silent = False
        self.last_response = b""
        self.bytes_in = self.bytes_out = 0

    def drop_next(self, count: int = 1) -> None:
        with self._fault_lock:
            self._drop += count

    def corrupt_next(self, count: int = 1) -> None:
        with self._fault_lock:
            self._corrupt += count

    # --- sending ---------------------------------------------------------------------------
    def send_ack(self) -> None:
        self._write(ACK)

    def send_error_frame(self) -> None:
        self._write(ERROR_FRAME)

    def send_response(self, payload: bytes) -> None:
        """Send ``D5 payload`` (subject to drop/corrupt faults)."""
        frame = chip_frame(payload)
        self.last_response = frame
        with self._fault_lock:
            if self._drop:
                self._drop -= 1
                log.info("fault: response %02X dropped", payload[0])
                return
            if self._corrupt:
                self._corrupt -= 1
                frame = frame[:-2] + bytes(((frame[-2] + 1) & 0xFF, 0))
                log.info("fault: response %02X sent with a bad DCS", payload[0])
        self._write(frame)

    def resend_last(self) -> None:
        if self.last_response:
            self._write(self.last_response)

    def pace(self, size: int) -> None:
        """Sleep as long as ``size`` bytes take on the wire at the simulated baud rate."""
        if self.baud:
            time.sleep(size * 10 / self.baud)

    def _write(self, data: bytes) -> None:
        if self.silent or self._master < 0:
            return
        with self._write_lock:
            self.pace(len(data))
            try:
                os.write(self._master, data)
                self.bytes_out += len(data)
            except OSError as exc:
                log.debug("write to the pty failed: %s", exc)
        if log.isEnabledFor(TRAFFIC):
            log.log(TRAFFIC, "chip < %d bytes", len(data))

    # --- receiving -------------------------------------------------------------------------
    def _serve(self) -> None:
        reader = HostFrameReader()
        last = time.monotonic()
        while not self._stop.is_set():
            ready, _, _ = select.select([self._master], [], [], 0.05)
            now = time.monotonic()
            if not ready:
                if reader.buf and now - last > PARTIAL_TIMEOUT:
                    if reader.buf.strip(b"\x00"):
                        log.info("dropping %d bytes of a stalled frame", len(reader.buf))
                    reader.buf.clear()
                continue
            try:
                chunk = os.read(self._master, 4096)
            except OSError:  # nobody has the slave open right now
                time.sleep(0.01)
                continue
            last = now
            self.bytes_in += len(chunk)
            for event in reader.feed(chunk):
                self._deliver(event)

    def _deliver(self, event: WireEvent) -> None:
        try:
            self._on_event(event)
        except Exception:  # the chip must outlive any bug in one command
            log.exception("PN532 simulator failed on %s", event.kind.value)
