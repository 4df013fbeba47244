"""The kiosk's clock against the center's, without devices: the skew from one request, how it is said, the
watch's bounds and listeners, the heartbeat comparing each answer's time."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from kiosk.staff.heartbeat import Heartbeat
from kiosk.staff.skew import STAFF_CODE, ClockWatch, describe_skew, skew_seconds
from kiosk.staff.status import DeviceStatus

T0 = datetime(2026, 12, 7, 1, 0, 0, tzinfo=UTC)


def center_at(seconds: float) -> datetime:
    """The center's time ``seconds`` after T0, with a fraction (not read as a truncated whole second)."""
    return T0 + timedelta(seconds=seconds, microseconds=1)


def test_skew_is_taken_at_the_midpoint_of_the_request() -> None:
    center = T0.replace(microsecond=250_000)
    sent, received = T0 + timedelta(seconds=10), T0 + timedelta(seconds=12)
    assert skew_seconds(center, sent, received) == pytest.approx(10.75)  # kiosk ahead: positive


def test_a_center_time_of_whole_seconds_is_read_as_the_middle_of_its_second() -> None:
    # The center truncates to the second: 10:00:00 means somewhere in [10:00:00, 10:00:01).
    assert skew_seconds(T0, T0 - timedelta(seconds=552), T0 - timedelta(seconds=552)) == pytest.approx(-552.5)
    assert skew_seconds(T0, T0, T0 + timedelta(seconds=1)) == pytest.approx(0.0)


@pytest.mark.parametrize(
    ("skew", "said"),
    [
        (-552.0, "9 min 12 s behind the center"),
        (552.4, "9 min 12 s ahead of the center"),
        (-3605.0, "1 h 0 min 5 s behind the center"),
        (7.0, "7 s ahead of the center"),
        (0.3, "0 s off the center"),
    ],
)
def test_the_skew_is_said_in_whole_units(skew: float, said: str) -> None:
    assert describe_skew(skew) == said


def test_the_watch_goes_out_of_bounds_and_back_telling_its_listeners_once_each_way() -> None:
    watch = ClockWatch(120.0)
    heard: list[bool] = []
    watch.subscribe(heard.append)
    assert heard == [True] and watch.ok and watch.detail == "not compared with the center yet"
    watch.observe(center_at(60), T0, T0)  # 60 s behind: within 120 s
    assert watch.ok and watch.line().startswith("clock: ok: 1 min 0 s behind the center (limit 120 s)")
    watch.observe(center_at(552), T0, T0)
    watch.observe(center_at(553), T0, T0)  # still out: no second call
    assert heard == [True, False] and not watch.ok
    assert watch.line() == (
        "clock: FAILED: 9 min 13 s behind the center (more than 120 s):"
        f" out of service, staff code {STAFF_CODE}"
    )
    watch.observe(center_at(-2), T0, T0)
    assert heard == [True, False, True] and watch.ok


def test_a_watch_not_enforced_measures_but_never_refuses() -> None:
    watch = ClockWatch(120.0, enforce=False)
    watch.observe(center_at(20 * 3600), T0, T0)
    assert watch.ok and "20 h 0 min 0 s behind the center (not enforced" in watch.detail


def test_measure_brackets_the_request_with_the_kiosks_clock() -> None:
    ticks = iter([T0, T0 + timedelta(seconds=4)])
    watch = ClockWatch(120.0, now=lambda: next(ticks))
    skew = watch.measure(lambda: T0 + timedelta(seconds=200, microseconds=1))
    assert skew == pytest.approx(-198.0, abs=0.01) and not watch.ok and watch.skew == skew


@dataclass(frozen=True)
class _Ack:
    next_heartbeat_s: float
    server_time: datetime


class _Center:
    def __init__(self, server_time: datetime) -> None:
        self.server_time = server_time

    def heartbeat(self, devices: Mapping[str, str], *, cancel: threading.Event | None = None) -> _Ack:
        return _Ack(60.0, self.server_time)


class _Devices:
    def __init__(self, watch: ClockWatch) -> None:
        self.watch = watch

    def status(self) -> list[DeviceStatus]:
        return [
            DeviceStatus("printer", True, "ready"),
            DeviceStatus("clock", self.watch.ok, self.watch.detail),
        ]


def test_each_heartbeat_compares_the_centers_time_and_the_state_goes_to_the_center() -> None:
    watch = ClockWatch(120.0, now=lambda: T0)
    heard: list[bool] = []
    watch.subscribe(heard.append)
    center = _Center(center_at(552))
    beat = Heartbeat(center, _Devices(watch), watch=watch)
    assert beat.beat_now().ok and heard == [True, False]
    assert watch.detail.startswith("9 min 12 s behind the center")
    center.server_time = center_at(0)  # the clock was set right (NTP)
    sent: list[Mapping[str, str]] = []
    original = center.heartbeat

    def record(devices: Mapping[str, str], *, cancel: threading.Event | None = None) -> _Ack:
        sent.append(dict(devices))
        return original(devices, cancel=cancel)

    center.heartbeat = record  # type: ignore[method-assign]
    beat.beat_now()
    assert heard == [True, False, True]
    assert sent[0]["clock"].startswith("fault: 9 min 12 s behind the center") and len(sent[0]["clock"]) <= 64
