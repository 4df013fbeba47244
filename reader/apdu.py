"""Command and response APDUs (ISO/IEC 7816-4), short and extended encodings.

Pure data: firmware_sim parses commands with the same code the client builds them with.
"""

from __future__ import annotations

from dataclasses import dataclass

from reader.constants import SW

SHORT_MAX_LC = 255
SHORT_MAX_LE = 256
EXTENDED_MAX_LC = 65535
EXTENDED_MAX_LE = 65536


class ApduFormatError(ValueError):
    """Bytes that are not a well-formed command or response APDU."""


@dataclass(frozen=True, slots=True)
class CommandApdu:
    """A command APDU. ``le`` is the number of bytes expected (0 = none; 256 or 65536 = 'all')."""

    cla: int
    ins: int
    p1: int
    p2: int
    data: bytes = b""
    le: int = 0
    extended: bool = False  # force the extended encoding even when short would do

    def __post_init__(self) -> None:
        for name in ("cla", "ins", "p1", "p2"):
            value = getattr(self, name)
            if not 0 <= value <= 0xFF:
                raise ValueError(f"{name} out of range: {value}")
        if len(self.data) > EXTENDED_MAX_LC:
            raise ValueError(f"data too long for any APDU: {len(self.data)} bytes")
        if not 0 <= self.le <= EXTENDED_MAX_LE:
            raise ValueError(f"Le out of range: {self.le}")

    @property
    def is_extended(self) -> bool:
        """True when this command needs (or asks for) the extended length encoding."""
        return self.extended or len(self.data) > SHORT_MAX_LC or self.le > SHORT_MAX_LE

    def encode(self) -> bytes:
        """The APDU bytes: case 1–4, short or extended as needed."""
        header = bytes((self.cla, self.ins, self.p1, self.p2))
        lc, le = len(self.data), self.le
        if not self.is_extended:
            body = b""
            if lc:
                body += bytes((lc,)) + self.data
            if le:
                body += bytes((le % 256,))
            return header + body
        body = b""
        if lc:
            body += b"\x00" + lc.to_bytes(2, "big") + self.data
        if le:
            le_bytes = (le % 65536).to_bytes(2, "big")
            body += le_bytes if lc else b"\x00" + le_bytes
        return header + body

    @classmethod
    def parse(cls, raw: bytes) -> CommandApdu:
        """Parse command APDU bytes (every ISO case, short and extended).

        Raises ApduFormatError for anything that is not a well-formed APDU.
        """
        if len(raw) < 4:
            raise ApduFormatError(f"APDU shorter than its header: {len(raw)} bytes")
        cla, ins, p1, p2 = raw[0], raw[1], raw[2], raw[3]
        body = raw[4:]
        n = len(body)
        if n == 0:  # case 1
            return cls(cla, ins, p1, p2)
        if n == 1:  # case 2 short
            return cls(cla, ins, p1, p2, le=body[0] or 256)
        if body[0] != 0:  # short case 3 or 4
            lc = body[0]
            if n == 1 + lc:
                return cls(cla, ins, p1, p2, data=bytes(body[1:]))
            if n == 2 + lc:
                return cls(cla, ins, p1, p2, data=bytes(body[1 : 1 + lc]), le=body[-1] or 256)
            raise ApduFormatError(f"Lc={lc} does not match {n - 1} body bytes")
        # body[0] == 0: extended encodings (or a short case 3/4 with Lc=0, which ISO forbids)
        if n == 3:  # case 2 extended
            le = int.from_bytes(body[1:3], "big") or 65536
            return cls(cla, ins, p1, p2, le=le, extended=True)
        if n < 3:
            raise ApduFormatError(f"malformed extended length field ({n} body bytes)")
        lc = int.from_bytes(body[1:3], "big")
        if lc == 0:
            raise ApduFormatError("extended Lc of zero")
        if n == 3 + lc:
            return cls(cla, ins, p1, p2, data=bytes(body[3:]), extended=True)
        if n == 5 + lc:
            le = int.from_bytes(body[-2:], "big") or 65536
            return cls(cla, ins, p1, p2, data=bytes(body[3 : 3 + lc]), le=le, extended=True)
        raise ApduFormatError(f"extended Lc={lc} does not match {n - 3} body bytes")

    def __str__(self) -> str:
        return self.encode().hex(" ").upper()


@dataclass(frozen=True, slots=True)
class ResponseApdu:
    """A response APDU: data followed by SW1 SW2."""

    data: bytes
    sw1: int
    sw2: int

    @property
    def sw(self) -> int:
        return (self.sw1 << 8) | self.sw2

    @property
    def ok(self) -> bool:
        return self.sw == SW.OK

    def encode(self) -> bytes:
        return self.data + bytes((self.sw1, self.sw2))

    @classmethod
    def parse(cls, raw: bytes) -> ResponseApdu:
        """Split response bytes; raises ApduFormatError when there is no status word."""
        if len(raw) < 2:
            raise ApduFormatError(f"response shorter than a status word: {raw.hex()!r}")
        return cls(bytes(raw[:-2]), raw[-2], raw[-1])

    @classmethod
    def status(cls, sw: int, data: bytes = b"") -> ResponseApdu:
        return cls(data, (sw >> 8) & 0xFF, sw & 0xFF)


def h(text: str) -> bytes:
    """Bytes from spaced hex: ``h("00 A4 04 0C")``. For tests and tables."""
    return bytes.fromhex(text.replace(" ", "").replace("\n", ""))
