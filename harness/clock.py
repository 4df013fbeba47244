"""The simulated kiosk's clock: one injected instant, never the wall calendar.

A simulated kiosk (``harness.sim.SimKiosk``) and its mock center run on the same clock: a scenario's
``clock`` or the caller's, running on from there. Which moments are service moments comes from the
center's own data: its hours (06:30–23:00 JST), its year-end closure (12/29–1/3), each municipality's
maintenance days and 戸籍 hours, and any center-wide maintenance window, through the center's own rule
function, so the harness never keeps a copy of a calendar that could go stale.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from datetime import datetime, timedelta

from mock_relay.faults import JST, Maintenance
from mock_relay.model import Municipality, Refusal
from mock_relay.registry import seed
from mock_relay.rules.calendar import check_service_hours, within

SEARCH_DAYS = 400  # more than a year: every closure and maintenance day is passed by then


class ClockError(ValueError):
    """A clock that is not an ISO 8601 time with an offset, or no service moment to be found."""


def parse_clock(text: str) -> datetime:
    """``2026-12-01T10:00:00+09:00`` → an aware datetime. Raises ClockError (one line)."""
    try:
        moment = datetime.fromisoformat(str(text))
    except ValueError as exc:
        raise ClockError(f"clock {text!r} is not an ISO 8601 time (e.g. 2027-03-01T10:00:00+09:00)") from exc
    if moment.tzinfo is None:
        raise ClockError(f"clock {text!r} needs an offset (e.g. +09:00)")
    return moment


def refusal_at(
    moment: datetime,
    municipalities: Iterable[Municipality] | None = None,
    maintenance: Maintenance | None = None,
) -> str | None:
    """Why the center would refuse a resident of any of ``municipalities`` (default: the center's seeded
    ones) at ``moment``, or None when every one of them is served, 戸籍 included. Raises ValueError for a
    naive ``moment``."""
    if moment.tzinfo is None:
        raise ValueError("the moment needs a time zone")
    if maintenance is not None and maintenance.active(moment):
        return "maintenance"
    for municipality in seed.municipalities() if municipalities is None else municipalities:
        try:
            check_service_hours(municipality, moment)
        except Refusal as refusal:
            return refusal.code
        if not within(municipality.koseki_hours, moment):
            return "koseki_out_of_hours"
    return None


def service_time(
    after: datetime,
    *,
    hour: int = 10,
    municipalities: Iterable[Municipality] | None = None,
    maintenance: Maintenance | None = None,
) -> datetime:
    """``hour`` o'clock JST on the first day after ``after``'s day (in JST) on which the center serves
    every municipality (see refusal_at). Raises ClockError when none comes within SEARCH_DAYS, ValueError
    for a naive ``after``."""
    if after.tzinfo is None:
        raise ValueError("after needs a time zone")
    towns = tuple(seed.municipalities() if municipalities is None else municipalities)
    day = after.astimezone(JST).date()
    for _ in range(SEARCH_DAYS):
        day += timedelta(days=1)
        moment = datetime(day.year, day.month, day.day, hour, tzinfo=JST)
        if refusal_at(moment, towns, maintenance) is None:
            return moment
    raise ClockError(f"no service day at {hour}:00 JST within {SEARCH_DAYS} days after {after:%Y-%m-%d}")


class SimClock:
    """An injected instant that runs on in real time from when it was made (thread-safe): what the
    simulated kiosk and its center both call ``now``."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("the clock needs a time zone")
        self.start = start
        self._lock = threading.Lock()
        self._began = time.monotonic()

    def now(self) -> datetime:
        """The injected start plus the real seconds since; aware."""
        with self._lock:
            return self.start + timedelta(seconds=time.monotonic() - self._began)

    def __call__(self) -> datetime:
        return self.now()
