"""The cash unit simulator's wire: ccTalk framing on the device side, served on a pseudo-terminal.

The simulator mirrors the kiosk's driver but shares no code with it (firmware_sim does not import
kiosk), so a framing mistake on one side shows up as a failing test instead of cancelling out.
Wire-level fault injection lives here: drop or corrupt the next replies, go silent, echo the host.
"""

from __future__ import annotations

import logging
import os
import select
import threading
import time
from collections.abc import Callable, Collection
from pathlib import Path

from firmware_sim.pty_server import PtyServer

log = logging.getLogger(__name__)
TRAFFIC = 5

HOST = 1
ACK, NAK = 0, 5
INTER_BYTE_GAP = 0.05  # a longer pause resets the receiver [docs/devices.md §1.1]
MAX_DATA = 252

# handler(dest, header, data) -> (reply header, reply data), or None when no device has that address
Handler = Callable[[int, int, bytes], tuple[int, bytes] | None]


class WireError(Exception):
    """The pty could not be set up (or a link path is taken by something that is not a symlink)."""


def checksum8(body: bytes) -> int:
    """The simple ccTalk checksum: makes the frame sum to 0 mod 256."""
    return (256 - sum(body) % 256) % 256


def crc16(data: bytes) -> int:
    """CRC-16/XMODEM (poly 0x1021, init 0)."""
    crc = 0
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = (crc << 1 ^ 0x1021 if crc & 0x8000 else crc << 1) & 0xFFFF
    return crc


def parse_request(raw: bytes, crc: bool) -> tuple[int, int, bytes] | None:
    """(dest, header, data) of a complete host frame, or None when its checksum is wrong."""
    dest, header, data = raw[0], raw[3], bytes(raw[4:-1])
    if crc:
        ok = raw[2] | raw[-1] << 8 == crc16(bytes((dest, raw[1], header)) + data)
    else:
        ok = sum(raw) % 256 == 0
    return (dest, header, data) if ok else None


def build_reply(src: int, header: int, data: bytes, crc: bool) -> bytes:
    """A reply frame from ``src`` to the host."""
    if crc:
        value = crc16(bytes((HOST, len(data), header)) + data)
        return bytes((HOST, len(data), value & 0xFF, header)) + data + bytes((value >> 8,))
    body = bytes((HOST, len(data), src, header)) + data
    return body + bytes((checksum8(body),))


class PtyWire(PtyServer):
    """Serves ccTalk requests arriving on a pty to ``handler``. ``crc_addresses`` use CRC-16 frames."""

    error = WireError
    thread_name = "cash-sim-wire"

    def __init__(
        self,
        handler: Handler,
        *,
        crc_addresses: Collection[int] = (),
        echo: bool = False,
        link: Path | None = None,
    ) -> None:
        super().__init__(link)
        self._handler, self._crc, self.echo = handler, frozenset(crc_addresses), echo
        self._lock = threading.Lock()
        # fault name -> [remaining count, header it applies to (None = any)]
        self._faults: dict[str, list[int | None]] = {}
        self.silent = False
        self.garbage_frames = 0

    def inject(self, fault: str, count: int, header: int | None = None) -> None:
        """Arm a fault for the next ``count`` requests (with ``header``, or any): "drop" processes the
        request and loses the reply; "corrupt" sends the reply with a wrong checksum; "lose" loses
        the request itself (the device never sees it). Raises ValueError for an unknown fault.
        """
        if fault not in ("drop", "corrupt", "lose"):
            raise ValueError(f"unknown wire fault {fault!r}")
        with self._lock:
            self._faults[fault] = [count, header]

    def _take_fault(self, fault: str, header: int) -> bool:
        with self._lock:
            armed = self._faults.get(fault)
            if not armed or not armed[0] or armed[1] not in (None, header):
                return False
            armed[0] -= 1
            return True

    def _serve(self) -> None:
        buf = bytearray()
        last = 0.0
        while not self._stop.is_set():
            ready, _, _ = select.select([self._master], [], [], 0.05)
            if not ready:
                continue
            try:
                chunk = os.read(self._master, 512)
            except OSError:  # no one has the slave open right now
                time.sleep(0.01)
                continue
            now = time.monotonic()
            if buf and now - last > INTER_BYTE_GAP:
                buf.clear()  # the host paused mid-frame: start over, as a device does
            last = now
            if self.echo:
                self._write(chunk)
            buf += chunk
            self._take_frames(buf)

    def _take_frames(self, buf: bytearray) -> None:
        while len(buf) >= 2:
            if buf[1] > MAX_DATA:
                self.garbage_frames += 1
                buf.clear()
                return
            total = buf[1] + 5
            if len(buf) < total:
                return
            raw = bytes(buf[:total])
            del buf[:total]
            self._answer(raw)

    def _answer(self, raw: bytes) -> None:
        log.log(TRAFFIC, "sim < %s", raw.hex(" "))
        crc = raw[0] in self._crc
        request = parse_request(raw, crc)
        if request is None:
            self.garbage_frames += 1  # bad checksum: stay silent, the host times out
            return
        if self.silent:
            return
        dest, header, data = request
        if self._take_fault("lose", header):
            return
        answer = self._handler(dest, header, data)
        if answer is None or self._take_fault("drop", header):
            return
        reply = build_reply(dest, answer[0], answer[1], crc)
        if self._take_fault("corrupt", header):
            reply = reply[:-1] + bytes(((reply[-1] + 1) % 256,))
        self._write(reply)

    def _write(self, data: bytes) -> None:
        log.log(TRAFFIC, "sim > %s", data.hex(" "))
        try:
            os.write(self._master, data)
        except OSError as exc:
            log.debug("pty write failed: %s", exc)
