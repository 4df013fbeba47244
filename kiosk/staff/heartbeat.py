"""The terminal heartbeat: a daemon thread that tells the center how the kiosk's devices are (no kivy).

``Heartbeat(client, devices)`` posts each device's state word (``ok`` or ``fault: <detail>``, from a
``kiosk.staff.status.DeviceProbe``) to POST /v1/terminals/heartbeat, the first at ``start()``, then every
``next_heartbeat_s`` the center answers (``cap`` shortens it, e.g. in the simulator). A failure is
logged and retried after ``interval`` seconds (or ``cap``); it never reaches the resident flow. ``stop()``
cancels a request in flight: that is a stop, not a failure (nothing is logged or kept).
``link_status()`` is the "center" line of staff diagnostics; ``beat_now()`` sends one at once (the staff
self-test). Heartbeats carry device states only: no PIN, no personal data, no transaction.
Given a ``watch`` (``kiosk.staff.skew.ClockWatch``), each answer's ``server_time`` is compared with the
kiosk's clock at the midpoint of the request.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from kiosk.staff.clock import staff_time
from kiosk.staff.status import DeviceProbe, DeviceStatus

__all__ = ["Heartbeat", "HeartbeatSender", "state_words"]

log = logging.getLogger(__name__)
MAX_DEVICES = 16  # the center's schema: at most 16 devices, 64 characters a state
MAX_STATE = 64


class HeartbeatAck(Protocol):
    """The center's answer (``relay_client.HeartbeatAck``): when it wants the next heartbeat."""

    @property
    def next_heartbeat_s(self) -> float: ...
    @property
    def server_time(self) -> datetime: ...


class TimeWatch(Protocol):
    """Compares the center's time with the kiosk's (``kiosk.staff.skew.ClockWatch``)."""

    def now(self) -> datetime: ...
    def observe(self, server_time: datetime, sent: datetime, received: datetime) -> object: ...


class HeartbeatSender(Protocol):
    """What the heartbeat needs of ``relay_client.IssuanceClient``: ``heartbeat`` raises the client's
    errors, its CancelledError once ``cancel`` is set."""

    def heartbeat(
        self, devices: Mapping[str, str], *, cancel: threading.Event | None = None
    ) -> HeartbeatAck: ...


@dataclass(frozen=True)
class _Link:
    """The last outcome: when the last heartbeat went through, and since when and why it fails."""

    last_ok: float | None = None  # monotonic
    failing_since: datetime | None = None
    error: str = ""


def state_words(statuses: list[DeviceStatus]) -> dict[str, str]:
    """The center's device states: ``ok`` or ``fault: <detail>`` (64 characters at most), 16 devices at
    most, the center's own line left out. Never raises."""
    words: dict[str, str] = {}
    for s in statuses:
        if s.device == "center" or len(words) >= MAX_DEVICES:
            continue
        words[s.device[:MAX_STATE]] = "ok" if s.ok else f"fault: {s.detail}"[:MAX_STATE]
    return words


class Heartbeat:
    """The heartbeat thread. ``start()`` once; ``stop()`` ends it (and any request in flight) quickly."""

    def __init__(
        self,
        client: HeartbeatSender,
        devices: DeviceProbe,
        *,
        interval: float = 60.0,
        cap: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        watch: TimeWatch | None = None,
    ) -> None:
        self.client, self.devices, self.watch = client, devices, watch
        self.interval, self.cap, self._clock = interval, cap, clock
        self._stop, self._wake, self._lock = threading.Event(), threading.Event(), threading.Lock()
        self._link = _Link()
        self.sent = 0
        self._thread = threading.Thread(target=self._run, name="heartbeat", daemon=True)

    def start(self) -> Heartbeat:
        """Start the thread (the first heartbeat goes at once). Raises RuntimeError if started twice."""
        self._thread.start()
        return self

    def stop(self, timeout: float = 0.5) -> None:
        """Stop the thread; waits ``timeout`` s at most. A request in flight is cancelled where the client
        can, else left to end on its own (a daemon thread; its answer is dropped). Never raises."""
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def beat_now(self) -> DeviceStatus:
        """Send one heartbeat now (from the caller's thread) and say how it went. Never raises."""
        self.beat()
        return self.link_status()

    def beat(self) -> float:
        """One heartbeat; the seconds until the next. Never raises (a failure is logged and kept)."""
        try:
            words = state_words(self.devices.status())
            sent = self.watch.now() if self.watch is not None else None
            ack = self.client.heartbeat(words, cancel=self._stop)
            received = self.watch.now() if self.watch is not None else None
        except Exception as exc:  # the link is down or refused: retry later, the flow goes on
            if self._stop.is_set():
                return 0.0  # stop() cancelled the request: a stop, not a failure of the link
            with self._lock:
                since = self._link.failing_since or datetime.now(UTC)
                self._link = _Link(self._link.last_ok, since, f"{type(exc).__name__}: {exc}")
            log.warning("heartbeat failed: %s: %s", type(exc).__name__, exc)
            return self._capped(self.interval)
        if self._stop.is_set():
            return 0.0  # stopped meanwhile: the answer no longer matters
        with self._lock:
            self._link = _Link(self._clock())
            self.sent += 1
        if self.watch is not None and sent is not None and received is not None:
            try:  # out of bounds: the watch's listener stops the flow taking residents
                self.watch.observe(ack.server_time, sent, received)
            except Exception as exc:  # a naive time from the center: no comparison, the heartbeat goes on
                log.warning("clock not compared: %s: %s", type(exc).__name__, exc)
        return self._capped(float(ack.next_heartbeat_s))

    def _capped(self, wait: float) -> float:
        return min(wait, self.cap) if self.cap is not None else wait

    def _run(self) -> None:
        while not self._stop.is_set():
            wait = self.beat()
            self._wake.wait(wait)
            self._wake.clear()

    def link_status(self) -> DeviceStatus:
        """The "center" line for staff: ok and how long ago the last heartbeat went through, or FAILED with
        since when and why. Never raises."""
        with self._lock:
            link = self._link
        if link.failing_since is not None:
            since = staff_time(link.failing_since, "%H:%M")
            return DeviceStatus("center", False, f"failing since {since}: {link.error}")
        if link.last_ok is None:
            return DeviceStatus("center", False, "no heartbeat yet")
        return DeviceStatus("center", True, f"last heartbeat {self._clock() - link.last_ok:.0f} s ago")
