"""A PN532 (v1.6, HSU) reader module's firmware with a Type B My Number card in its field.

The driver's mirror image (docs/devices.md §3.8): an ACK within milliseconds, then the response; a host
ACK aborts the pending command; a host NACK gets the last response again; bad checksums are
ignored; impossible frames get the error frame. It answers what libnfc and nfcpy send while opening
a device, InListPassiveTarget 106B (the firmware sends WUPB + ATTRIB with CID 1 and FSD 64 itself),
InDataExchange (ISO-DEP done here, MI chaining both ways), InCommunicateThru (raw frames to the card,
nfcpy's path), InAutoPoll, InRelease/InDeselect/InSelect, Diagnose 06 (card presence).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from firmware_sim.pn532.pty_link import EventKind, PtyWire, WireEvent
from firmware_sim.pn532.typeb import DepStatus, IsoDepPcd, TypeBCard

log = logging.getLogger(__name__)
TRAFFIC = 5

FIRMWARE = bytes.fromhex("32010607")  # PN532, v1.6, ISO14443A + B + 18092
MAX_DATA = 262  # InDataExchange data per frame (the chip's buffer)
FSD_INDEX = 5  # the firmware's own ATTRIB asks for 64-byte frames
TARGET_CID = 1
CIU_FIFO_DATA = 0x6339
SENS_REQ = 0x26
BAUDS = (9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600, 1288000)
ST_NO_TARGET = 0x27
ST_INVALID_PARAM = 0x10


class SyntaxErrorFrame(Exception):
    """The command cannot be parsed: answered with the error frame."""


class Pn532Sim:
    """The chip. ``start()`` opens the pty and returns its path."""

    def __init__(self, card: TypeBCard | None, *, link: Path | None = None, baud: int | None = None) -> None:
        self.card = card
        self.wire = PtyWire(self._on_event, link=link, baud=baud)
        self.registers: dict[int, int] = {}
        self.rf_on = False
        self.max_retry_passive = 0xFF
        self.delay = 0.0
        self.commands: list[int] = []  # command codes in arrival order (for tests)
        self.remove_after_blocks: int | None = None
        self._dep: IsoDepPcd | None = None
        self._tx_chain = bytearray()
        self._rx_rest = b""
        self._pending_baud: int | None = None
        self._seq = 0
        self._abort = threading.Event()
        self._lock = threading.Lock()
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pn532-sim")
        self._handlers: dict[int, Callable[[bytes], bytes]] = {
            0x00: self._diagnose,
            0x02: lambda d: FIRMWARE,
            0x04: self._general_status,
            0x06: self._read_register,
            0x08: self._write_register,
            0x10: self._set_baud,
            0x12: lambda d: b"",
            0x14: self._sam_configuration,
            0x16: lambda d: b"\x00",
            0x32: self._rf_configuration,
            0x4A: self._list_passive,
            0x40: self._data_exchange,
            0x42: self._communicate_thru,
            0x44: self._release,
            0x52: self._release,
            0x54: self._select,
            0x60: self._auto_poll,
            0x56: self._no_dep,
            0x46: self._no_dep,
            0x50: self._no_dep,
        }

    # --- life cycle and controls ------------------------------------------------------------
    def start(self) -> str:
        """Serve on a new pty; returns its path. Raises WireError."""
        return self.wire.start()

    def stop(self) -> None:
        """Abort what runs, close the pty (idempotent). Never raises."""
        self._abort.set()
        self.wire.stop()
        self._worker.shutdown(wait=True, cancel_futures=True)

    @property
    def card_present(self) -> bool:
        return self.card is not None and self.card.in_field

    def remove_card(self) -> None:
        """Take the card out of the field."""
        if self.card is not None:
            self.card.remove()

    def insert_card(self) -> None:
        """Put the card back (it powers up if the RF is on)."""
        if self.card is not None:
            self.card.insert(self.rf_on)

    # --- events from the wire ---------------------------------------------------------------
    def _on_event(self, event: WireEvent) -> None:
        if event.kind is EventKind.ACK:
            with self._lock:
                self._seq += 1  # a late answer to the aborted command is not sent
                self._abort.set()
                baud, self._pending_baud = self._pending_baud, None
            if baud and self.wire.baud:
                self.wire.baud = baud
        elif event.kind is EventKind.NACK:
            self.wire.resend_last()
        elif event.kind is EventKind.SYNTAX:
            self.wire.send_error_frame()
        elif event.kind is EventKind.CHECKSUM:
            log.info("host frame with a bad checksum ignored")
        elif not self.wire.silent:
            self.wire.pace(event.raw_size)  # the host's bytes take this long to arrive
            with self._lock:
                self._seq += 1
                seq = self._seq
                self._abort.set()  # a new command replaces one still pending
            self.wire.send_ack()
            self._worker.submit(self._run, seq, event.payload)

    def _run(self, seq: int, payload: bytes) -> None:
        self._abort.clear()
        answer = self.execute(payload)
        if answer is None:
            if self._current(seq):
                self.wire.send_error_frame()
            return
        if self.delay and self._abort.wait(self.delay):
            return
        if self._current(seq):
            self.wire.send_response(answer)

    def execute(self, payload: bytes) -> bytes | None:
        """Run one command (code + data); the response (code + 1 + data), or None when the chip
        answers with the error frame. Never raises."""
        code, data = payload[0], payload[1:]
        self.commands.append(code)
        if log.isEnabledFor(TRAFFIC):
            log.log(TRAFFIC, "command %02X, %d data bytes", code, len(data))
        handler = self._handlers.get(code)
        try:
            if handler is None:
                raise SyntaxErrorFrame(f"unknown command {code:02X}")
            return bytes(((code + 1) & 0xFF,)) + handler(data)
        except (SyntaxErrorFrame, IndexError, ValueError) as exc:
            log.info("error frame for command %02X: %s", code, exc)
            return None

    def _current(self, seq: int) -> bool:
        with self._lock:
            return seq == self._seq and not self._abort.is_set()

    def _hold_for_card(self, timeout: float | None) -> bool:
        """Wait for a card (or the host's abort); True when one is in the field."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self.card_present:
            if self._abort.wait(0.01) or (deadline is not None and time.monotonic() > deadline):
                return False
        return True

    # --- chip housekeeping ------------------------------------------------------------------
    @staticmethod
    def _diagnose_status(ok: bool) -> bytes:
        return b"\x00" if ok else b"\x01"

    def _diagnose(self, data: bytes) -> bytes:
        test = data[0]
        if test == 0x00:
            return data  # communication line test: echo NumTst + InParam
        if test == 0x06:  # ISO 14443-4 card presence
            dep = self._dep
            return self._diagnose_status(dep is not None and dep.presence())
        return b"\x00"

    def _general_status(self, data: bytes) -> bytes:
        target = b"\x01\x00\x00\x03" if self._dep is not None else b""
        return bytes((0, int(self.rf_on), len(target) // 4)) + target + b"\x00"

    def _read_register(self, data: bytes) -> bytes:
        if not data or len(data) % 2:
            raise SyntaxErrorFrame("ReadRegister needs address pairs")
        values = []
        for i in range(0, len(data), 2):
            address = int.from_bytes(data[i : i + 2], "big")
            default = SENS_REQ if address == CIU_FIFO_DATA else 0
            values.append(self.registers.get(address, default))
        return bytes(values)

    def _write_register(self, data: bytes) -> bytes:
        if not data or len(data) % 3:
            raise SyntaxErrorFrame("WriteRegister needs address/value triples")
        for i in range(0, len(data), 3):
            self.registers[int.from_bytes(data[i : i + 2], "big")] = data[i + 2]
        return b""

    def _set_baud(self, data: bytes) -> bytes:
        if data[0] >= len(BAUDS):
            raise SyntaxErrorFrame("unknown baud rate index")
        self._pending_baud = BAUDS[data[0]]  # switched after the host's ACK
        return b""

    def _sam_configuration(self, data: bytes) -> bytes:
        if not 1 <= data[0] <= 4:
            raise SyntaxErrorFrame("SAM mode must be 1..4")
        return b""

    def _rf_configuration(self, data: bytes) -> bytes:
        item = data[0]
        if item == 0x01:
            self._set_rf(bool(data[1] & 0x01))
        elif item == 0x05 and len(data) >= 4:
            self.max_retry_passive = data[3]
        return b""

    def _set_rf(self, on: bool) -> None:
        self.rf_on = on
        if self.card is not None:
            if on:
                self.card.field_on()
            else:
                self.card.field_off()
                self._drop_target()

    def _drop_target(self) -> None:
        self._dep = None
        self._tx_chain.clear()
        self._rx_rest = b""

    # --- initiator commands -----------------------------------------------------------------
    def _activate(self, afi: int) -> bytes | None:
        """WUPB + ATTRIB (CID 1, FSD 64) as the firmware does: ``Tg ATQB len ATTRIB_RES`` or None."""
        if self.card is None or not self.card.in_field:
            return None
        self._set_rf(True)
        atqb = self.card.handle(bytes((0x05, afi, 0x08)))
        if atqb is None or len(atqb) != 12:
            return None
        attrib = b"\x1d" + atqb[1:5] + bytes((0x00, FSD_INDEX, atqb[10] & 0x0F, TARGET_CID))
        answer = self.card.handle(attrib)
        if answer is None:
            return None
        self._drop_target()
        self._dep = IsoDepPcd(self.card, cid=TARGET_CID, fsc=self.card.params.fsc)
        self._dep.on_block = self._count_block
        return b"\x01" + atqb + bytes((len(answer),)) + answer

    def _count_block(self, blocks: int) -> None:
        if self.remove_after_blocks is not None:
            self.remove_after_blocks -= 1
            if self.remove_after_blocks < 0:
                self.remove_after_blocks = None
                self.remove_card()

    def _list_passive(self, data: bytes) -> bytes:
        if not 1 <= data[0] <= 2 or data[1] > 8:
            raise SyntaxErrorFrame("bad MaxTg or BrTy")
        if data[1] != 0x03:
            time.sleep(0.002)
            return b"\x00"
        afi = data[2] if len(data) > 2 else 0
        hold = None if self.max_retry_passive == 0xFF else 0.005 * (self.max_retry_passive + 1)
        if not self._hold_for_card(hold):
            return b"\x00"
        target = self._activate(afi)
        return b"\x01" + target if target else b"\x00"

    def _auto_poll(self, data: bytes) -> bytes:
        poll_nr, period, types = data[0], data[1], data[2:]
        if not types:
            raise SyntaxErrorFrame("InAutoPoll without target types")
        wanted = [t for t in types if t & 0x0F == 0x03]
        hold = None if poll_nr == 0xFF else min(1.0, poll_nr * len(types) * period * 0.15)
        if not wanted or not self._hold_for_card(hold):
            return b"\x00"
        target = self._activate(0)
        return bytes((1, wanted[0], len(target))) + target if target else b"\x00"

    def _data_exchange(self, data: bytes) -> bytes:
        tg, payload = data[0], data[1:]
        if self._dep is None or tg & 0x3F != TARGET_CID:
            return bytes((ST_NO_TARGET,))
        if tg & 0x40:  # the host is chaining a long command
            self._tx_chain += payload
            return b"\x00"
        if not payload and not self._tx_chain and (self._rx_rest or self._dep.more):
            return self._answer_part(b"")
        apdu, self._tx_chain = bytes(self._tx_chain) + payload, bytearray()
        status, first = self._dep.exchange(apdu)
        if status is not DepStatus.OK:
            return bytes((status,))
        return self._answer_part(first)

    def _answer_part(self, first: bytes) -> bytes:
        """Up to MAX_DATA bytes of the card's answer, fetching chained blocks; MI when more follows."""
        assert self._dep is not None
        buffer = self._rx_rest + first
        while len(buffer) <= MAX_DATA and self._dep.more:
            status, part = self._dep.next_part()
            if status is not DepStatus.OK:
                self._rx_rest = b""
                return bytes((status,))
            buffer += part
        self._rx_rest = buffer[MAX_DATA:]
        more = bool(self._rx_rest) or self._dep.more
        return bytes((0x40 if more else 0x00,)) + buffer[:MAX_DATA]

    def _communicate_thru(self, data: bytes) -> bytes:
        if self.card is None or not self.rf_on:
            return b"\x01"
        answer = self.card.handle(data)
        return b"\x01" if answer is None else b"\x00" + answer

    def _release(self, data: bytes) -> bytes:
        if self._dep is not None and data[0] in (0, TARGET_CID) and self.card is not None:
            self.card.handle(bytes((0xCA, TARGET_CID)))  # S(DESELECT)
            self._drop_target()
        return b"\x00"

    def _select(self, data: bytes) -> bytes:
        if data[0] != TARGET_CID:
            return bytes((ST_NO_TARGET,))
        return b"\x00" if self._activate(0) else b"\x01"

    @staticmethod
    def _no_dep(data: bytes) -> bytes:
        time.sleep(0.002)
        return b"\x01"  # no DEP target answers
