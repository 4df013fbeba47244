"""Card insert/remove events, delivered to observers on the monitor's own thread.

A presence source answers "which readers hold which card" and may block up to a bounded timeout
waiting for a change: ``reader.pcsc.PcscPresence`` (SCardGetStatusChange) or ``PollingPresence``
(any transport with a probe). ``stop()`` returns within about one timeout step.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from reader.errors import CardError, CardRemovedError, NoCardError
from reader.transport import Transport

log = logging.getLogger(__name__)

Observer = Callable[["CardEvent"], None]
DEFAULT_STEP = 0.2  # seconds: the longest a stop() waits for the loop to notice
_ERROR_BACKOFF = 0.5


class EventKind(StrEnum):
    INSERTED = "inserted"
    REMOVED = "removed"


@dataclass(frozen=True)
class CardEvent:
    """A card went into (``atr`` set) or out of (``atr`` empty) a reader."""

    kind: EventKind
    reader: str
    atr: bytes = b""


class PresenceSource(Protocol):
    """Where the monitor learns about cards."""

    def snapshot(self, timeout: float) -> dict[str, bytes | None]:
        """Block up to ``timeout`` s for a change; then reader → ATR (None when empty).
        Raises CardError (e.g. TransportError when the service is down)."""
        ...

    def wake(self) -> None:
        """Make a waiting snapshot return now. Never raises."""
        """Make a blocked snapshot return soon. Never raises."""
        ...

    def close(self) -> None:
        """Release resources. Never raises."""
        ...


class PollingPresence:
    """Presence by polling ``probe()`` (ATR when a card is in, else None) every ``interval`` s."""

    def __init__(self, probe: Callable[[], bytes | None], *, reader: str, interval: float = 0.1) -> None:
        self._probe = probe
        self._reader = reader
        self._interval = interval
        self._wake = threading.Event()
        self._first = True

    def snapshot(self, timeout: float) -> dict[str, bytes | None]:
        """Sleep min(interval, timeout) (not before the first call), then probe.
        Raises what the probe raises."""
        if not self._first:
            self._wake.wait(min(self._interval, timeout))
            self._wake.clear()
        self._first = False
        return {self._reader: self._probe()}

    def wake(self) -> None:
        self._wake.set()

    def close(self) -> None:
        """Release nothing (polling holds no resources); wakes a waiting snapshot."""
        self._wake.set()


def connect_probe(transport: Transport) -> Callable[[], bytes | None]:
    """A PollingPresence probe for an idle transport without a presence query of its own: a shared
    connect without power-off, the ATR, a release. Use ``LoopbackTransport.presence`` when there is one."""

    def probe() -> bytes | None:
        try:
            transport.connect(exclusive=False)
        except (NoCardError, CardRemovedError):
            return None
        try:
            return transport.atr
        except (NoCardError, CardRemovedError):
            return None
        finally:
            transport.disconnect(unpower=False)

    return probe


class CardMonitor:
    """Watches a presence source on a daemon thread and tells observers about every change.

    Cards already present when the monitor starts are reported as INSERTED. An observer that
    raises is logged and kept; a failing source is retried after a short pause.
    """

    def __init__(self, source: PresenceSource, *, step: float = DEFAULT_STEP) -> None:
        self._source = source
        self._step = step
        self._observers: list[Observer] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._state: dict[str, bytes | None] = {}

    def add_observer(self, observer: Observer) -> None:
        """Call ``observer(event)`` on the monitor thread for every change."""
        with self._lock:
            self._observers.append(observer)

    def remove_observer(self, observer: Observer) -> None:
        """Stop calling ``observer``; unknown observers are ignored."""
        with self._lock:
            if observer in self._observers:
                self._observers.remove(observer)

    def start(self) -> None:
        """Start the monitor thread (idempotent)."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="card-monitor", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        """Stop the thread and release the source; returns within about ``step`` s. Never raises."""
        self._stop.set()
        self._source.wake()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.warning("card monitor did not stop within %.1f s", timeout)
            self._thread = None
        self._source.close()

    def __enter__(self) -> CardMonitor:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                current = self._source.snapshot(self._step)
            except CardError as exc:
                log.warning("card presence unavailable: %s", exc)
                self._stop.wait(_ERROR_BACKOFF)
                continue
            if self._stop.is_set():
                break
            for event in diff_states(self._state, current):
                self._notify(event)
            self._state = current

    def _notify(self, event: CardEvent) -> None:
        with self._lock:
            observers = list(self._observers)
        for observer in observers:
            try:
                observer(event)
            except Exception:
                log.exception("card monitor observer failed on %s", event)


def diff_states(before: dict[str, bytes | None], after: dict[str, bytes | None]) -> list[CardEvent]:
    """The events that turn ``before`` into ``after`` (removals first; a changed ATR is both)."""
    events: list[CardEvent] = []
    for reader, atr in before.items():
        if atr is not None and after.get(reader) != atr:
            events.append(CardEvent(EventKind.REMOVED, reader))
    for reader, atr in after.items():
        if atr is not None and before.get(reader) != atr:
            events.append(CardEvent(EventKind.INSERTED, reader, atr))
    return events


def wait_for_event(
    monitor: CardMonitor, predicate: Callable[[CardEvent], bool], timeout: float
) -> CardEvent | None:
    """Block until the monitor reports an event matching ``predicate``; None after ``timeout`` s."""
    found: list[CardEvent] = []
    done = threading.Event()

    def observer(event: CardEvent) -> None:
        if not done.is_set() and predicate(event):
            found.append(event)
            done.set()

    monitor.add_observer(observer)
    try:
        deadline = time.monotonic() + timeout
        done.wait(max(0.0, deadline - time.monotonic()))
    finally:
        monitor.remove_observer(observer)
    return found[0] if found else None
