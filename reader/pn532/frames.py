"""PN532 host-interface frames (NXP PN532 User Manual UM0701-02, §6.2): a pure codec, no I/O.

Normal ``00 00 FF LEN LCS TFI PD… DCS 00``, extended ``00 00 FF FF FF LENM LENL LCS TFI PD… DCS 00``,
ACK ``00 00 FF 00 FF 00``, NACK ``00 00 FF FF 00 00``, error frame ``00 00 FF 01 FF 7F 81 00``.
``FrameDecoder`` turns a byte stream into frames and faults; it skips preamble and garbage between
frames and resynchronises on the next start code after a broken frame, so it never raises on input.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from dataclasses import dataclass

PREAMBLE = b"\x00"
START = b"\x00\xff"
SOF = PREAMBLE + START
ACK = bytes.fromhex("0000ff00ff00")
NACK = bytes.fromhex("0000ffff0000")
ERROR_FRAME = bytes.fromhex("0000ff01ff7f8100")
HOST_TFI = 0xD4
CHIP_TFI = 0xD5
ERROR_TFI = 0x7F
NORMAL_MAX = 254  # command/response code + data in a normal frame (LEN ≤ 255 with TFI)
EXTENDED_MAX = 264  # code + data in an extended frame (LEN = 265 with TFI)


class FrameError(ValueError):
    """A frame cannot be built (payload empty or longer than an extended frame carries)."""


class FrameKind(enum.Enum):
    ACK = "ack"
    NACK = "nack"
    ERROR = "error"  # application-level error frame (syntax error)
    INFO = "info"


@dataclass(frozen=True)
class Frame:
    """One decoded frame. For INFO frames ``tfi`` is D4/D5 and ``payload`` is PD0 (the code) + data."""

    kind: FrameKind
    tfi: int = 0
    payload: bytes = b""
    extended: bool = False

    @property
    def code(self) -> int:
        """PD0, the command (or response) code. Raises FrameError for a frame without one."""
        if not self.payload:
            raise FrameError(f"{self.kind.value} frame has no command code")
        return self.payload[0]

    @property
    def data(self) -> bytes:
        return self.payload[1:]


@dataclass(frozen=True)
class FrameFault:
    """A frame that arrived broken: bad LCS/DCS, impossible length, … (the stream resynchronises)."""

    reason: str


def checksum(data: bytes) -> int:
    """The byte that makes ``data`` + it sum to 0 mod 256 (LCS and DCS)."""
    return -sum(data) & 0xFF


def encode(tfi: int, payload: bytes) -> bytes:
    """An information frame; extended when ``payload`` (code + data) exceeds 254 bytes.

    Raises FrameError for an empty payload or one longer than 264 bytes.
    """
    if not payload:
        raise FrameError("an information frame needs a command code")
    if len(payload) > EXTENDED_MAX:
        raise FrameError(f"{len(payload)} bytes do not fit one frame (max {EXTENDED_MAX})")
    body = bytes((tfi,)) + payload
    size = len(body)
    if len(payload) <= NORMAL_MAX:
        head = SOF + bytes((size, checksum(bytes((size,)))))
    else:
        length = size.to_bytes(2, "big")
        head = SOF + b"\xff\xff" + length + bytes((checksum(length),))
    return head + body + bytes((checksum(body), 0))


def command_frame(code: int, data: bytes = b"") -> bytes:
    """Host → PN532: ``D4 code data``. Raises FrameError when too long."""
    return encode(HOST_TFI, bytes((code,)) + data)


def response_frame(code: int, data: bytes = b"") -> bytes:
    """PN532 → host: ``D5 code data`` (``code`` is already command + 1). Raises FrameError when too long."""
    return encode(CHIP_TFI, bytes((code,)) + data)


Item = Frame | FrameFault


class FrameDecoder:
    """Incremental decoder: ``feed(chunk)`` returns every frame (or fault) completed by ``chunk``.

    ``max_payload`` bounds what an information frame may carry; a longer announced length is a
    fault, reported as soon as the header arrives. Never raises.
    """

    def __init__(self, max_payload: int = EXTENDED_MAX) -> None:
        self._buf = bytearray()
        self._max = max_payload
        self.garbage = 0  # bytes skipped that were neither preamble nor part of a frame

    def reset(self) -> None:
        """Forget a partly received frame (the host does this before each command)."""
        self._buf.clear()

    @property
    def pending(self) -> int:
        """How many bytes of an incomplete frame are buffered."""
        return len(self._buf)

    def feed(self, chunk: bytes) -> list[Item]:
        self._buf += chunk
        return list(self._drain())

    def _drain(self) -> Iterator[Item]:
        while True:
            start = self._buf.find(START)
            if start < 0:
                keep = 1 if self._buf[-1:] == PREAMBLE else 0
                self._skip(len(self._buf) - keep)
                return
            self._skip(start)
            item, used = self._parse(bytes(self._buf))
            if item is None:
                return  # incomplete: wait for more bytes
            del self._buf[:used]
            yield item

    def _skip(self, count: int) -> None:
        self.garbage += sum(1 for b in self._buf[:count] if b not in (0x00, 0x55))
        del self._buf[:count]

    def _parse(self, buf: bytes) -> tuple[Item | None, int]:
        """(item, bytes used) for a buffer starting with ``00 FF``; (None, 0) when incomplete."""
        if len(buf) < 4:
            return None, 0
        head = buf[2:4]
        if head == b"\x00\xff":
            return Frame(FrameKind.ACK), 4
        if head == b"\xff\x00":
            return Frame(FrameKind.NACK), 4
        if head == b"\xff\xff":
            return self._parse_extended(buf)
        size, lcs = buf[2], buf[3]
        if (size + lcs) & 0xFF:
            return FrameFault(f"bad LCS {lcs:02X} for LEN {size:02X}"), 2
        return self._parse_body(buf, 4, size, extended=False)

    def _parse_extended(self, buf: bytes) -> tuple[Item | None, int]:
        if len(buf) < 7:
            return None, 0
        if sum(buf[4:7]) & 0xFF:
            return FrameFault(f"bad extended LCS {buf[6]:02X}"), 2
        size = int.from_bytes(buf[4:6], "big")
        return self._parse_body(buf, 7, size, extended=True)

    def _parse_body(self, buf: bytes, at: int, size: int, *, extended: bool) -> tuple[Item | None, int]:
        if size == 0:
            return FrameFault("information frame with LEN 0"), 2
        if size > self._max + 1:
            return FrameFault(f"frame of {size} bytes is longer than {self._max + 1}"), 2
        if len(buf) < at + size + 1:
            return None, 0
        body, dcs = buf[at : at + size], buf[at + size]
        if (sum(body) + dcs) & 0xFF:
            return FrameFault(f"bad DCS {dcs:02X}"), 2
        used = at + size + 1
        if body[0] == ERROR_TFI and size == 1:
            return Frame(FrameKind.ERROR), used
        if size == 1:
            return FrameFault(f"frame with TFI {body[0]:02X} and no command code"), used
        return Frame(FrameKind.INFO, body[0], bytes(body[1:]), extended), used
