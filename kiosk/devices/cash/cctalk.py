"""ccTalk framing, checksums, headers and reply parsers (pure: no I/O).

Frames (docs/devices.md §1.2): ``[dest][N][src][header][data × N][checksum]`` with an 8-bit checksum that
makes all bytes sum to 0 mod 256, or the CRC-16 variant ``[dest][N][crc LSB][header][data][crc MSB]``
(CRC-16/XMODEM over dest, N, header, data). A CRC frame carries no source address.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from fractions import Fraction

MIN_FRAME = 5
MAX_DATA = 252  # X6 treats N 253..255 as 252 [docs/devices.md §1.2]; we refuse them outright
EVENT_SLOTS = 5
EVENT_REPLY_LEN = 1 + 2 * EVENT_SLOTS


class CcTalkError(Exception):
    """Base of every ccTalk error (framing, link, device answers)."""


class FrameError(CcTalkError):
    """Bytes that are not a well-formed ccTalk frame (short, bad length, bad checksum, garbage)."""


class ChecksumMode(enum.Enum):
    """How a device protects its frames: the simple 8-bit sum or CRC-16/XMODEM."""

    SIMPLE = "simple"
    CRC16 = "crc16"


class Address(enum.IntEnum):
    """Default bus addresses [docs/devices.md §1.3]. Further hoppers use 4, 5, …"""

    BROADCAST = 0
    HOST = 1
    COIN_ACCEPTOR = 2
    HOPPER = 3
    BILL_VALIDATOR = 40


class Header(enum.IntEnum):
    """ccTalk headers used here [docs/devices.md §1.4]."""

    ACK = 0
    RESET = 1
    NAK = 5
    BUSY = 6
    EMERGENCY_STOP = 172
    DISPENSE_HOPPER_COINS = 167
    REQUEST_HOPPER_STATUS = 166
    ENABLE_HOPPER = 164
    TEST_HOPPER = 163
    REQUEST_CIPHER_KEY = 160
    READ_BUFFERED_BILL_EVENTS = 159
    REQUEST_BILL_ID = 157
    REQUEST_COUNTRY_SCALING = 156
    ROUTE_BILL = 154
    REQUEST_COIN_ID = 184
    READ_BUFFERED_CREDIT = 229
    MODIFY_INHIBIT_STATUS = 231
    REQUEST_INHIBIT_STATUS = 230
    MODIFY_MASTER_INHIBIT = 228
    REQUEST_MASTER_INHIBIT = 227
    REQUEST_SOFTWARE_REVISION = 241
    REQUEST_SERIAL_NUMBER = 242
    REQUEST_PRODUCT_CODE = 244
    REQUEST_EQUIPMENT_CATEGORY = 245
    REQUEST_MANUFACTURER_ID = 246
    SIMPLE_POLL = 254


class RouteCode(enum.IntEnum):
    """Data of header 154 (route bill)."""

    RETURN = 0
    STACK = 1
    HOLD = 255


ROUTE_ESCROW_EMPTY = 254
ROUTE_FAILED = 255
HOPPER_ENABLE_CODE = 165


@dataclass(frozen=True, slots=True)
class Frame:
    """One ccTalk message. ``src`` is None for CRC-16 frames, which carry no source address."""

    dest: int
    header: int
    data: bytes = b""
    src: int | None = Address.HOST

    def __post_init__(self) -> None:
        for name in ("dest", "header"):
            if not 0 <= getattr(self, name) <= 255:
                raise ValueError(f"{name} out of range: {getattr(self, name)}")
        if self.src is not None and not 0 <= self.src <= 255:
            raise ValueError(f"src out of range: {self.src}")
        if len(self.data) > MAX_DATA:
            raise ValueError(f"data too long for one frame: {len(self.data)} bytes (max {MAX_DATA})")


def simple_checksum(body: bytes) -> int:
    """The byte that makes ``body`` + it sum to 0 mod 256."""
    return (-sum(body)) & 0xFF


def crc16_xmodem(data: bytes) -> int:
    """CRC-16/XMODEM: polynomial 0x1021, init 0, no reflection, no final XOR."""
    crc = 0
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def encode(frame: Frame, mode: ChecksumMode = ChecksumMode.SIMPLE) -> bytes:
    """The wire bytes of ``frame``. Raises ValueError for a SIMPLE frame without a source address."""
    n = len(frame.data)
    if mode is ChecksumMode.CRC16:
        crc = crc16_xmodem(bytes((frame.dest, n, frame.header)) + frame.data)
        return bytes((frame.dest, n, crc & 0xFF, frame.header)) + frame.data + bytes((crc >> 8,))
    if frame.src is None:
        raise ValueError("a simple-checksum frame needs a source address")
    body = bytes((frame.dest, n, frame.src, frame.header)) + frame.data
    return body + bytes((simple_checksum(body),))


def frame_length(prefix: bytes) -> int:
    """Total frame length announced by the first two bytes. Raises FrameError if too short or too long."""
    if len(prefix) < 2:
        raise FrameError(f"need 2 bytes to know the frame length, got {len(prefix)}")
    if prefix[1] > MAX_DATA:
        raise FrameError(f"data length {prefix[1]} exceeds {MAX_DATA}")
    return prefix[1] + MIN_FRAME


def decode(raw: bytes, mode: ChecksumMode = ChecksumMode.SIMPLE) -> Frame:
    """Parse one complete frame. Raises FrameError (never anything else) on any malformed input."""
    if len(raw) < MIN_FRAME:
        raise FrameError(f"frame too short: {len(raw)} bytes ({raw.hex(' ')})")
    expected = frame_length(raw)
    if len(raw) != expected:
        raise FrameError(f"frame length {len(raw)} does not match N={raw[1]} (expected {expected})")
    data = bytes(raw[4:-1])
    if mode is ChecksumMode.CRC16:
        got = raw[2] | (raw[-1] << 8)
        want = crc16_xmodem(bytes((raw[0], raw[1], raw[3])) + data)
        if got != want:
            raise FrameError(f"bad CRC {got:04X}, expected {want:04X} ({raw.hex(' ')})")
        return Frame(dest=raw[0], header=raw[3], data=data, src=None)
    if sum(raw) & 0xFF:
        raise FrameError(f"bad checksum ({raw.hex(' ')})")
    return Frame(dest=raw[0], header=raw[3], data=data, src=raw[2])


# --- reply parsers --------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class EventBuffer:
    """A 229/159 reply: the event counter and 5 (A, B) result pairs, newest first."""

    counter: int
    pairs: tuple[tuple[int, int], ...]


def parse_event_buffer(data: bytes) -> EventBuffer:
    """Parse the 11-byte reply of 229 or 159. Raises FrameError if the length is wrong."""
    if len(data) != EVENT_REPLY_LEN:
        raise FrameError(f"event buffer must be {EVENT_REPLY_LEN} bytes, got {len(data)}")
    pairs = tuple((data[1 + 2 * i], data[2 + 2 * i]) for i in range(EVENT_SLOTS))
    return EventBuffer(counter=data[0], pairs=pairs)


def counter_distance(last: int, new: int) -> int:
    """How many events happened from counter ``last`` to ``new`` (both 1..255; 255 is followed by 1)."""
    if new == last:
        return 0
    return new - last if new > last else new + 255 - last


def next_counter(counter: int) -> int:
    """The counter after ``counter``: 0 (reset) → 1, 255 → 1 (0 is never reused)."""
    return 1 if counter >= 255 else counter + 1


def previous_counter(counter: int) -> int:
    """The counter before ``counter`` (1..255): 1 → 255 (0 is never reused)."""
    return 255 if counter <= 1 else counter - 1


@dataclass(frozen=True, slots=True)
class NewEvents:
    """What a fresh event buffer means relative to the last counter the host accepted.

    ``pairs`` are oldest first; ``counters`` the counter value each pair carries; ``lost`` how many
    events fell off the 5-slot buffer unseen; ``reset`` True when the device restarted (counter 0).
    """

    pairs: tuple[tuple[int, int], ...]
    counters: tuple[int, ...]
    lost: int
    reset: bool


def new_events(last: int, buffer: EventBuffer) -> NewEvents:
    """Events in ``buffer`` newer than ``last`` [docs/devices.md §1.5]; a counter of 0 means reset."""
    if buffer.counter == 0:
        return NewEvents(pairs=(), counters=(), lost=0, reset=last != 0)
    if last == 0:  # device was reset since our baseline: everything up to the counter is new
        n = buffer.counter
    else:
        n = counter_distance(last, buffer.counter)
    seen = min(n, EVENT_SLOTS)
    pairs = tuple(buffer.pairs[i] for i in range(seen - 1, -1, -1))
    counters: list[int] = []
    value = buffer.counter
    for _ in range(seen):
        counters.append(value)
        value = previous_counter(value)
    return NewEvents(pairs=pairs, counters=tuple(reversed(counters)), lost=n - seen, reset=False)


def parse_serial_number(data: bytes) -> int:
    """Header 242's 3 bytes, least significant first. Raises FrameError on a wrong length."""
    if len(data) != 3:
        raise FrameError(f"serial number must be 3 bytes, got {len(data)}")
    return int.from_bytes(data, "little")


def parse_ascii(data: bytes) -> str:
    """An ASCII text reply (category, manufacturer, product, ids). Raises FrameError on non-ASCII."""
    try:
        return data.decode("ascii")
    except UnicodeDecodeError as exc:
        raise FrameError(f"expected ASCII text, got {data.hex(' ')}") from exc


_MULTIPLIERS = {
    ".": Fraction(1),
    "m": Fraction(1, 1000),
    "K": Fraction(1000),
    "M": Fraction(10**6),
    "G": Fraction(10**9),
}


def coin_id_value(value: str) -> int | None:
    """Integer value of an id's value field ("100", "2K5" → 2500, "0010"); None if not an integer."""
    if value.isdigit():
        return int(value)
    for mark, mult in _MULTIPLIERS.items():
        whole, _, frac = value.partition(mark)
        if _ and (whole + frac).isdigit():
            amount = (int(whole or "0") + Fraction(int(frac or "0"), 10 ** len(frac))) * mult
            return int(amount) if amount.denominator == 1 else None
    return None


# Coin acceptor error codes (A = 0) and bill validator status codes (A = 0) [docs/devices.md §1.5].
COIN_ERRORS = {
    0: "null event",
    1: "reject coin",
    2: "inhibited coin",
    3: "multiple window",
    4: "wake-up timeout",
    5: "validation timeout",
    6: "credit sensor timeout",
    7: "sorter opto timeout",
    8: "2nd close coin error",
    9: "accept gate not ready",
    10: "credit sensor not ready",
    11: "sorter not ready",
    12: "reject coin not cleared",
    13: "validation sensor not ready",
    14: "credit sensor blocked",
    15: "sorter opto blocked",
    16: "credit sequence error",
    17: "coin going backwards",
    18: "coin too fast (credit sensor)",
    19: "coin too slow (credit sensor)",
    20: "coin-on-string mechanism activated",
    21: "DCE opto timeout",
    22: "DCE opto not seen",
    23: "credit sensor reached too early",
    24: "reject coin (repeated sequential trip)",
    25: "reject slug",
    26: "reject sensor blocked",
    27: "games overload",
    28: "max coin meter pulses exceeded",
    29: "accept gate open not closed",
    30: "accept gate closed not open",
    31: "manifold opto timeout",
    32: "manifold opto blocked",
    33: "manifold not ready",
    34: "security status changed",
    35: "motor exception",
    36: "swallowed coin",
    37: "coin too fast (validation sensor)",
    38: "coin too slow (validation sensor)",
    39: "coin incorrectly sorted",
    40: "external light attack",
    253: "data block request",
    254: "coin return mechanism activated",
    255: "unspecified alarm",
}
COIN_JAM_CODES = frozenset({14, 15, 26, 32})
COIN_FRAUD_CODES = frozenset({17, 20, 25, 34, 40})
COIN_REJECT_CODES = frozenset({1, 2, *range(128, 160)})

BILL_STATUS = {
    0: "master inhibit active",
    1: "bill returned from escrow",
    2: "invalid bill (validation fail)",
    3: "invalid bill (transport problem)",
    4: "inhibited bill (serial)",
    5: "inhibited bill (DIP switches)",
    6: "bill jammed in transport (unsafe mode)",
    7: "bill jammed in stacker",
    8: "bill pulled backwards",
    9: "bill tamper",
    10: "stacker OK",
    11: "stacker removed",
    12: "stacker inserted",
    13: "stacker faulty",
    14: "stacker full",
    15: "stacker jammed",
    16: "bill jammed in transport (safe mode)",
    17: "opto fraud detected",
    18: "string fraud detected",
    19: "anti-string mechanism faulty",
    20: "barcode detected",
    21: "unknown bill type stacked",
}
BILL_RETURNED = 1
BILL_REJECT_CODES = frozenset({0, 2, 3, 4, 5})
BILL_JAM_CODES = frozenset({6, 7, 15, 16})
BILL_FRAUD_CODES = frozenset({8, 9, 17, 18})
BILL_INFO_CODES = frozenset({10, 12})


def coin_error_name(code: int) -> str:
    """Readable name of a coin acceptor error code (unknown codes are kept, not dropped)."""
    if 128 <= code <= 159:
        return f"inhibited coin type {code - 127}"
    return COIN_ERRORS.get(code, f"unknown coin error {code}")


def bill_status_name(code: int) -> str:
    """Readable name of a bill validator status code (unknown codes are kept)."""
    return BILL_STATUS.get(code, f"unknown bill status {code}")


@dataclass(frozen=True, slots=True)
class HopperStatus:
    """Header 166 reply: event counter, coins still to pay, and last payout's paid/unpaid counts."""

    counter: int
    remaining: int
    paid: int
    unpaid: int


def parse_hopper_status(data: bytes) -> HopperStatus:
    """Parse the 4-byte reply of 166. Raises FrameError on a wrong length."""
    if len(data) != 4:
        raise FrameError(f"hopper status must be 4 bytes, got {len(data)}")
    return HopperStatus(counter=data[0], remaining=data[1], paid=data[2], unpaid=data[3])


HOPPER_FLAGS_1 = (
    "absolute max current exceeded",
    "payout timeout",
    "motor reversed to clear a jam",
    "opto fraud: path blocked while idle",
    "opto fraud: short-circuit while idle",
    "opto blocked permanently during payout",
    "power-up detected",
    "payout disabled",
)


def hopper_flag_names(flags: bytes) -> tuple[str, ...]:
    """Names of the set bits of test-hopper (163) register 1; other registers are vendor-specific."""
    if not flags:
        return ()
    return tuple(name for bit, name in enumerate(HOPPER_FLAGS_1) if flags[0] & (1 << bit))
