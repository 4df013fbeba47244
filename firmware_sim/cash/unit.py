"""Device side of the kiosk's ccTalk cash unit: a coin acceptor (address 2), a bill validator with escrow
(40) and single-coin hoppers (3, 4, …), with event buffers and counters as in docs/devices.md §1.5.

``CashUnitSim`` is the control API (insert coins and notes, jam, empty a hopper, drop or corrupt the
next reply, go silent, power-cycle); ``cash_serial.PtyWire`` puts it on a pseudo-terminal.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from firmware_sim.cash.serial_link import ACK, NAK, PtyWire

COIN_IDS = {1: (10, "JP010A"), 2: (50, "JP050A"), 3: (100, "JP100A"), 4: (500, "JP500A")}
BILL_SCALE = 10  # bill ids carry value / 10, so 10000 fits the 4-digit field
BILL_IDS = {1: (1000, "JP0100A"), 2: (2000, "JP0200A"), 3: (5000, "JP0500A"), 4: (10000, "JP1000A")}
HOPPER_ENABLE = 165


class SimError(ValueError):
    """A control command the simulated unit cannot do (unknown coin, no such hopper, …)."""


class EventRing:
    """The 5-slot event buffer, newest first, and its counter (0 only after reset; 255 → 1)."""

    def __init__(self) -> None:
        self.counter = 0
        self.slots: deque[tuple[int, int]] = deque(maxlen=5)

    def push(self, a: int, b: int) -> None:
        """Record one event."""
        self.counter = 1 if self.counter >= 255 else self.counter + 1
        self.slots.appendleft((a, b))

    def encode(self) -> bytes:
        """The 11-byte answer to 229 / 159."""
        pairs = list(self.slots) + [(0, 0)] * (5 - len(self.slots))
        return bytes([self.counter, *(x for pair in pairs for x in pair)])


class DeviceSim:
    """Headers every device answers; subclasses add their own in ``specific``."""

    category = "Unknown"
    product = "SIM"

    def __init__(self, address: int, serial_number: int) -> None:
        self.address, self.serial_number = address, serial_number
        self.reset()

    def reset(self) -> None:
        """Power-up state."""

    def handle(self, header: int, data: bytes) -> tuple[int, bytes]:
        """Answer one request: (ACK, data) or (NAK, b"")."""
        text = {245: self.category, 246: "myna-sim", 244: self.product, 241: "sim-1.0"}
        if header == 254:
            return ACK, b""
        if header in text:
            return ACK, text[header].encode("ascii")
        if header == 242:
            return ACK, self.serial_number.to_bytes(3, "little")
        if header == 1:
            self.reset()
            return ACK, b""
        return self.specific(header, data)

    def specific(self, header: int, data: bytes) -> tuple[int, bytes]:
        """Device-specific headers; unknown ones are NAKed."""
        return NAK, b""


class AcceptorSim(DeviceSim):
    """What coin acceptors and bill validators share: inhibits, master inhibit, event ring, watchdog."""

    def __init__(self, address: int, serial_number: int, watchdog: float | None) -> None:
        self.watchdog = watchdog
        super().__init__(address, serial_number)

    def reset(self) -> None:
        """All positions inhibited, master inhibited, counter 0, not polled yet."""
        self.ring = EventRing()
        self.mask = 0
        self.master = False
        self.jammed = False
        self.last_poll: float | None = None

    def polled_recently(self) -> bool:
        """False when the host has not polled within the watchdog time (the device disables itself)."""
        if self.watchdog is None:
            return True
        return self.last_poll is not None and time.monotonic() - self.last_poll <= self.watchdog

    def common(self, header: int, data: bytes, poll_header: int) -> tuple[int, bytes] | None:
        if header == poll_header:
            self.last_poll = time.monotonic()
            return ACK, self.ring.encode()
        if header == 231 and len(data) == 2:
            self.mask = int.from_bytes(data, "little")
            return ACK, b""
        if header == 230:
            return ACK, self.mask.to_bytes(2, "little")
        if header == 228 and len(data) == 1:
            self.master = bool(data[0] & 1)
            return ACK, b""
        if header == 227:
            return ACK, bytes((int(self.master),))
        return None

    def enabled(self, position: int) -> bool:
        """Position 1..16 enabled by the host's inhibit mask."""
        return bool(self.mask >> (position - 1) & 1)


class CoinAcceptorSim(AcceptorSim):
    """Coin positions 1..4 = 10, 50, 100, 500 yen; coins go to the cashbox via sorter path 1."""

    category, product = "Coin Acceptor", "SIM-COIN"

    def __init__(self, address: int = 2, serial_number: int = 0x0A0B01, watchdog: float | None = 1.0) -> None:
        self.cashbox: list[int] = []
        super().__init__(address, serial_number, watchdog)

    def specific(self, header: int, data: bytes) -> tuple[int, bytes]:
        answer = self.common(header, data, 229)
        if answer is not None:
            return answer
        if header == 184 and len(data) == 1:
            return ACK, COIN_IDS.get(data[0], (0, "......"))[1].encode("ascii")
        return NAK, b""

    def insert(self, yen: int) -> str:
        """A coin drops in; returns what happened ("credit", "rejected: …")."""
        position = next((p for p, (v, _) in COIN_IDS.items() if v == yen), None)
        if self.jammed or not self.polled_recently():
            return "rejected: not accepting (jammed or not polled)"  # no event, as on a real acceptor
        if position is None:
            self.ring.push(0, 1)
            return "rejected: unknown coin"
        if not self.master:
            self.ring.push(0, 2)
            return "rejected: master inhibit"
        if not self.enabled(position):
            self.ring.push(0, 127 + position)
            return "rejected: inhibited"
        self.ring.push(position, 1)
        self.cashbox.append(yen)
        return "credit"


class BillValidatorSim(AcceptorSim):
    """Note types 1..4 = 1000, 2000, 5000, 10000 yen, always through escrow (stack or return on 154)."""

    category, product = "Bill Validator", "SIM-NOTE"

    def __init__(self, address: int = 40, serial_number: int = 0x0A0B28, watchdog: float | None = 5) -> None:
        self.stacked: list[int] = []
        self.returned: list[int] = []
        self.escrow = 0  # note type held in escrow, 0 = empty
        super().__init__(address, serial_number, watchdog)

    def reset(self) -> None:
        """Power-up state; a note in escrow goes back to the customer."""
        if self.escrow:
            self.returned.append(BILL_IDS[self.escrow][0])
        super().reset()
        self.escrow = 0

    def specific(self, header: int, data: bytes) -> tuple[int, bytes]:
        answer = self.common(header, data, 159)
        if answer is not None:
            return answer
        if header == 157 and len(data) == 1:
            return ACK, BILL_IDS.get(data[0], (0, "......."))[1].encode("ascii")
        if header == 156 and data == b"JP":
            return ACK, bytes((BILL_SCALE, 0, 0))
        if header == 154 and len(data) == 1:
            return ACK, self.route(data[0])
        return NAK, b""

    def route(self, code: int) -> bytes:
        if not self.escrow:
            return b"\xfe"
        if code == 1:
            self.ring.push(self.escrow, 0)
            self.stacked.append(BILL_IDS[self.escrow][0])
            self.escrow = 0
        elif code == 0:
            self.ring.push(0, 1)
            self.returned.append(BILL_IDS[self.escrow][0])
            self.escrow = 0
        return b""

    def insert(self, yen: int) -> str:
        """A note goes in; returns what happened ("escrow", "rejected: …")."""
        position = next((p for p, (v, _) in BILL_IDS.items() if v == yen), None)
        if self.jammed or self.escrow:
            return "rejected: not accepting (jammed or escrow occupied)"
        if position is None:
            self.ring.push(0, 2)
            return "rejected: invalid note"
        if not self.polled_recently():
            self.master = False  # not polled for too long: the validator disables itself until 228
        if not self.master:
            self.ring.push(0, 0)
            return "rejected: master inhibit"
        if not self.enabled(position):
            self.ring.push(0, 4)
            return "rejected: inhibited"
        self.escrow = position
        self.ring.push(position, 1)
        return "escrow"


class HopperSim(DeviceSim):
    """A single-coin hopper; dispense (167, cipher-less "ITA serial" form) pays one coin per interval."""

    category, product = "Payout", "SIM-HOPPER"

    def __init__(self, address: int, coin_yen: int, stock: int, coin_interval: float = 0.01) -> None:
        self.coin_yen, self.stock, self.coin_interval = coin_yen, stock, coin_interval
        self.jam_after: int | None = None
        self.total_paid = 0
        super().__init__(address, 0x0B0000 + address)

    def reset(self) -> None:
        """Disabled, counter 0, no payout in progress."""
        self.enabled = False
        self.counter = 0
        self.remaining = self.paid = self.unpaid = 0
        self.flags = 0
        self.started = 0.0

    def specific(self, header: int, data: bytes) -> tuple[int, bytes]:
        self.advance()
        if header == 164 and len(data) == 1:
            self.enabled = data[0] == HOPPER_ENABLE
            return ACK, b""
        if header == 166:
            return ACK, bytes((self.counter, self.remaining, self.paid, self.unpaid))
        if header == 167:
            return self.dispense(data)
        if header == 163:
            return ACK, bytes((self.flags | (0 if self.enabled else 0x80), 0, 0))
        if header == 172:
            self.unpaid, self.remaining = self.unpaid + self.remaining, 0
            return ACK, bytes((self.unpaid,))
        return NAK, b""

    def dispense(self, data: bytes) -> tuple[int, bytes]:
        if len(data) != 4 or int.from_bytes(data[:3], "little") != self.serial_number:
            return NAK, b""
        if not self.enabled or self.remaining or data[3] == 0:
            return NAK, b""
        self.counter = 1 if self.counter >= 255 else self.counter + 1
        self.remaining, self.paid, self.unpaid, self.flags = data[3], 0, 0, 0
        self.started = time.monotonic()
        return ACK, bytes((self.counter,))

    def advance(self) -> None:
        """Pay the coins whose time has come; stop with unpaid > 0 when empty or jammed."""
        if not self.remaining:
            return
        elapsed = time.monotonic() - self.started
        due = self.paid + self.remaining if self.coin_interval <= 0 else int(elapsed / self.coin_interval)
        while self.remaining and self.paid < due:
            if self.stock == 0 or (self.jam_after is not None and self.paid >= self.jam_after):
                self.flags |= 0x02 if self.stock == 0 else 0x20  # payout timeout / opto blocked
                self.unpaid, self.remaining = self.remaining, 0
                return
            self.stock -= 1
            self.paid += 1
            self.remaining -= 1
            self.total_paid += 1


@dataclass(frozen=True, slots=True)
class HopperSpec:
    """A simulated hopper: bus address, coin value, coins loaded."""

    address: int
    coin_yen: int
    stock: int


DEFAULT_HOPPERS = (
    HopperSpec(3, 100, 50),
    HopperSpec(4, 10, 50),
    HopperSpec(5, 500, 20),
    HopperSpec(6, 50, 20),
)


class CashUnitSim:
    """The whole cash unit on one pty. Thread-safe: the wire thread and the control API share a lock.

    ``echo``: write the host's bytes back before each reply (single-wire bus). ``crc_bill``: the bill
    validator uses CRC-16 frames. ``watchdogs``: (coin, bill) seconds without a poll before the
    device stops accepting (None = never). ``link``: an optional stable symlink to the pty.
    """

    def __init__(
        self,
        *,
        hoppers: Sequence[HopperSpec] = DEFAULT_HOPPERS,
        echo: bool = False,
        crc_bill: bool = False,
        watchdogs: tuple[float | None, float | None] = (1.0, 5.0),
        coin_interval: float = 0.01,
        link: Path | None = None,
    ) -> None:
        self.coin = CoinAcceptorSim(watchdog=watchdogs[0])
        self.bill = BillValidatorSim(watchdog=watchdogs[1])
        self.hoppers = {h.address: HopperSim(h.address, h.coin_yen, h.stock, coin_interval) for h in hoppers}
        self._devices: dict[int, DeviceSim] = {2: self.coin, 40: self.bill, **self.hoppers}
        self.lock = threading.RLock()
        crc = (self.bill.address,) if crc_bill else ()
        self.wire = PtyWire(self._handle, crc_addresses=crc, echo=echo, link=link)

    def _handle(self, dest: int, header: int, data: bytes) -> tuple[int, bytes] | None:
        device = self._devices.get(dest)
        if device is None:
            return None
        with self.lock:
            return device.handle(header, data)

    def start(self) -> str:
        """Start serving; returns the pty path the driver opens. Raises WireError."""
        return self.wire.start()

    def stop(self) -> None:
        """Stop serving and close the pty."""
        self.wire.stop()

    def __enter__(self) -> CashUnitSim:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def path(self) -> str:
        """The pty slave path ("" before start)."""
        return self.wire.path

    def insert_coin(self, yen: int) -> str:
        """Drop a coin in; returns the outcome ("credit" or "rejected: …")."""
        with self.lock:
            return self.coin.insert(yen)

    def insert_note(self, yen: int) -> str:
        """Feed a note; returns the outcome ("escrow" or "rejected: …")."""
        with self.lock:
            return self.bill.insert(yen)

    def _hopper(self, address: int | None) -> list[HopperSim]:
        if address is None:
            return list(self.hoppers.values())
        if address not in self.hoppers:
            raise SimError(f"no hopper at address {address} (have {sorted(self.hoppers)})")
        return [self.hoppers[address]]

    def jam(self, device: str, after_coins: int = 0) -> None:
        """Jam "coin", "bill" or "hopper" (every hopper stops after ``after_coins`` more coins)."""
        with self.lock:
            if device == "coin":
                self.coin.jammed = True
                self.coin.ring.push(0, 14)  # credit sensor blocked
            elif device == "bill":
                self.bill.jammed = True
                self.bill.ring.push(0, 16)  # bill jammed in transport (safe mode)
            elif device == "hopper":
                for hopper in self.hoppers.values():
                    hopper.jam_after = after_coins
            else:
                raise SimError(f"unknown device {device!r} (coin, bill, hopper)")

    def clear_jam(self) -> None:
        """Clear every jam."""
        with self.lock:
            self.coin.jammed = self.bill.jammed = False
            for hopper in self.hoppers.values():
                hopper.jam_after = None

    def coin_error(self, code: int) -> None:
        """Push a coin-acceptor error event (fraud, reject, …) with ``code``."""
        with self.lock:
            self.coin.ring.push(0, code)

    def set_hopper_stock(self, count: int, address: int | None = None) -> None:
        """Load ``count`` coins into one hopper (or all). ``hopper empty`` is count 0. Raises SimError."""
        with self.lock:
            for hopper in self._hopper(address):
                hopper.stock = count

    def drop_replies(self, count: int, header: int | None = None) -> None:
        """The next ``count`` requests (with ``header``, or any) are processed but their replies lost."""
        self.wire.inject("drop", count, header)

    def corrupt_replies(self, count: int, header: int | None = None) -> None:
        """The next ``count`` replies (to ``header``, or any) carry a wrong checksum."""
        self.wire.inject("corrupt", count, header)

    def lose_requests(self, count: int, header: int | None = None) -> None:
        """The next ``count`` requests (with ``header``, or any) never reach the device."""
        self.wire.inject("lose", count, header)

    def set_silent(self, silent: bool) -> None:
        """Stop (or resume) answering anything, as an unplugged unit."""
        self.wire.silent = silent

    def power_cycle(self) -> None:
        """Every device loses its state: counters 0, all inhibited, hoppers disabled."""
        with self.lock:
            for device in self._devices.values():
                device.reset()

    def status(self) -> dict[str, object]:
        """A snapshot for the CLI and tests."""
        with self.lock:
            return {
                "coin_counter": self.coin.ring.counter,
                "bill_counter": self.bill.ring.counter,
                "cashbox_coins": sum(self.coin.cashbox),
                "stacked_notes": sum(self.bill.stacked),
                "returned_notes": list(self.bill.returned),
                "escrow": BILL_IDS[self.bill.escrow][0] if self.bill.escrow else 0,
                "hoppers": {a: (h.coin_yen, h.stock, h.total_paid) for a, h in self.hoppers.items()},
                "paid_out": sum(h.coin_yen * h.total_paid for h in self.hoppers.values()),
            }
