"""Operator controls for the test harness: the center's clock, maintenance windows and scripted faults.

Faults are rules matched per request on the API listener (and on the OCSP route for ``ocsp_down``):

- ``latency``     — sleep ``delay_s`` before handling (``route="issueDocuments"`` = slow documents);
- ``error``       — answer ``status`` (500/502/503) problem+json ``injected_fault`` without handling;
- ``drop``        — close the connection without any response, before handling;
- ``drop_after``  — handle (and commit, and store the idempotent answer), then close without a response:
                    the "answer lost on the wire" case a kiosk must recover from with its idempotency key;
- ``ocsp_down``   — the OCSP responder answers HTTP 503, so authentication gets ``ocsp_unavailable``.

``route`` is an OpenAPI operationId (``openSession``, ``authenticate``, ``createOrder``, ``issueDocuments``,
``recordPayment``, ``reportResult``, ``reconcile``, ``heartbeat``, ``cancelSession``, ``health``) or None
for all; ``terminal`` a terminal id or None for all; ``count`` how many matches before the rule retires
(None = until cleared). The same object is driven from Python (``RelayServer.faults``) and over the admin
HTTP routes (``mock-relay fault ...``). All state is in memory: a restart clears it.
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import Any

JST = timezone(timedelta(hours=9), "JST")
FAULT_KINDS = ("latency", "error", "drop", "drop_after", "ocsp_down")
_ERROR_STATUSES = (500, 502, 503, 504)


class FaultError(ValueError):
    """A fault rule or clock setting is malformed."""


@dataclass(frozen=True)
class FaultRule:
    """One scripted fault. See the module docstring for the fields."""

    kind: str
    route: str | None = None
    terminal: str | None = None
    status: int = 503
    delay_s: float = 0.0
    count: int | None = None
    id: int = 0

    def validate(self) -> FaultRule:
        """Return self if well-formed. Raises FaultError otherwise."""
        if self.kind not in FAULT_KINDS:
            raise FaultError(f"kind must be one of {', '.join(FAULT_KINDS)}")
        if self.kind == "error" and self.status not in _ERROR_STATUSES:
            raise FaultError(f"status must be one of {_ERROR_STATUSES}")
        if not 0 <= self.delay_s <= 600:
            raise FaultError("delay_s must be within 0..600")
        if self.count is not None and self.count < 1:
            raise FaultError("count must be positive")
        return self

    @classmethod
    def from_json(cls, obj: Any) -> FaultRule:
        """Build from the admin API's JSON object. Raises FaultError."""
        if not isinstance(obj, dict):
            raise FaultError("a fault is a JSON object")
        allowed = {"kind", "route", "terminal", "status", "delay_s", "count"}
        unknown = set(obj) - allowed
        if unknown:
            raise FaultError(f"unknown fault fields: {', '.join(sorted(unknown))}")
        try:
            return cls(**obj).validate()
        except TypeError as exc:
            raise FaultError(str(exc)) from exc

    def to_json(self) -> dict[str, Any]:
        """JSON form (the admin API's)."""
        return asdict(self)


class Faults:
    """Thread-safe rule set; ``take`` returns the rules a request triggers (consuming counts)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []
        self._ids = itertools.count(1)

    def add(self, rule: FaultRule) -> FaultRule:
        """Install a rule; returns it with its id. Raises FaultError if malformed."""
        rule = replace(rule.validate(), id=next(self._ids))
        with self._lock:
            self._rules.append(rule)
        return rule

    def clear(self) -> None:
        """Remove every rule."""
        with self._lock:
            self._rules.clear()

    def remove(self, rule_id: int) -> bool:
        """Remove one rule by id; False if there was none."""
        with self._lock:
            before = len(self._rules)
            self._rules = [r for r in self._rules if r.id != rule_id]
            return len(self._rules) != before

    def rules(self) -> tuple[FaultRule, ...]:
        """The installed rules."""
        with self._lock:
            return tuple(self._rules)

    def take(self, route: str, terminal: str | None, *, ocsp: bool = False) -> tuple[FaultRule, ...]:
        """The rules matching (route, terminal), each consumed once.

        ``ocsp=True`` asks for the responder's rules (``ocsp_down`` only); otherwise those never match.
        """
        hit: list[FaultRule] = []
        with self._lock:
            kept: list[FaultRule] = []
            for r in self._rules:
                matches = (
                    (r.kind == "ocsp_down") == ocsp
                    and (ocsp or r.route in (None, route))
                    and (ocsp or r.terminal in (None, terminal))
                )
                if matches:
                    hit.append(r)
                    if r.count is not None:
                        if r.count > 1:
                            kept.append(replace(r, count=r.count - 1))
                        continue
                kept.append(r)
            self._rules = kept
        return tuple(hit)


class CenterClock:
    """The center's notion of now: real time plus an offset, or frozen at one instant."""

    def __init__(self, start: datetime | None = None) -> None:
        self._lock = threading.Lock()
        self._offset = timedelta(0)
        self._frozen: datetime | None = None
        if start is not None:
            self.set(start)

    def now(self) -> datetime:
        """Aware datetime in JST."""
        with self._lock:
            if self._frozen is not None:
                return self._frozen
            return datetime.now(JST) + self._offset

    def set(self, at: datetime | None, *, frozen: bool = False) -> None:
        """Jump to ``at`` (then run on) or freeze there; None = real time. Raises FaultError if naive."""
        if at is not None and at.tzinfo is None:
            raise FaultError("the clock needs a time with an offset, e.g. 2026-12-01T10:00:00+09:00")
        with self._lock:
            if at is None:
                self._offset, self._frozen = timedelta(0), None
            elif frozen:
                self._offset, self._frozen = timedelta(0), at.astimezone(JST)
            else:
                self._offset, self._frozen = at - datetime.now(JST), None

    def describe(self) -> dict[str, Any]:
        """JSON form: now, whether frozen, offset seconds."""
        with self._lock:
            frozen, offset = self._frozen, self._offset
        return {
            "now": self.now().isoformat(),
            "frozen": frozen is not None,
            "offset_s": offset.total_seconds(),
        }


class Maintenance:
    """Center-wide maintenance windows [start, end); sessions are refused with ``maintenance`` inside one."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._windows: list[tuple[datetime, datetime]] = []

    def add(self, start: datetime, end: datetime) -> None:
        """Add a window. Raises FaultError if naive or empty."""
        if start.tzinfo is None or end.tzinfo is None or end <= start:
            raise FaultError("a maintenance window needs aware start < end")
        with self._lock:
            self._windows.append((start, end))

    def clear(self) -> None:
        """Remove every window."""
        with self._lock:
            self._windows.clear()

    def active(self, now: datetime) -> bool:
        """True if ``now`` falls inside a window."""
        with self._lock:
            return any(s <= now < e for s, e in self._windows)

    def windows(self) -> list[dict[str, str]]:
        """JSON form."""
        with self._lock:
            return [{"start": s.isoformat(), "end": e.isoformat()} for s, e in self._windows]
