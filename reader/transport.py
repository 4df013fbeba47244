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


@runtime_checkable
class Transport(Protocol):
    """A connection to one card through one reader."""

    #: True when the path carries extended-length APDUs end to end.
    supports_extended: bool

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
