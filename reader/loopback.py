"""An in-process transport for any card object with ``atr``, ``power_on()``, ``power_off()`` and
``process(bytes) -> bytes`` (the virtual card's OS). Tests pull the card with ``remove()``.

Each command runs on one worker thread so that timeouts, cancel events and removal behave as
they do on a real reader: the caller stops waiting, the late answer is discarded.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Protocol

from reader.errors import CancelledError, CardRemovedError, NoCardError, ReaderTimeoutError, TransportError
from reader.log import log_command, log_response
from reader.transport import DEFAULT_TIMEOUT, CardSession

log = logging.getLogger(__name__)
_WAIT_STEP = 0.02  # how often a waiting transmit looks at cancel / removal


class CardLike(Protocol):
    """What LoopbackTransport needs from a card."""

    @property
    def atr(self) -> bytes: ...

    def power_on(self) -> object: ...

    def power_off(self) -> None: ...

    def process(self, apdu: bytes) -> bytes: ...


class LoopbackTransport:
    """A reader with ``card`` in it, in this process."""

    def __init__(self, card: CardLike, *, name: str = "loopback", extended: bool = True) -> None:
        self.card = card
        self.supports_extended = extended
        self.card_session = CardSession()
        self._name = name
        self._present = True
        self._connected = False
        self._removed = threading.Event()
        self._lock = threading.Lock()
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="loopback-card")

    @property
    def name(self) -> str:
        return self._name

    @property
    def atr(self) -> bytes:
        """The card's ATR. Raises NoCardError when not connected."""
        if not self._connected:
            raise NoCardError(f"{self._name}: not connected")
        return bytes(self.card.atr)

    @property
    def present(self) -> bool:
        return self._present

    def presence(self) -> bytes | None:
        """The ATR when a card is in the reader, else None (for the polling card monitor)."""
        return bytes(self.card.atr) if self._present else None

    def connect(self, *, exclusive: bool = True) -> None:
        """Power the card. Raises NoCardError when it was removed."""
        with self._lock:
            if not self._present:
                raise NoCardError(f"{self._name}: no card in the reader")
            if not self._connected:
                self._worker.submit(self.card.power_on).result()
                self._connected = True
                self.card_session.restart()

    def disconnect(self, *, unpower: bool = True) -> None:
        """Release the card (powering it off when ``unpower``). Never raises."""
        with self._lock:
            if self._connected and self._present and unpower:
                try:
                    self._worker.submit(self.card.power_off).result(timeout=DEFAULT_TIMEOUT)
                except Exception:  # a card that fails to power off is still released
                    log.exception("%s: power_off failed", self._name)
            self._connected = False
            self.card_session.restart()

    def remove(self) -> None:
        """Pull the card: a transmit in progress or later raises CardRemovedError."""
        with self._lock:
            self._present = False
            self._connected = False
            self._removed.set()
            self._worker.submit(self.card.power_off)
            self.card_session.restart()

    def insert(self) -> None:
        """Put the card back (not connected: call connect())."""
        with self._lock:
            self._present = True
            self._removed.clear()

    def close(self) -> None:
        """Stop the worker thread. Never raises."""
        self._worker.shutdown(wait=False, cancel_futures=True)

    def transmit(
        self, apdu: bytes, *, timeout: float = DEFAULT_TIMEOUT, cancel: threading.Event | None = None
    ) -> bytes:
        """Send one APDU to the card. Raises CardRemovedError, NoCardError, ReaderTimeoutError,
        CancelledError, TransportError (the card object raised)."""
        if cancel is not None and cancel.is_set():
            raise CancelledError("cancelled before sending")
        if not self._present:
            raise CardRemovedError(f"{self._name}: card removed")
        if not self._connected:
            raise NoCardError(f"{self._name}: not connected")
        log_command(log, self._name, apdu)
        start = time.monotonic()
        future = self._worker.submit(self.card.process, bytes(apdu))
        response = self._wait(future, start + timeout, cancel)
        log_response(log, self._name, response, time.monotonic() - start)
        return response

    def _wait(self, future: Future[bytes], deadline: float, cancel: threading.Event | None) -> bytes:
        while True:
            if self._removed.is_set():
                raise CardRemovedError(f"{self._name}: card removed during the exchange")
            if cancel is not None and cancel.is_set():
                raise CancelledError("cancelled while waiting for the card")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ReaderTimeoutError(f"{self._name}: no answer from the card")
            try:
                response = future.result(timeout=min(_WAIT_STEP, remaining))
            except FutureTimeout:
                continue
            except Exception as exc:
                raise TransportError(f"{self._name}: the card failed: {exc}") from exc
            if self._removed.is_set():
                raise CardRemovedError(f"{self._name}: card removed during the exchange")
            return bytes(response)
