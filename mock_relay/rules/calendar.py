"""The service calendar of コンビニ交付: the national hours, the year-end closure, municipal maintenance
days, and which 年度 a municipality issues tax certificates for. Pure functions, JST throughout.

Public API (stable):
    check_service_hours(municipality, now) -> None                 raises Refusal
    within(hours, now) -> bool
    tax_years_offered(municipality, now) -> tuple[int, ...]
    jst(now) -> datetime                                           raises ValueError for a naive time
"""

from __future__ import annotations

from datetime import datetime

from mock_relay.model import GENERAL_HOURS, JST, YEAR_END_CLOSURE, Municipality, ServiceHours
from mock_relay.rules.text import refusal


def jst(now: datetime) -> datetime:
    """``now`` in JST. Raises ValueError when ``now`` is naive."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return now.astimezone(JST)


def within(hours: ServiceHours, now: datetime) -> bool:
    """True when JST ``now`` is inside ``hours`` (start inclusive, end exclusive)."""
    t = jst(now)
    if hours.weekdays_only and t.weekday() >= 5:
        return False
    return hours.start <= t.time().replace(tzinfo=None) < hours.end


def check_service_hours(municipality: Municipality | None, now: datetime) -> None:
    """Service window: 06:30–23:00 JST, closed 12/29–1/3 and on the municipality's maintenance days.

    Raises:
        Refusal: ``year_end_closure``, ``out_of_hours`` or ``maintenance``.
        ValueError: ``now`` is naive.
    """
    t = jst(now)
    if (t.month, t.day) in YEAR_END_CLOSURE:
        raise refusal("year_end_closure")
    if not within(GENERAL_HOURS, t):
        raise refusal("out_of_hours")
    if municipality is not None and t.date() in municipality.maintenance_days:
        raise refusal("maintenance", name=municipality.name)


def tax_years_offered(municipality: Municipality, now: datetime) -> tuple[int, ...]:
    """The 年度 this municipality issues tax certificates for at ``now``, latest first.

    Raises:
        ValueError: ``now`` is naive.
    """
    t = jst(now)
    latest = t.year if (t.month, t.day) >= municipality.tax_switch else t.year - 1
    return tuple(latest - i for i in range(municipality.tax_years))
