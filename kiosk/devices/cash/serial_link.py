"""The ccTalk serial link (the only kiosk module that imports pyserial) and typed device commands.

Three layers, as in nfcpy's PN532 driver: a byte pipe (pyserial, URL-opened so ``/dev/ttyUSB0``, a
pty path, ``loop://`` and ``socket://`` all work), the framing (``cctalk``), and ``CcTalkDevice``, one
address's commands. The link is thread-safe: one request/reply at a time.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType

import serial

from kiosk.devices.cash.cctalk import (
    HOPPER_ENABLE_CODE,
    Address,
    CcTalkError,
    ChecksumMode,
    EventBuffer,
    Frame,
    FrameError,
    Header,
    HopperStatus,
    decode,
    encode,
    frame_length,
    parse_ascii,
    parse_event_buffer,
    parse_hopper_status,
    parse_serial_number,
)

log = logging.getLogger(__name__)
TRAFFIC = 5  # below DEBUG: frame hex


class LinkError(CcTalkError):
    """The serial link failed: cannot open, I/O error, or the echo of our own bytes is wrong."""


class LinkTimeoutError(LinkError):
    """No complete reply arrived within the reply / inter-byte timeout."""


class NakError(CcTalkError):
    """The device answered NAK (or BUSY) to a command."""

    def __init__(self, address: int, header: int, reply_header: int) -> None:
        self.address, self.header, self.reply_header = address, header, reply_header
        word = "BUSY" if reply_header == Header.BUSY else "NAK"
        super().__init__(f"device {address} answered {word} to header {header}")


class CashLink:
    """A ccTalk host on one serial line. ``echo``: the line returns our own bytes before the reply
    (a real single-wire bus does; many USB adapters do not). ``checksum`` maps an address to its mode.
    """

    def __init__(
        self,
        url: str,
        *,
        echo: bool = False,
        reply_timeout: float = 0.25,
        inter_byte_timeout: float = 0.05,
        baudrate: int = 9600,
        checksum: Mapping[int, ChecksumMode] | None = None,
    ) -> None:
        self.url, self.echo, self.baudrate = url, echo, baudrate
        self.reply_timeout, self.inter_byte_timeout = reply_timeout, inter_byte_timeout
        self._modes = dict(checksum or {})
        self._port: serial.SerialBase | None = None
        self._lock = threading.Lock()

    def mode_for(self, address: int) -> ChecksumMode:
        """The checksum mode of ``address`` (simple unless configured)."""
        return self._modes.get(address, ChecksumMode.SIMPLE)

    def open(self) -> None:
        """Open the port (9600 8N1, no handshake); no-op if open. Raises LinkError if it cannot be opened."""
        if self._port is not None:
            return
        try:
            self._port = serial.serial_for_url(self.url, baudrate=self.baudrate, timeout=self.reply_timeout)
        except (serial.SerialException, OSError, ValueError) as exc:
            raise LinkError(f"cannot open cash unit link {self.url!r}: {exc}") from exc

    def close(self) -> None:
        """Close the port (idempotent)."""
        port, self._port = self._port, None
        if port is not None:
            port.close()

    def __enter__(self) -> CashLink:
        self.open()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def transact(self, dest: int, header: int, data: bytes = b"", *, timeout: float | None = None) -> Frame:
        """Send one command and return the device's reply frame (ACK, NAK or BUSY header).

        Raises LinkTimeoutError (no/partial reply), FrameError (garbage, bad checksum, wrong address),
        LinkError (port closed or I/O error, wrong echo).
        """
        mode = self.mode_for(dest)
        request = encode(Frame(dest=dest, header=header, data=data, src=Address.HOST), mode)
        with self._lock:
            port = self._port
            if port is None:
                raise LinkError("cash unit link is not open")
            try:
                return self._exchange(port, request, dest, mode, timeout or self.reply_timeout)
            except (serial.SerialException, OSError) as exc:
                raise LinkError(f"cash unit link I/O error: {exc}") from exc

    def _exchange(
        self, port: serial.SerialBase, request: bytes, dest: int, mode: ChecksumMode, wait: float
    ) -> Frame:
        port.reset_input_buffer()  # a late reply to an earlier command must not pass for this one
        log.log(TRAFFIC, "cctalk > %s", request.hex(" "))
        port.write(request)
        port.flush()
        if self.echo:
            echoed = self._read(port, len(request), wait)
            if echoed != request:
                port.reset_input_buffer()
                raise LinkError(f"echo {echoed.hex(' ')} does not match request {request.hex(' ')}")
        raw = self._read(port, 2, wait)
        try:
            raw += self._read(port, frame_length(raw) - 2, self.inter_byte_timeout)
            log.log(TRAFFIC, "cctalk < %s", raw.hex(" "))
            reply = decode(raw, mode)
        except FrameError:
            self._drain(port)
            raise
        if reply.dest != Address.HOST or (reply.src is not None and reply.src != dest):
            raise FrameError(f"reply to {reply.dest} from {reply.src}, expected to 1 from {dest}")
        return reply

    def _read(self, port: serial.SerialBase, count: int, first_wait: float) -> bytes:
        """Read ``count`` bytes: the first within ``first_wait``, each next within the inter-byte gap."""
        buf = bytearray()
        deadline = time.monotonic() + first_wait
        while len(buf) < count:
            left = deadline - time.monotonic()
            if left <= 0:
                got = buf.hex(" ") or "nothing"
                raise LinkTimeoutError(f"timed out waiting for {count} bytes (got {got}) on {self.url}")
            port.timeout = left
            chunk = port.read(count - len(buf))
            if chunk:
                buf += chunk
                deadline = time.monotonic() + self.inter_byte_timeout
        return bytes(buf)

    def _drain(self, port: serial.SerialBase) -> None:
        """After garbage: wait out the inter-byte gap and drop what arrived, to find the next frame start."""
        time.sleep(self.inter_byte_timeout)
        port.reset_input_buffer()

    def command(
        self, dest: int, header: int, data: bytes = b"", *, retries: int = 0, timeout: float | None = None
    ) -> bytes:
        """Send a command, return the ACK's data. ``retries`` only for commands safe to repeat.

        Raises NakError, LinkTimeoutError, FrameError, LinkError (the last failure after retries).
        """
        for attempt in range(retries + 1):
            try:
                reply = self.transact(dest, header, data, timeout=timeout)
            except (LinkTimeoutError, FrameError) as exc:
                if attempt == retries:
                    raise
                log.debug("retrying header %d to %d after: %s", header, dest, exc)
                continue
            if reply.header != Header.ACK:
                raise NakError(dest, header, reply.header)
            return reply.data
        raise AssertionError("unreachable")  # pragma: no cover


class BarePort:
    """pyserial with nothing of ours on top: the baseline ``make bench`` compares CashLink with."""

    def __init__(self, url: str, timeout: float = 1.0) -> None:
        self._port = serial.serial_for_url(url, timeout=timeout)

    def exchange(self, frame: bytes, reply_len: int) -> bytes:
        """Write ``frame``, read up to ``reply_len`` bytes (fewer on timeout)."""
        self._port.write(frame)
        return bytes(self._port.read(reply_len))

    def close(self) -> None:
        self._port.close()


@dataclass(frozen=True, slots=True)
class DeviceIdentity:
    """What a device says about itself (headers 245, 246, 244, 242, 241)."""

    address: int
    category: str
    manufacturer: str
    product: str
    serial_number: int
    software: str


@dataclass(frozen=True, slots=True)
class DeviceHealth:
    """One device as staff diagnostics show it."""

    role: str
    address: int
    ok: bool
    detail: str
    identity: DeviceIdentity | None = None
    level: int | None = None  # hoppers: coins the driver believes are loaded
    flags: tuple[str, ...] = ()


class CcTalkDevice:
    """Commands to one ccTalk address. Read-only commands are retried; state-changing ones are not."""

    def __init__(self, link: CashLink, address: int, *, retries: int = 2) -> None:
        self.link, self.address, self.retries = link, address, retries

    def _ask(self, header: int, data: bytes = b"") -> bytes:
        return self.link.command(self.address, header, data, retries=self.retries)

    def _do(self, header: int, data: bytes = b"", *, retry: bool = False) -> bytes:
        return self.link.command(self.address, header, data, retries=self.retries if retry else 0)

    def simple_poll(self) -> None:
        """Header 254. Raises NakError / LinkError on failure."""
        self._ask(Header.SIMPLE_POLL)

    def identify(self) -> DeviceIdentity:
        """Category, manufacturer, product, serial number and software revision. Raises CcTalkError."""
        return DeviceIdentity(
            address=self.address,
            category=parse_ascii(self._ask(Header.REQUEST_EQUIPMENT_CATEGORY)),
            manufacturer=parse_ascii(self._ask(Header.REQUEST_MANUFACTURER_ID)),
            product=parse_ascii(self._ask(Header.REQUEST_PRODUCT_CODE)),
            serial_number=parse_serial_number(self._ask(Header.REQUEST_SERIAL_NUMBER)),
            software=parse_ascii(self._ask(Header.REQUEST_SOFTWARE_REVISION)),
        )

    def reset(self) -> None:
        """Header 1: the device ACKs, then resets (counter 0, all inhibited). Waits the 100 ms it needs."""
        self._do(Header.RESET)
        time.sleep(0.1)

    def set_inhibits(self, enabled_mask: int) -> None:
        """Header 231: bit n = position n+1, 1 = enabled. Raises CcTalkError."""
        self._do(Header.MODIFY_INHIBIT_STATUS, enabled_mask.to_bytes(2, "little"), retry=True)

    def set_master_enabled(self, enabled: bool) -> None:
        """Header 228: bit0 1 = accept, 0 = inhibit everything. Raises CcTalkError."""
        self._do(Header.MODIFY_MASTER_INHIBIT, bytes((1 if enabled else 0,)), retry=True)

    def read_credit(self) -> EventBuffer:
        """Header 229 (coin acceptor's buffered credit / error codes). Raises CcTalkError."""
        return parse_event_buffer(self._ask(Header.READ_BUFFERED_CREDIT))

    def read_bill_events(self) -> EventBuffer:
        """Header 159 (bill validator's buffered events). Raises CcTalkError."""
        return parse_event_buffer(self._ask(Header.READ_BUFFERED_BILL_EVENTS))

    def coin_id(self, position: int) -> str:
        """Header 184: 6 chars such as "JP100A"; "......" for an empty position. Raises CcTalkError."""
        return parse_ascii(self._ask(Header.REQUEST_COIN_ID, bytes((position,))))

    def bill_id(self, position: int) -> str:
        """Header 157: 7 chars such as "JP0100A"; "......." when empty. Raises CcTalkError."""
        return parse_ascii(self._ask(Header.REQUEST_BILL_ID, bytes((position,))))

    def country_scaling(self, country: str) -> tuple[int, int]:
        """Header 156: (scale factor, decimal places) for a country. Raises CcTalkError."""
        data = self._ask(Header.REQUEST_COUNTRY_SCALING, country.encode("ascii"))
        if len(data) != 3:
            raise FrameError(f"scaling reply must be 3 bytes, got {len(data)}")
        return data[0] | data[1] << 8, data[2]

    def route_bill(self, code: int) -> int | None:
        """Header 154: 0 return, 1 stack, 255 hold. None on success, else 254 (escrow empty) / 255 (failed).

        Not retried: a lost reply is resolved by the next bill-event poll. Raises CcTalkError.
        """
        data = self._do(Header.ROUTE_BILL, bytes((code,)))
        return data[0] if data else None

    def enable_hopper(self, enabled: bool = True) -> None:
        """Header 164 with 165 (enable) or 0 (disable). Raises CcTalkError."""
        self._do(Header.ENABLE_HOPPER, bytes((HOPPER_ENABLE_CODE if enabled else 0,)), retry=True)

    def hopper_status(self) -> HopperStatus:
        """Header 166. Raises CcTalkError."""
        return parse_hopper_status(self._ask(Header.REQUEST_HOPPER_STATUS))

    def dispense(self, serial_number: int, count: int) -> int:
        """Header 167, "ITA serial" (cipher-less) form: 3 serial bytes LSB first + N. Returns the new event
        counter. NEVER retried (it would pay twice). Raises CcTalkError, ValueError for N outside 1..255.
        """
        if not 1 <= count <= 255:
            raise ValueError(f"dispense count must be 1..255, got {count}")
        data = self._do(Header.DISPENSE_HOPPER_COINS, serial_number.to_bytes(3, "little") + bytes((count,)))
        if len(data) != 1:
            raise FrameError(f"dispense reply must be 1 byte, got {len(data)}")
        return data[0]

    def test_hopper(self) -> bytes:
        """Header 163: 1–3 flag registers. Raises CcTalkError."""
        return self._ask(Header.TEST_HOPPER)

    def emergency_stop(self) -> int:
        """Header 172: stop paying; returns coins left unpaid. Raises CcTalkError."""
        data = self._do(Header.EMERGENCY_STOP, retry=True)
        return data[0] if data else 0
