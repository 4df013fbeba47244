"""Card presence for ``reader.monitor.CardMonitor`` over a PN532 module that the kiosk also transacts on.

One serial line carries both the transaction's APDUs (InDataExchange) and the presence poll
(InListPassiveTarget / Diagnose 06), so a poll must never put a frame on the line while an exchange is
running: every probe goes through the transport's chip lock, the same lock each exchange holds from its
command frame to its last response. When the line is busy longer than one poll interval, the source does
not queue behind the exchange (that would delay the resident's APDUs and the monitor's stop); it reports
what the transport itself knows: the activated card's ATR while a target is active, else the last
answer. An exchange that loses the card drops the target, so the next probe on a free line reports the
removal.
"""

from __future__ import annotations

import logging
import threading

from reader.pn532.transport import Pn532Transport

log = logging.getLogger(__name__)


class Pn532Presence:
    """A ``PresenceSource`` for one ``Pn532Transport``: reader name → ATR (None when the field is empty).

    ``interval``: seconds between probes (default: the transport's ``poll_interval``).
    """

    def __init__(self, transport: Pn532Transport, *, interval: float | None = None) -> None:
        self.transport = transport
        self.interval = transport.poll_interval if interval is None else interval
        self.busy_polls = 0  # probes answered from the transport's state (the line was busy)
        self._wake = threading.Event()
        self._first = True
        self._last: bytes | None = None

    @property
    def reader(self) -> str:
        """The reader name the events carry (the transport's name)."""
        return self.transport.name

    def snapshot(self, timeout: float) -> dict[str, bytes | None]:
        """Wait min(interval, timeout) s (not before the first call), then probe the field.

        Raises TransportError (ReaderTimeoutError when the module does not answer, the line failed).
        """
        if not self._first:
            self._wake.wait(min(self.interval, timeout))
            self._wake.clear()
        self._first = False
        return {self.reader: self._probe(max(self.interval, 0.05))}

    def _probe(self, patience: float) -> bytes | None:
        lock = self.transport.chip.lock
        if not lock.acquire(timeout=patience):
            self.busy_polls += 1  # an exchange holds the line: its target is the answer
            target = self.transport.target
            return target.atr if target is not None else self._last
        try:
            self._last = self.transport.presence()
        finally:
            lock.release()
        return self._last

    def wake(self) -> None:
        """Make a waiting snapshot return now. Never raises."""
        self._wake.set()

    def close(self) -> None:
        """Wake a waiting snapshot; the transport stays open (its owner closes it). Never raises."""
        self._wake.set()
