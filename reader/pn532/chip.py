"""The NXP PN532 chip behind a UART (HSU): ``Pn532.command(code, data, timeout)`` and the commands the
transport uses.

Three layers, the nfcpy way: ``reader.pn532.link.SerialLink`` (bytes), ``reader.pn532.frames``
(framing), and here the chip (frame out, ACK in, response in; an ACK aborts on timeout or cancel; a
broken response is NACKed for a resend). The My Number card is ISO 14443 Type B: InListPassiveTarget
BrTy 03 (the PN532 sends ATTRIB and runs ISO-DEP itself), InDataExchange with MI chaining both ways for
data beyond one frame.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass

from reader.errors import CancelledError, CardRemovedError, ReaderTimeoutError, TransportError
from reader.pn532.frames import ACK, CHIP_TFI, NACK, Frame, FrameDecoder, FrameFault, FrameKind, command_frame
from reader.pn532.link import SerialLink

log = logging.getLogger(__name__)

WAKE_UP = b"\x55\x55" + bytes(14)  # leaves Low-VBat (libnfc's sequence)
ACK_TIMEOUT = 0.1
ACK_TRIES = 2
NACK_TRIES = 2
MAX_DATA = 262  # InDataExchange data per frame
STEP = 0.02
BRTY_106B = 0x03
SUPPORTS_TYPE_B = 0x02
GONE = {0x01, 0x27, 0x2A, 0x2B}  # timeout, no target, card swapped, card disappeared


class Cmd:
    """PN532 command codes (NXP PN532 User Manual UM0701-02, §7)."""

    DIAGNOSE = 0x00
    GET_FIRMWARE_VERSION = 0x02
    SAM_CONFIGURATION = 0x14
    RF_CONFIGURATION = 0x32
    IN_DATA_EXCHANGE = 0x40
    IN_LIST_PASSIVE_TARGET = 0x4A
    IN_RELEASE = 0x52


class Pn532Error(TransportError):
    """The chip reported an error: ``status`` is its status code (0x7F = error frame)."""

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        super().__init__(f"PN532 status {status:02X}: {message}")


@dataclass(frozen=True)
class TypeBTarget:
    """A Type B card the PN532 activated: its ATQB and ATTRIB answer."""

    atqb: bytes
    attrib_res: bytes

    @property
    def pupi(self) -> bytes:
        return self.atqb[1:5]

    @property
    def atr(self) -> bytes:
        """The ATR a PC/SC reader synthesises (Part 3): ``3B 88 80 01`` + app data, protocol info,
        MBLI, TCK."""
        historical = self.atqb[5:12] + bytes((self.attrib_res[0] & 0xF0 if self.attrib_res else 0,))
        body = b"\x88\x80\x01" + historical
        tck = 0
        for byte in body:
            tck ^= byte
        return b"\x3b" + body + bytes((tck,))


def parse_type_b(data: bytes) -> TypeBTarget | None:
    """The target in an InListPassiveTarget 106B answer (``NbTg Tg ATQB len ATTRIB_RES``), or None.

    Raises TransportError for an answer too short for what it announces.
    """
    if not data or data[0] == 0:
        return None
    if len(data) < 15 or data[2] != 0x50 or len(data) < 15 + data[14]:
        raise TransportError(f"malformed InListPassiveTarget answer ({len(data)} bytes)")
    return TypeBTarget(bytes(data[2:14]), bytes(data[15 : 15 + data[14]]))


class Pn532:
    """The chip behind one serial link; one command at a time (callers hold ``lock``)."""

    def __init__(self, link: SerialLink) -> None:
        self.link = link
        self.lock = threading.RLock()
        self._decoder = FrameDecoder()
        self._items: deque[Frame | FrameFault] = deque()

    def command(
        self,
        code: int,
        data: bytes = b"",
        *,
        timeout: float = 1.0,
        cancel: threading.Event | None = None,
        preamble: bytes = b"",
    ) -> bytes:
        """Run one command; the response data after ``D5 code+1``.

        Raises ReaderTimeoutError (no ACK, or no response in ``timeout`` s: the command is then
        aborted with an ACK), CancelledError (same abort), Pn532Error (error frame), TransportError
        (a response that stays broken after NACKs, a wrong response code, the link failed).
        """
        frame = command_frame(code, data)
        with self.lock:
            self._send_until_ack(preamble + frame, code)
            deadline = time.monotonic() + timeout
            nacks = 0
            while True:
                item = self._next_item(deadline, cancel)
                if item is None:
                    self._abort()
                    if cancel is not None and cancel.is_set():
                        raise CancelledError(f"PN532 command {code:02X} cancelled")
                    raise ReaderTimeoutError(f"PN532: no response to command {code:02X} in {timeout:.2f} s")
                if isinstance(item, FrameFault):
                    nacks += 1
                    log.info("PN532 response broken (%s), NACK %d", item.reason, nacks)
                    if nacks > NACK_TRIES:
                        self._abort()
                        raise TransportError(f"PN532: response to {code:02X} still broken: {item.reason}")
                    self._reset()
                    self.link.write(NACK)
                    continue
                answer = self._check(item, code)
                if answer is not None:
                    return answer

    def _send_until_ack(self, raw: bytes, code: int) -> None:
        for _ in range(ACK_TRIES):
            self._reset()
            self.link.write(raw)
            deadline = time.monotonic() + ACK_TIMEOUT
            while (item := self._next_item(deadline, None)) is not None:
                if isinstance(item, Frame) and item.kind is FrameKind.ACK:
                    return
                if isinstance(item, Frame) and item.kind is FrameKind.ERROR:
                    raise Pn532Error(0x7F, f"error frame for command {code:02X} (syntax error)")
        raise ReaderTimeoutError(f"PN532: no ACK for command {code:02X}")

    def _check(self, item: Frame, code: int) -> bytes | None:
        if item.kind is FrameKind.ERROR:
            raise Pn532Error(0x7F, f"error frame for command {code:02X} (syntax error)")
        if item.kind is not FrameKind.INFO:
            return None  # a repeated ACK or a stray NACK: keep waiting
        if item.tfi != CHIP_TFI or item.code != code + 1:
            raise TransportError(f"PN532: response {item.tfi:02X} {item.code:02X} to command {code:02X}")
        return item.data

    def _next_item(self, deadline: float, cancel: threading.Event | None) -> Frame | FrameFault | None:
        while not self._items:
            if cancel is not None and cancel.is_set():
                return None
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            self._items.extend(self._decoder.feed(self.link.read(min(STEP, remaining))))
        return self._items.popleft()

    def _reset(self) -> None:
        self._decoder.reset()
        self._items.clear()

    def _abort(self) -> None:
        try:
            self.link.write(ACK)
        except TransportError as exc:
            log.debug("abort ACK not sent: %s", exc)
        self._reset()

    # --- commands --------------------------------------------------------------------------
    def wake_up(self) -> None:
        """Wake-up preamble + SAMConfiguration normal mode. Raises like ``command``."""
        self.command(Cmd.SAM_CONFIGURATION, b"\x01", timeout=0.5, preamble=WAKE_UP)

    def firmware_version(self) -> bytes:
        """``IC Ver Rev Support``. Raises like ``command``, TransportError when short."""
        answer = self.command(Cmd.GET_FIRMWARE_VERSION, timeout=0.5)
        if len(answer) != 4:
            raise TransportError(f"PN532: firmware version of {len(answer)} bytes")
        return answer

    def rf_configuration(self, item: int, data: bytes) -> None:
        """RFConfiguration. Raises like ``command``."""
        self.command(Cmd.RF_CONFIGURATION, bytes((item,)) + data, timeout=0.5)

    def list_type_b(self, *, afi: int = 0, timeout: float = 1.0) -> TypeBTarget | None:
        """InListPassiveTarget 1 target, 106 kbps Type B. Raises like ``command``."""
        data = self.command(Cmd.IN_LIST_PASSIVE_TARGET, bytes((1, BRTY_106B, afi)), timeout=timeout)
        return parse_type_b(data)

    def release(self) -> None:
        """InRelease of every target. Raises like ``command``."""
        self.command(Cmd.IN_RELEASE, b"\x00", timeout=0.5)

    def card_present(self) -> bool:
        """Diagnose 06: ISO 14443-4 card presence of the active target. Raises like ``command``."""
        return self.command(Cmd.DIAGNOSE, b"\x06", timeout=0.5)[:1] == b"\x00"

    def data_exchange(self, data: bytes, *, timeout: float, cancel: threading.Event | None = None) -> bytes:
        """Send ``data`` to target 1 and return its whole answer, chaining with MI both ways.

        Raises CardRemovedError (status 01/27/2A/2B), Pn532Error (other status), and what
        ``command`` raises.
        """
        deadline = time.monotonic() + timeout
        parts = [data[i : i + MAX_DATA] for i in range(0, len(data), MAX_DATA)] or [b""]
        for index, part in enumerate(parts):
            more = index < len(parts) - 1
            status, answer = self._exchange_part(bytes((0x41 if more else 0x01,)) + part, deadline, cancel)
        received = bytearray(answer)
        while status & 0x40:
            status, answer = self._exchange_part(b"\x01", deadline, cancel)
            received += answer
        return bytes(received)

    def _exchange_part(
        self, data: bytes, deadline: float, cancel: threading.Event | None
    ) -> tuple[int, bytes]:
        answer = self.command(
            Cmd.IN_DATA_EXCHANGE, data, timeout=max(0.0, deadline - time.monotonic()), cancel=cancel
        )
        if not answer:
            raise TransportError("PN532: InDataExchange answer without a status byte")
        status = answer[0]
        if status & 0x3F in GONE:
            raise CardRemovedError(f"PN532: the card did not answer (status {status & 0x3F:02X})")
        if status & 0x3F or status & 0x80:
            raise Pn532Error(status & 0x3F, "InDataExchange failed")
        return status, answer[1:]
