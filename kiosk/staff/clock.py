"""The one time zone staff see: Japan Standard Time, always labelled (no kivy).

The journal keeps UTC (ISO 8601 with its offset); every time a staff tool shows (``kiosk diag``, ``kiosk
cash stock``, the heartbeat's "failing since", the self-test's center time, a refusal naming when an item
was closed) goes through ``staff_time`` so it reads ``2026-12-07 09:36 JST`` wherever it appears.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

__all__ = ["JST", "staff_time"]

JST = timezone(timedelta(hours=9), "JST")  # Japan keeps no daylight saving time


def staff_time(at: datetime | str, layout: str = "%Y-%m-%d %H:%M") -> str:
    """``at`` in JST, laid out by ``layout`` (strftime) and labelled: ``2026-12-07 09:36 JST``. A string is
    read as ISO 8601; a naive time is taken as UTC (the journal writes UTC). Raises ValueError for a
    string that is not ISO 8601."""
    when = datetime.fromisoformat(at) if isinstance(at, str) else at
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return f"{when.astimezone(JST).strftime(layout)} JST"
