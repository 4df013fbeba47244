"""The virtual My Number card as an ISO/IEC 14443 Type B PICC in the PN532's field.

ISO 14443-3 B: REQB/WUPB (``05 AFI PARAM``) → ATQB ``50 PUPI(4) AppData(4) ProtInfo(3)``,
ATTRIB (``1D PUPI P1 P2 P3 P4 [INF]``) → ``MBLI|CID``, HLTB (``50 PUPI``) → ``00``.
ISO 14443-4 (ISO-DEP) once ACTIVE: I-blocks with chaining both ways, R(ACK)/R(NAK) by the
block-number rules, S(DESELECT), and S(WTX) when an APDU took longer than the frame waiting time.
Frames are passed without CRC_B (the PN532 adds and checks it). ``handle`` returns None when a
real card would stay silent, so the reader sees a timeout.
Defaults follow docs/card.md §1: AppData ``00 00 05 E0``, ProtInfo ``B3 81 A1`` (256-byte
frames, ISO 14443-4, FWI 10 ≈ 309 ms, CID supported).
"""

from __future__ import annotations

import enum
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

log = logging.getLogger(__name__)

FSC_TABLE = (16, 24, 32, 40, 48, 64, 96, 128, 256)
APF = 0x05
ATTRIB_CMD = 0x1D
HLTB_CMD = 0x50
ATQB_CODE = 0x50
CARRIER_HZ = 13.56e6
MAX_APDU = 65544  # extended APDU header + 64 KiB data + Le


class CardLike(Protocol):
    """What the PICC needs from the card OS (firmware_sim.card.mynumber.MyNumberCard fits)."""

    def power_on(self) -> object: ...

    def power_off(self) -> None: ...

    def process(self, apdu: bytes) -> bytes: ...


class PiccState(enum.Enum):
    OFF = "off"  # not in the field / no RF
    IDLE = "idle"
    READY = "ready"
    ACTIVE = "active"
    HALT = "halt"


@dataclass(frozen=True)
class TypeBParams:
    """What the card announces in its ATQB."""

    pupi: bytes = b"\x4d\x59\x4e\x41"
    app_data: bytes = bytes.fromhex("000005E0")
    protocol_info: bytes = bytes.fromhex("B381A1")

    @property
    def fsc(self) -> int:
        """The card's maximum frame size (PCB + INF + CRC) from FSCI."""
        return FSC_TABLE[min(self.protocol_info[1] >> 4, 8)]

    @property
    def fwt(self) -> float:
        """Frame waiting time in seconds: 4096/fc × 2^FWI."""
        return 4096 / CARRIER_HZ * float(1 << (self.protocol_info[2] >> 4))

    @property
    def atqb(self) -> bytes:
        return bytes((ATQB_CODE,)) + self.pupi + self.app_data + self.protocol_info


def random_pupi() -> bytes:
    """A fresh random PUPI, as real cards choose one per activation."""
    return os.urandom(4)


class TypeBCard:
    """One Type B card; ``in_field`` says whether it is on the antenna."""

    def __init__(self, card: CardLike, params: TypeBParams | None = None) -> None:
        self.card = card
        self.params = params or TypeBParams()
        self.in_field = True
        self.state = PiccState.OFF
        self.cid = 0
        self.fsd = 256
        self._bn = 1  # the PICC's current block number
        self._rx_chain = bytearray()
        self._tx_parts: list[bytes] = []
        self._last = b""
        self._pending: bytes | None = None  # I-block held back behind an S(WTX)
        self.wtx_requests = 0

    # --- field -------------------------------------------------------------------------------
    def field_on(self) -> None:
        """The reader's RF is on: a card in the field powers up (state IDLE)."""
        if self.in_field and self.state is PiccState.OFF:
            self.card.power_on()
            self.state = PiccState.IDLE

    def field_off(self) -> None:
        """RF off or card pulled out: the card loses power and all state."""
        if self.state is not PiccState.OFF:
            self.card.power_off()
        self.state = PiccState.OFF
        self._reset_protocol()

    def remove(self) -> None:
        self.in_field = False
        self.field_off()

    def insert(self, rf_on: bool) -> None:
        self.in_field = True
        if rf_on:
            self.field_on()

    def _reset_protocol(self) -> None:
        self._bn = 1
        self._rx_chain.clear()
        self._tx_parts = []
        self._pending = None
        self._last = b""

    # --- ISO 14443-3 -------------------------------------------------------------------------
    def handle(self, frame: bytes) -> bytes | None:
        """The card's answer to one frame (no CRC), or None when it stays silent. Never raises."""
        if not self.in_field or self.state is PiccState.OFF or not frame:
            return None
        try:
            if self.state is PiccState.ACTIVE and frame[0] not in (APF, ATTRIB_CMD):
                answer = self._block(frame)
                return answer if self.in_field else None  # pulled out while it worked
            if frame[0] == APF and len(frame) == 3:
                return self._wakeup(frame)
            if frame[0] == ATTRIB_CMD and len(frame) >= 9:
                return self._attrib(frame)
            if frame[0] == HLTB_CMD and len(frame) == 5 and frame[1:5] == self.params.pupi:
                self.state = PiccState.HALT
                return b"\x00"
        except Exception:  # the card OS failed: a real card would go mute
            log.exception("Type B card failed on a frame")
        return None

    def _wakeup(self, frame: bytes) -> bytes | None:
        afi, wake_all = frame[1], bool(frame[2] & 0x08)
        if afi not in (0x00, self.params.app_data[0]):
            return None
        if self.state is PiccState.IDLE or (wake_all and self.state is PiccState.HALT):
            self.state = PiccState.READY
            return self.params.atqb
        if self.state is PiccState.READY:
            return self.params.atqb
        return None

    def _attrib(self, frame: bytes) -> bytes | None:
        if self.state is not PiccState.READY or frame[1:5] != self.params.pupi:
            return None
        self.fsd = FSC_TABLE[min(frame[6] & 0x0F, 8)]
        self.cid = frame[8] & 0x0F
        self.state = PiccState.ACTIVE
        self._reset_protocol()
        return bytes((self.cid,))  # MBLI 0: no buffer limit announced

    # --- ISO 14443-4 -------------------------------------------------------------------------
    def _block(self, frame: bytes) -> bytes | None:
        pcb = frame[0]
        has_cid = bool(pcb & 0x08)
        if has_cid != bool(self.cid) or (has_cid and (len(frame) < 2 or frame[1] & 0x0F != self.cid)):
            return None  # not addressed to this card
        inf = frame[2:] if has_cid else frame[1:]
        kind = pcb & 0xC0
        if kind == 0x00 and pcb & 0x22 == 0x02:
            return self._i_block(pcb, inf)
        if kind == 0x80 and pcb & 0x26 == 0x22:
            return self._r_block(pcb)
        if kind == 0xC0 and pcb & 0x37 == 0x02:
            self.state = PiccState.HALT  # S(DESELECT)
            return frame[: 2 if has_cid else 1]
        if kind == 0xC0 and pcb & 0x37 == 0x32 and self._pending is not None:
            pending, self._pending = self._pending, None  # S(WTX) response: now the answer
            return self._send(pending)
        return None

    def _i_block(self, pcb: int, inf: bytes) -> bytes | None:
        if pcb & 0x01 != self._bn:
            self._bn ^= 1  # rule D: toggle on a new block number
        self._rx_chain += inf
        if len(self._rx_chain) > MAX_APDU:
            self._rx_chain.clear()
            return None  # a chain no APDU needs: drop it and stay mute
        if pcb & 0x10:
            return self._send(self._pcb(0xA2))  # R(ACK): send the next part
        apdu, self._rx_chain = bytes(self._rx_chain), bytearray()
        start = time.monotonic()
        response = self.card.process(apdu)
        took = time.monotonic() - start
        room = self.fsd - 3 - (1 if self.cid else 0)
        parts = [response[i : i + room] for i in range(0, len(response), room)] or [b""]
        self._tx_parts = parts[1:]
        first = self._pcb(0x12 if self._tx_parts else 0x02) + parts[0]
        if took > self.params.fwt:
            self._pending = first
            self.wtx_requests += 1
            wtxm = min(59, int(took / self.params.fwt) + 1)
            return self._send(self._pcb(0xF2) + bytes((wtxm,)))
        return self._send(first)

    def _r_block(self, pcb: int) -> bytes | None:
        if pcb & 0x01 == self._bn:
            return self._last or None  # rule 11: re-transmit the last block
        if pcb & 0x10:
            return self._send(self._pcb(0xA2))  # rule 12: R(NAK) with the other number → R(ACK)
        if not self._tx_parts:
            return self._send(self._pcb(0xA2))
        self._bn ^= 1  # rule 13: R(ACK) while chaining → the next part
        part = self._tx_parts.pop(0)
        return self._send(self._pcb(0x12 if self._tx_parts else 0x02) + part)

    def _pcb(self, base: int) -> bytes:
        if base & 0xC0 == 0xC0:
            pcb = base | (0x08 if self.cid else 0)
        else:
            pcb = base | self._bn | (0x08 if self.cid else 0)
        return bytes((pcb, self.cid)) if self.cid else bytes((pcb,))

    def _send(self, block: bytes) -> bytes:
        self._last = block
        return block


class DepStatus(enum.IntEnum):
    """PN532 status codes the reader side reports (docs/devices.md §3.6)."""

    OK = 0x00
    TIMEOUT = 0x01
    PROTOCOL = 0x0B


class IsoDepPcd:
    """The PN532 firmware's side of ISO-DEP with one activated card (CID ``cid``, card FSC ``fsc``).

    ``exchange(apdu)`` sends the command in I-blocks (chaining when it exceeds the card's frame
    size) and returns the first part of the answer; while ``more`` is True, ``next_part()`` fetches
    the card's next chained block with R(ACK). A silent card (pulled out) gives TIMEOUT after one
    R(NAK) retry.
    """

    def __init__(self, card: TypeBCard, *, cid: int, fsc: int) -> None:
        self.card, self.cid, self.fsc = card, cid, fsc
        self.pni = 0
        self.more = False
        self.blocks = 0  # frames sent to the card (for fault injection and statistics)
        self.on_block: Callable[[int], None] | None = None

    def _frame(self, pcb: int, inf: bytes = b"") -> bytes:
        return bytes((pcb | 0x08, self.cid)) + inf if self.cid else bytes((pcb,)) + inf

    def _call(self, block: bytes) -> tuple[int, bytes] | None:
        """(PCB, INF) of the card's answer to ``block``; one R(NAK) retry; None when it stays mute."""
        for attempt in range(2):
            self.blocks += 1
            if self.on_block is not None:
                self.on_block(self.blocks)
            answer = self.card.handle(block if attempt == 0 else self._frame(0xB2 | self.pni))
            while answer is not None and answer[0] & 0xF6 == 0xF2:  # S(WTX): grant it
                answer = self.card.handle(answer)
            if answer:
                return answer[0], answer[2:] if self.cid else answer[1:]
        return None

    def exchange(self, apdu: bytes) -> tuple[DepStatus, bytes]:
        room = self.fsc - 3 - (1 if self.cid else 0)
        parts = [apdu[i : i + room] for i in range(0, len(apdu), room)] or [b""]
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            got = self._call(self._frame((0x02 if last else 0x12) | self.pni, part))
            if got is None:
                return DepStatus.TIMEOUT, b""
            pcb, inf = got
            if not last:
                if pcb & 0xF6 != 0xA2 or pcb & 0x01 != self.pni:
                    return DepStatus.PROTOCOL, b""
                self.pni ^= 1
        return self._take(pcb, inf)

    def next_part(self) -> tuple[DepStatus, bytes]:
        if not self.more:
            return DepStatus.OK, b""
        got = self._call(self._frame(0xA2 | self.pni))
        if got is None:
            return DepStatus.TIMEOUT, b""
        return self._take(*got)

    def _take(self, pcb: int, inf: bytes) -> tuple[DepStatus, bytes]:
        if pcb & 0xE2 != 0x02 or pcb & 0x01 != self.pni:
            self.more = False
            return DepStatus.PROTOCOL, b""
        self.pni ^= 1
        self.more = bool(pcb & 0x10)
        return DepStatus.OK, inf

    def presence(self) -> bool:
        """ISO 14443-4 presence check: R(NAK) with the next block number gets an R(ACK) back."""
        answer = self.card.handle(self._frame(0xB2 | self.pni))
        return answer is not None and answer[0] & 0xF6 == 0xA2
