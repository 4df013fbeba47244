"""The PC/SC transport (pyscard's low-level ``smartcard.scard`` API): the ONLY module importing
``smartcard``. PC/SC return codes become reader.errors exceptions here, chained with ``from``.

URLs: ``pcsc://`` (first reader holding a card), ``pcsc://<reader name>`` (url-quoted or plain),
``pcsc://#N`` (N-th reader, 0-based as OpenSC's ``--reader N``), ``?extended=0|1``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote

from smartcard import scard

from reader.errors import (
    CancelledError,
    CardRemovedError,
    NoCardError,
    NoReaderError,
    ReaderTimeoutError,
    TransportError,
)
from reader.log import log_command, log_response
from reader.transport import DEFAULT_TIMEOUT, CardSession, register_transport

log = logging.getLogger(__name__)

VPCD_PREFIX = "Virtual PCD"  # vsmartcard's vpcd: carries extended APDUs end to end
_WAIT_STEP = 0.05
_REMOVAL_GRACE = 1.0
_STATUS_PRESENT = 0x0004  # SCARD_PRESENT in SCardStatus (pcsclite.h; pyscard does not export it)
_U32 = 0xFFFFFFFF

_REMOVED = {
    scard.SCARD_W_REMOVED_CARD,
    scard.SCARD_E_NOT_TRANSACTED,
    scard.SCARD_W_RESET_CARD,
    scard.SCARD_W_UNPOWERED_CARD,
}
_NO_READER = {
    scard.SCARD_E_NO_READERS_AVAILABLE,
    scard.SCARD_E_UNKNOWN_READER,
    scard.SCARD_E_READER_UNAVAILABLE,
}
_NO_SERVICE = {scard.SCARD_E_NO_SERVICE, scard.SCARD_E_SERVICE_STOPPED}


class PcscStatus(Exception):
    """A PC/SC return code (the ``from`` cause of the reader.errors exception)."""

    def __init__(self, code: int) -> None:
        self.code = code & _U32
        super().__init__(f"{scard.SCardGetErrorMessage(code)} (0x{self.code:08X})")


def _error(code: int, what: str, *, in_exchange: bool = False) -> TransportError:
    code &= _U32
    cause = PcscStatus(code)
    if code in _REMOVED or (in_exchange and code == scard.SCARD_E_NO_SMARTCARD):
        err: TransportError = CardRemovedError(f"{what}: the card was removed ({cause})")
    elif code == scard.SCARD_E_NO_SMARTCARD:
        err = NoCardError(f"{what}: no card in the reader ({cause})")
    elif code in _NO_READER:
        err = NoReaderError(f"{what}: reader not available ({cause})")
    elif code in _NO_SERVICE:
        err = TransportError(f"{what}: the PC/SC service (pcscd) is not running ({cause})")
    elif code == scard.SCARD_E_TIMEOUT:
        err = ReaderTimeoutError(f"{what}: timed out ({cause})")
    elif code == scard.SCARD_E_SHARING_VIOLATION:
        err = TransportError(f"{what}: the card is in use by another application ({cause})")
    else:
        err = TransportError(f"{what}: {cause}")
    err.__cause__ = cause
    return err


def _check(code: int, what: str, *, in_exchange: bool = False) -> None:
    if code & _U32 != scard.SCARD_S_SUCCESS:
        raise _error(code, what, in_exchange=in_exchange)


@dataclass(frozen=True)
class ReaderInfo:
    """One PC/SC reader: its name and the ATR of the card in it (None when empty)."""

    name: str
    atr: bytes | None

    @property
    def card_present(self) -> bool:
        return self.atr is not None


class PcscContext:
    """An SCard context (one per transport / monitor). Raises TransportError when pcscd is down."""

    def __init__(self) -> None:
        code, self.handle = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
        _check(code, "PC/SC")

    def release(self) -> None:
        """Release the context. Never raises."""
        scard.SCardReleaseContext(self.handle)

    def cancel(self) -> None:
        """Make a blocked SCardGetStatusChange on this context return. Never raises."""
        scard.SCardCancel(self.handle)

    def reader_names(self) -> list[str]:
        """The reader names (empty list when none). Raises TransportError."""
        code, names = scard.SCardListReaders(self.handle, [])
        if code & _U32 in (scard.SCARD_E_NO_READERS_AVAILABLE, scard.SCARD_E_READER_UNAVAILABLE):
            return []
        _check(code, "listing readers")
        return list(names)

    def states(self, known: dict[str, int], timeout: float) -> list[tuple[str, int, bytes | None]] | None:
        """SCardGetStatusChange: waits up to ``timeout`` s for a change from ``known``
        (reader → last event state); returns (reader, event state, ATR or None) for each, or None
        when nothing changed within ``timeout``. Raises TransportError."""
        if not known:
            return []
        query = [(name, state) for name, state in known.items()]
        code, result = scard.SCardGetStatusChange(self.handle, int(timeout * 1000), query)
        if code & _U32 in (scard.SCARD_E_TIMEOUT, scard.SCARD_E_CANCELLED):
            return None
        _check(code, "reading reader states")
        out = []
        for name, state, atr in result:
            present = bool(state & scard.SCARD_STATE_PRESENT) and not state & scard.SCARD_STATE_MUTE
            out.append((name, state & ~scard.SCARD_STATE_CHANGED, bytes(atr) if present and atr else None))
        return out


def list_readers() -> list[ReaderInfo]:
    """Every PC/SC reader with the ATR of the card in it. Raises TransportError (pcscd down)."""
    ctx = PcscContext()
    try:
        names = ctx.reader_names()
        states = ctx.states({n: scard.SCARD_STATE_UNAWARE for n in names}, 0) or []
        return [ReaderInfo(name, atr) for name, _, atr in states]
    finally:
        ctx.release()


@dataclass(frozen=True)
class PcscUrl:
    """A parsed ``pcsc://`` URL."""

    reader: str | None = None  # None: first reader holding a card
    index: int | None = None
    extended: bool | None = None  # None: True for vpcd readers, False otherwise

    @classmethod
    def parse(cls, url: str) -> PcscUrl:
        """Raises TransportError for a malformed URL."""
        rest = url.split("://", 1)[1] if "://" in url else url
        target, _, query = rest.partition("?")
        extended: bool | None = None
        if query:
            values = parse_qs(query).get("extended", [""])
            if values[-1] not in ("0", "1"):
                raise TransportError(f"bad reader URL {url!r}: extended must be 0 or 1")
            extended = values[-1] == "1"
        if target.startswith("#"):
            if not target[1:].isdigit():
                raise TransportError(f"bad reader URL {url!r}: expected pcsc://#<index>")
            return cls(index=int(target[1:]), extended=extended)
        return cls(reader=unquote(target) or None, extended=extended)


class PcscTransport:
    """One card through one PC/SC reader. Exclusive while connected (a verified PIN stays valid
    until the card is unpowered, so nobody else may use it meanwhile); unpowers on disconnect."""

    def __init__(self, url: str = "pcsc://") -> None:
        self.url = PcscUrl.parse(url)
        self._ctx: PcscContext | None = None
        self._card: int | None = None
        self._protocol = 0
        self._atr = b""
        self._reader = self.url.reader or ""
        self.supports_extended = bool(self.url.extended)
        self.card_session = CardSession()
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pcsc-transmit")

    @classmethod
    def from_url(cls, url: str) -> PcscTransport:
        """The transport for a ``pcsc://`` URL. Raises TransportError when malformed."""
        return cls(url)

    @property
    def name(self) -> str:
        return self._reader or "PC/SC"

    @property
    def atr(self) -> bytes:
        """The card's ATR. Raises NoCardError when not connected."""
        if self._card is None:
            raise NoCardError(f"{self.name}: not connected")
        return self._atr

    def _context(self) -> PcscContext:
        if self._ctx is None:
            self._ctx = PcscContext()
        return self._ctx

    def _resolve(self, ctx: PcscContext) -> str:
        names = ctx.reader_names()
        if not names:
            raise NoReaderError("no smart-card reader is attached")
        if self.url.index is not None:
            if self.url.index >= len(names):
                raise NoReaderError(f"no reader #{self.url.index} (there are {len(names)})")
            return names[self.url.index]
        if self.url.reader is not None:
            if self.url.reader not in names:
                raise NoReaderError(f"no reader named {self.url.reader!r} (readers: {', '.join(names)})")
            return self.url.reader
        for name, _, atr in ctx.states({n: scard.SCARD_STATE_UNAWARE for n in names}, 0) or []:
            if atr is not None:
                return name
        raise NoCardError(f"no card in any reader ({', '.join(names)})")

    def connect(self, *, exclusive: bool = True) -> None:
        """Connect (T=1 or T=0) and power the card. Raises NoReaderError, NoCardError, TransportError."""
        if self._card is not None:
            return
        # An abandoned exchange (timeout, cancel) may still hold the old handle: let it finish.
        try:
            self._worker.submit(time.sleep, 0).result(timeout=DEFAULT_TIMEOUT)
        except FutureTimeout:
            log.warning("%s: an abandoned exchange is still running", self.name)
        ctx = self._context()
        self._reader = self._resolve(ctx)
        if self.url.extended is None:
            self.supports_extended = self._reader.startswith(VPCD_PREFIX)
        share = scard.SCARD_SHARE_EXCLUSIVE if exclusive else scard.SCARD_SHARE_SHARED
        protocols = scard.SCARD_PROTOCOL_T1 | scard.SCARD_PROTOCOL_T0
        code, card, protocol = scard.SCardConnect(ctx.handle, self._reader, share, protocols)
        _check(code, f"connecting to {self._reader}")
        code, _, _, _, atr = scard.SCardStatus(card)
        if code & _U32 != scard.SCARD_S_SUCCESS:
            scard.SCardDisconnect(card, scard.SCARD_LEAVE_CARD)
            _check(code, f"reading the ATR in {self._reader}")
        self._card, self._protocol, self._atr = card, protocol, bytes(atr)
        self.card_session.restart()
        log.debug("connected to %s (T=%d, ATR %s)", self._reader, protocol - 1, self._atr.hex(" ").upper())

    def disconnect(self, *, unpower: bool = True) -> None:
        """Release the card; ``unpower`` (SCARD_UNPOWER_CARD) clears its PIN state. Never raises."""
        card, self._card = self._card, None
        self.card_session.restart()
        if card is not None:
            disposition = scard.SCARD_UNPOWER_CARD if unpower else scard.SCARD_LEAVE_CARD
            code = scard.SCardDisconnect(card, disposition)
            if code & _U32 != scard.SCARD_S_SUCCESS:
                log.debug("disconnect from %s: %s", self._reader, PcscStatus(code))

    def close(self) -> None:
        """Disconnect and release the PC/SC context. Never raises."""
        self.disconnect()
        if self._ctx is not None:
            self._ctx.release()
            self._ctx = None
        self._worker.shutdown(wait=False, cancel_futures=True)

    def transmit(
        self, apdu: bytes, *, timeout: float = DEFAULT_TIMEOUT, cancel: threading.Event | None = None
    ) -> bytes:
        """Send one APDU. Raises CardRemovedError, NoCardError (not connected), ReaderTimeoutError,
        CancelledError, TransportError."""
        if cancel is not None and cancel.is_set():
            raise CancelledError("cancelled before sending")
        card = self._card
        if card is None:
            raise NoCardError(f"{self.name}: not connected")
        log_command(log, self._reader, apdu)
        start = time.monotonic()
        future = self._worker.submit(scard.SCardTransmit, card, self._protocol, list(apdu))
        code, response = self._wait(future, start + timeout, cancel)
        if code & _U32 != scard.SCARD_S_SUCCESS:
            error = _error(code, f"exchange with {self._reader}", in_exchange=True)
            if isinstance(error, CardRemovedError):  # removed or reset: its selection is gone
                self.card_session.restart()
            raise error
        data = bytes(response)
        if len(data) < 2:
            raise self._no_status_word(card)
        log_response(log, self._reader, data, time.monotonic() - start)
        return data

    def _wait(
        self, future: Future[tuple[int, list[int]]], deadline: float, cancel: threading.Event | None
    ) -> tuple[int, list[int]]:
        while True:
            remaining = deadline - time.monotonic()
            try:
                return future.result(timeout=max(0.0, min(_WAIT_STEP, remaining)))
            except FutureTimeout:
                pass
            if cancel is not None and cancel.is_set():
                self._abandon()
                raise CancelledError("cancelled while waiting for the card")
            if remaining <= 0:
                self._abandon()
                raise ReaderTimeoutError(f"{self._reader}: no answer within the timeout")

    def _no_status_word(self, card: int) -> TransportError:
        # vpcd (and contactless readers) answer an exchange cut by removal with no bytes at all;
        # pcscd notices the removal within its 400 ms poll.
        deadline = time.monotonic() + _REMOVAL_GRACE
        while time.monotonic() < deadline:
            code, _, state, _, _ = scard.SCardStatus(card)
            if code & _U32 != scard.SCARD_S_SUCCESS:
                return _error(code, f"exchange with {self._reader}", in_exchange=True)
            if not state & _STATUS_PRESENT:
                return CardRemovedError(f"{self._reader}: the card was removed during the exchange")
            time.sleep(_WAIT_STEP)
        return TransportError(f"{self._reader}: the reader returned no status word")

    def _abandon(self) -> None:
        # The exchange may still complete later: the card's state is unknown, so reset it.
        card, self._card = self._card, None
        self.card_session.restart()
        if card is not None:
            self._worker.submit(scard.SCardDisconnect, card, scard.SCARD_RESET_CARD)


class PcscPresence:
    """Card presence in every PC/SC reader, for reader.monitor.CardMonitor (SCardGetStatusChange)."""

    def __init__(self) -> None:
        self._ctx = PcscContext()
        self._known: dict[str, int] = {}
        self._atrs: dict[str, bytes | None] = {}

    def snapshot(self, timeout: float) -> dict[str, bytes | None]:
        """Wait up to ``timeout`` s for a change, then return reader → ATR (None when empty).
        Raises TransportError."""
        names = self._ctx.reader_names()
        known = {n: self._known.get(n, scard.SCARD_STATE_UNAWARE) for n in names}
        if all(state == scard.SCARD_STATE_UNAWARE for state in known.values()):
            timeout = 0
        states = self._ctx.states(known, timeout)
        if states is None:  # timed out: nothing changed
            return {n: self._atrs.get(n) for n in names}
        self._known = {name: state for name, state, _ in states}
        self._atrs = {name: atr for name, _, atr in states}
        return dict(self._atrs)

    def wake(self) -> None:
        """Make a waiting snapshot return now. Never raises."""
        self._ctx.cancel()

    def close(self) -> None:
        """Release the PC/SC context. Never raises."""
        self._ctx.release()


@contextmanager
def bare_transmitter(reader: str, *, exclusive: bool = True) -> Iterator[Callable[[bytes], bytes]]:
    """Plain pyscard ``SCardTransmit`` on ``reader`` with nothing around it (the benchmark's
    baseline). Raises TransportError."""
    ctx = PcscContext()
    share = scard.SCARD_SHARE_EXCLUSIVE if exclusive else scard.SCARD_SHARE_SHARED
    try:
        protocols = scard.SCARD_PROTOCOL_T1 | scard.SCARD_PROTOCOL_T0
        code, card, protocol = scard.SCardConnect(ctx.handle, reader, share, protocols)
        _check(code, f"connecting to {reader}")

        def transmit(apdu: bytes) -> bytes:
            code, response = scard.SCardTransmit(card, protocol, list(apdu))
            _check(code, "bare transmit", in_exchange=True)
            return bytes(response)

        try:
            yield transmit
        finally:
            scard.SCardDisconnect(card, scard.SCARD_UNPOWER_CARD)
    finally:
        ctx.release()


register_transport("pcsc", PcscTransport.from_url)
