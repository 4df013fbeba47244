"""``Pn532Transport``: a Type B card on an NXP PN532 module, as a ``reader.transport.Transport``.

The chip layer is ``reader.pn532.chip``; the card-presence source for the monitor is
``reader.pn532.presence``. URLs: ``pn532:///dev/ttyUSB0?baud=115200&poll=0.1``,
``pn532+socket://host:port``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from urllib.parse import parse_qs, unquote, urlsplit

from reader.errors import CancelledError, CardRemovedError, NoCardError, TransportError
from reader.log import log_command, log_response
from reader.pn532.chip import SUPPORTS_TYPE_B, Pn532, TypeBTarget
from reader.pn532.link import DEFAULT_BAUD, SerialLink
from reader.transport import DEFAULT_TIMEOUT, CardSession, register_transport

log = logging.getLogger(__name__)


class Pn532Transport:
    """A Type B card on a PN532 module: the ``reader.transport.Transport`` protocol.

    ``poll_interval`` paces the presence polling (``reader.pn532.presence``); ``extended`` says whether
    extended-length APDUs are passed on (the chip chains them with MI).
    """

    def __init__(
        self,
        link_url: str,
        *,
        baud: int = DEFAULT_BAUD,
        name: str | None = None,
        poll_interval: float = 0.1,
        extended: bool = True,
    ) -> None:
        self.chip = Pn532(SerialLink(link_url, baud=baud))
        self.supports_extended = extended
        self.card_session = CardSession()
        self.poll_interval = poll_interval
        self._name = name or f"PN532 {link_url}"
        self._ready = False
        self.target: TypeBTarget | None = None
        self.firmware = b""

    @property
    def name(self) -> str:
        return self._name

    @property
    def atr(self) -> bytes:
        """The synthesised contactless ATR. Raises NoCardError when not connected."""
        if self.target is None:
            raise NoCardError(f"{self._name}: not connected")
        return self.target.atr

    def open(self) -> None:
        """Open the line and initialise the chip (idempotent). Raises TransportError (ReaderTimeoutError
        when no PN532 answers; a chip without Type B)."""
        with self.chip.lock:
            if self._ready:
                return
            self.chip.link.open()
            try:
                self.chip.wake_up()
                self.firmware = self.chip.firmware_version()
                if not self.firmware[3] & SUPPORTS_TYPE_B:
                    raise TransportError(f"{self._name}: this chip cannot do ISO 14443 Type B")
                self.chip.rf_configuration(0x05, b"\xff\xff\x02")  # a couple of polls, then answer
                self.chip.rf_configuration(0x01, b"\x01")  # RF on
            except TransportError:
                self.chip.link.close()
                raise
            self._ready = True

    def close(self) -> None:
        """RF off and close the line. Never raises."""
        with self.chip.lock:
            if self._ready:
                self._quietly(lambda: self.chip.rf_configuration(0x01, b"\x00"))
            self._ready = False
            self.target = None
            self.chip.link.close()

    def connect(self, *, exclusive: bool = True) -> None:
        """Activate the card in the field. Raises NoCardError, TransportError."""
        with self.chip.lock:
            self.open()
            if self.target is None:
                target = self.chip.list_type_b()
                if target is None:
                    raise NoCardError(f"{self._name}: no Type B card in the field")
                self.target = target
                self.card_session.restart()

    def disconnect(self, *, unpower: bool = True) -> None:
        """Release the card; ``unpower`` also switches the RF off and on (the card loses its state).
        Never raises."""
        with self.chip.lock:
            if self._ready and self.target is not None:
                self._quietly(self.chip.release)
                if unpower:
                    self._quietly(lambda: self.chip.rf_configuration(0x01, b"\x00"))
                    self._quietly(lambda: self.chip.rf_configuration(0x01, b"\x01"))
            self.target = None
            self.card_session.restart()

    def transmit(
        self, apdu: bytes, *, timeout: float = DEFAULT_TIMEOUT, cancel: threading.Event | None = None
    ) -> bytes:
        """One APDU through InDataExchange. Raises CardRemovedError, NoCardError, ReaderTimeoutError,
        CancelledError, TransportError."""
        if cancel is not None and cancel.is_set():
            raise CancelledError("cancelled before sending")
        with self.chip.lock:
            if self.target is None:
                raise NoCardError(f"{self._name}: not connected")
            log_command(log, self._name, apdu)
            start = time.monotonic()
            try:
                response = self.chip.data_exchange(apdu, timeout=timeout, cancel=cancel)
            except CardRemovedError:
                self.target = None
                self.card_session.restart()
                raise
            log_response(log, self._name, response, time.monotonic() - start)
            return response

    def presence(self) -> bytes | None:
        """The card's ATR when one is in the field, else None (the monitor's probe).
        Raises TransportError when the module does not answer."""
        with self.chip.lock:
            self.open()
            if self.target is not None:
                if self.chip.card_present():
                    return self.target.atr
                self.target = None  # the next transmit sees NoCardError, the monitor a removal
                self.card_session.restart()
                return None
            target = self.chip.list_type_b(timeout=0.5)
            if target is not None:
                self.chip.release()
            return target.atr if target is not None else None

    def _quietly(self, action: Callable[[], object]) -> None:
        try:
            action()
        except TransportError as exc:
            log.debug("%s: %s", self._name, exc)


def open_pn532(url: str) -> Pn532Transport:
    """``pn532:///dev/ttyUSB0?baud=115200&poll=0.1&extended=1`` or ``pn532+socket://host:port``.

    Raises TransportError for a URL without a device or with a bad option.
    """
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    if parts.scheme == "pn532+socket":
        if not parts.netloc:
            raise TransportError(f"{url!r}: expected pn532+socket://host:port")
        link = f"socket://{parts.netloc}"
    else:
        link = unquote(parts.netloc + parts.path)
        if not link:
            raise TransportError(f"{url!r}: expected pn532:///dev/<serial port>")
    try:
        baud = int(query.get("baud", [str(DEFAULT_BAUD)])[-1])
        poll = float(query.get("poll", ["0.1"])[-1])
    except ValueError as exc:
        raise TransportError(f"{url!r}: bad option: {exc}") from exc
    extended = query.get("extended", ["1"])[-1].lower() not in ("0", "false", "no", "off")
    return Pn532Transport(link, baud=baud, poll_interval=poll, extended=extended)


register_transport("pn532", open_pn532)
register_transport("pn532+socket", open_pn532)
