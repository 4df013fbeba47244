"""The one small transport protocol every card path implements, and the URL → transport registry.

URLs: ``pcsc://`` (first reader holding a card), ``pcsc://<reader name>``, ``sim://<card image>``
(in-process virtual card, provided by firmware_sim through the ``myna_kiosk.transports`` entry
point so that reader never imports it), ``pn532:///dev/ttyUSB0?baud=115200``,
``pn532+socket://host:port``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from importlib import import_module
from importlib.metadata import entry_points
from typing import Protocol, runtime_checkable
from urllib.parse import urlsplit

from reader.errors import TransportError

DEFAULT_TIMEOUT = 10.0


class CardSession:
    """What one connection knows of its card beyond single APDUs, shared by every client on it.

    ``generation`` changes whenever the card may have lost its state: the transport calls
    :meth:`restart` on connect, power-off, reset, removal and an abandoned exchange. ``selected`` is the
    application the clients last selected in this generation (None: unknown), so that no client reads a
    FID (0001 exists in both APs) under another client's AP. The state belongs to the connection, never
    to a module: two transports never share it. Thread-safe.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._generation = 0
        self._selected: bytes | None = None

    @property
    def generation(self) -> int:
        """Changes whenever the card may have lost its state."""
        return self._generation

    @property
    def selected(self) -> bytes | None:
        """The AID selected in this generation, or None when unknown."""
        return self._selected

    def restart(self) -> None:
        """The card was (re)powered, reset or removed: a new generation with nothing selected."""
        with self._lock:
            self._generation += 1
            self._selected = None

    def forget(self) -> None:
        """The card's selection is unknown (an exchange failed), in the same generation."""
        with self._lock:
            self._selected = None

    def remember(self, aid: bytes, generation: int) -> bool:
        """Record that ``aid`` was selected during ``generation``; False (nothing recorded) when the card
        has been restarted since."""
        with self._lock:
            if generation != self._generation:
                return False
            self._selected = bytes(aid)
            return True


@runtime_checkable
class Transport(Protocol):
    """A connection to one card through one reader."""

    #: True when the path carries extended-length APDUs end to end.
    supports_extended: bool

    @property
    def card_session(self) -> CardSession:
        """This connection's card state; the transport restarts it whenever the card may have lost it."""
        ...

    @property
    def atr(self) -> bytes:
        """The ATR of the connected card. Raises NoCardError when not connected."""
        ...

    @property
    def name(self) -> str:
        """Reader name, for messages and logs."""
        ...

    def connect(self, *, exclusive: bool = True) -> None:
        """Connect to (power) the card. Raises NoReaderError, NoCardError, TransportError."""
        ...

    def disconnect(self, *, unpower: bool = True) -> None:
        """Release the card; ``unpower`` powers it off, clearing its security state. Never raises."""
        ...

    def transmit(
        self, apdu: bytes, *, timeout: float = DEFAULT_TIMEOUT, cancel: threading.Event | None = None
    ) -> bytes:
        """Send one command APDU, return the response APDU (data + SW1 SW2).

        Raises CardRemovedError, ReaderTimeoutError, CancelledError, TransportError.
        """
        ...


TransportFactory = Callable[[str], Transport]
_FACTORIES: dict[str, TransportFactory] = {}


def register_transport(scheme: str, factory: TransportFactory) -> None:
    """Make ``scheme://`` URLs open with ``factory(url)``."""
    _FACTORIES[scheme] = factory


def _load_builtin(scheme: str) -> None:
    # Imported lazily so that pyscard / pyserial load only when that path is used.
    if scheme == "pcsc":
        import_module("reader.pcsc")  # registers itself
    elif scheme.startswith("pn532"):
        import_module("reader.pn532.transport")  # registers itself
    else:
        for ep in entry_points(group="myna_kiosk.transports"):
            if ep.name == scheme:
                register_transport(scheme, ep.load())


def open_transport(url: str | None) -> Transport:
    """The transport for ``url`` (not yet connected). ``None`` means ``pcsc://``.

    Raises TransportError for an unknown scheme.
    """
    url = url or "pcsc://"
    scheme = urlsplit(url).scheme or "pcsc"
    if scheme not in _FACTORIES:
        try:
            _load_builtin(scheme)
        except ImportError as exc:
            raise TransportError(f"transport {scheme!r} is not available: {exc}") from exc
    factory = _FACTORIES.get(scheme)
    if factory is None:
        raise TransportError(f"unknown reader URL scheme {scheme!r} in {url!r}")
    return factory(url)
