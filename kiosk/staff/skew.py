"""The kiosk's clock against the center's (no kivy, no device library).

Certificates, OCSP answers, the center's challenges and the journal all depend on time, so a kiosk whose
clock has drifted must not serve. ``ClockWatch(max_skew)`` keeps the latest comparison: the center's
``server_time`` (the health answer at start, each heartbeat's answer while running) against the kiosk's
own clock at the midpoint of the request. Past ``max_skew`` seconds either way it is out of bounds: the
start-up check fails (``kiosk run`` refuses to open), and a running kiosk stops taking residents until a
later comparison is back within bounds (``subscribe``). With ``enforce=False`` it compares and says so,
but never refuses.

The watch is also a start-up check line (``device``, ``ok``, ``detail``, ``line()``), read live: staff
diagnostics and the heartbeat's device states show the latest comparison, naming the skew and the staff
code ``CK1``, e.g. ``clock: FAILED: 9 min 12 s behind the center (more than 120 s): out of service, staff
code CK1``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

__all__ = ["STAFF_CODE", "ClockWatch", "describe_skew", "skew_seconds"]

log = logging.getLogger(__name__)
STAFF_CODE = "CK1"  # the kiosk's clock is off: set it right (NTP), the kiosk resumes by itself
_HALF_SECOND = timedelta(seconds=0.5)


def _utc_now() -> datetime:
    return datetime.now(UTC)


def skew_seconds(server_time: datetime, sent: datetime, received: datetime) -> float:
    """The kiosk's clock minus the center's, in seconds (positive: the kiosk is ahead), taking the kiosk's
    time at the midpoint of the request. A center time of whole seconds is read as the middle of its
    second (it was truncated). Raises TypeError if one time is naive and another aware."""
    center = server_time + (_HALF_SECOND if server_time.microsecond == 0 else timedelta(0))
    local = sent + (received - sent) / 2
    return (local - center).total_seconds()


def describe_skew(skew: float) -> str:
    """``9 min 12 s behind the center``, ``1 h 0 min 5 s ahead of the center``, ``0 s off the center``
    (whole seconds). Never raises."""
    total = round(abs(skew))
    minutes, seconds = divmod(total, 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        amount = f"{hours} h {minutes} min {seconds} s"
    elif minutes:
        amount = f"{minutes} min {seconds} s"
    else:
        amount = f"{seconds} s"
    if total == 0:
        return "0 s off the center"
    return f"{amount} {'behind' if skew < 0 else 'ahead of'} the center"


class ClockWatch:
    """The latest comparison of the kiosk's clock with the center's; thread-safe.

    ``now`` is the kiosk's wall clock (injectable for tests). Listeners hear ``True`` (in service) or
    ``False`` (out of bounds) when the state changes, on the thread that measured.
    """

    device = "clock"

    def __init__(
        self, max_skew: float, *, enforce: bool = True, now: Callable[[], datetime] = _utc_now
    ) -> None:
        self.max_skew, self.enforce = max_skew, enforce
        self.now = now
        self._lock = threading.Lock()
        self._skew: float | None = None
        self._listeners: list[Callable[[bool], object]] = []

    @property
    def skew(self) -> float | None:
        """The latest skew in seconds (kiosk minus center), None before the first comparison."""
        with self._lock:
            return self._skew

    @property
    def ok(self) -> bool:
        """Within bounds (or not compared yet, or the check is off)."""
        return self._within(self.skew)

    def _within(self, skew: float | None) -> bool:
        return skew is None or not self.enforce or abs(skew) <= self.max_skew

    @property
    def detail(self) -> str:
        """What staff read: the skew, the limit and, out of bounds, the staff code. Never raises."""
        skew = self.skew
        if skew is None:
            return "not compared with the center yet"
        said = describe_skew(skew)
        if not self.enforce:
            return f"{said} (not enforced: [clock] enforce = false)"
        if self.ok:
            return f"{said} (limit {self.max_skew:g} s)"
        return f"{said} (more than {self.max_skew:g} s): out of service, staff code {STAFF_CODE}"

    def line(self) -> str:
        """``clock: ok|FAILED: detail``."""
        return f"{self.device}: {'ok' if self.ok else 'FAILED'}: {self.detail}"

    def measure(self, ask: Callable[[], datetime]) -> float:
        """Ask the center for its time (``ask`` returns ``server_time``), compare and keep it; returns the
        skew. Raises what ``ask`` raises (nothing is kept then)."""
        sent = self.now()
        server_time = ask()
        return self.observe(server_time, sent, self.now())

    def observe(self, server_time: datetime, sent: datetime, received: datetime) -> float:
        """Keep the comparison of the center's ``server_time``, answered to a request sent at ``sent`` and
        answered at ``received`` (the kiosk's clock); tell listeners if the state changed. Returns the skew.
        Raises TypeError for a naive time."""
        skew = skew_seconds(server_time, sent, received)
        with self._lock:
            was, self._skew = self._within(self._skew), skew
            listeners = list(self._listeners)
        now_ok = self._within(skew)
        if now_ok != was:
            level = logging.INFO if now_ok else logging.ERROR
            log.log(level, "clock %s: %s", "back within bounds" if now_ok else "out of bounds", self.detail)
            for listener in listeners:
                listener(now_ok)
        return skew

    def subscribe(self, listener: Callable[[bool], object]) -> None:
        """Call ``listener(ok)`` now with the current state, then at every change. Raises what the listener
        raises on the first call."""
        with self._lock:
            self._listeners.append(listener)
        listener(self.ok)
