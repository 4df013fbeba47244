"""The terminal heartbeat on a real SimKiosk: the mock center's ledger records it with the device states;
a center fault makes the staff "center" line FAILED with the reason, and it recovers; ``stop()`` is quick
even with a request in flight; a resident is served while every heartbeat fails."""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.scenario import Player, check_expectations, load_scenario
from harness.sim import SimKiosk
from kiosk.staff.diagnostics import LiveDevices
from kiosk.staff.heartbeat import Heartbeat, state_words
from kiosk.staff.status import DeviceStatus
from mock_relay.faults import FaultRule
from relay_client import CancelledError

REPO = Path(__file__).resolve().parents[3]
SCENARIOS = REPO / "harness" / "scenarios"


def wait_for(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def recorded(kiosk: SimKiosk) -> dict[str, Any] | None:
    """The heartbeat the mock center recorded for the sim's terminal (its ledger), or None."""
    assert kiosk.server.center is not None
    row = kiosk.server.center.ledger.query_one("SELECT * FROM heartbeats WHERE terminal_id=?", ("T-0001",))
    return None if row is None else dict(json.loads(row["payload"]))


@pytest.fixture
def kiosk(tmp_path: Path) -> Iterator[SimKiosk]:
    with SimKiosk(tmp_path, {"heartbeat_s": 0.2}) as k:
        yield k


def test_the_center_records_the_device_states(kiosk: SimKiosk) -> None:
    wait_for(lambda: recorded(kiosk) is not None)
    payload = recorded(kiosk)
    assert payload is not None
    devices = payload["devices"]
    assert devices["printer"] == "ok" and devices["coin acceptor"] == "ok"
    assert "center" not in devices and len(devices) <= 16
    assert all(isinstance(v, str) and len(v) <= 64 for v in devices.values())
    wait_for(lambda: kiosk.heartbeat.sent >= 3)  # every next_heartbeat_s (capped to 0.2 s here)
    status = kiosk.heartbeat.link_status()
    assert status.ok and status.detail.startswith("last heartbeat") and status.detail.endswith("s ago")


def test_a_center_fault_shows_failed_with_the_reason_and_recovers(kiosk: SimKiosk) -> None:
    wait_for(lambda: kiosk.heartbeat.link_status().ok)
    fault = {"kind": "error", "route": "heartbeat", "status": 503}
    rule = kiosk.server.faults.add(FaultRule.from_json(fault))
    wait_for(lambda: not kiosk.heartbeat.link_status().ok)
    failed = kiosk.heartbeat.link_status()
    assert failed.device == "center" and failed.detail.startswith("failing since ")
    assert "503" in failed.detail or "injected_fault" in failed.detail, failed.detail
    staff = LiveDevices(kiosk.cash, kiosk.printer, link=kiosk.heartbeat).status()
    (center,) = [s for s in staff if s.device == "center"]  # the live line, in place of a start-up one
    assert not center.ok and center.detail.startswith("failing since ")
    kiosk.server.faults.remove(rule.id)
    wait_for(lambda: kiosk.heartbeat.link_status().ok)
    assert kiosk.heartbeat.link_status().detail.startswith("last heartbeat")


def test_stop_returns_within_a_second_with_a_request_in_flight(kiosk: SimKiosk) -> None:
    wait_for(lambda: kiosk.heartbeat.sent >= 1)
    kiosk.server.faults.add(FaultRule.from_json({"kind": "latency", "route": "heartbeat", "delay_s": 5}))
    time.sleep(0.5)  # the next heartbeat is waiting on the slow center
    started = time.monotonic()
    kiosk.heartbeat.stop()
    assert time.monotonic() - started < 1.0
    sent = kiosk.heartbeat.sent
    time.sleep(0.5)
    assert kiosk.heartbeat.sent == sent  # no heartbeat after stop


def test_a_resident_is_served_while_every_heartbeat_fails(tmp_path: Path) -> None:
    scenario = load_scenario(SCENARIOS / "juminhyo.toml")
    setup = dict(scenario.setup)
    setup["heartbeat_s"] = 0.1
    setup["center_faults"] = [{"kind": "error", "route": "heartbeat", "status": 503}]
    with SimKiosk(tmp_path, setup) as k:
        final = Player(k.flow, k.hands).play(scenario, step_timeout=60)
        assert check_expectations(scenario, final) == []
        status = k.heartbeat.link_status()
        assert not status.ok and status.detail.startswith("failing since")
        assert recorded(k) is None


class _Refusing:
    def heartbeat(self, devices: Any, *, app_version: str = "", cancel: Any = None) -> Any:
        raise ConnectionError("center down")


class _Probe:
    def status(self) -> list[DeviceStatus]:
        return [DeviceStatus("printer", False, "paper out " * 20), DeviceStatus("center", True, "x")]


def test_state_words_are_short_and_leave_the_center_out() -> None:
    words = state_words(_Probe().status())
    assert list(words) == ["printer"] and words["printer"].startswith("fault: paper out")
    assert len(words["printer"]) == 64


def test_a_failing_client_never_raises_and_keeps_the_first_failure_time() -> None:
    beat = Heartbeat(_Refusing(), _Probe(), interval=30.0)
    assert beat.link_status() == DeviceStatus("center", False, "no heartbeat yet")
    assert beat.beat() == 30.0
    assert Heartbeat(_Refusing(), _Probe(), interval=30.0, cap=0.5).beat() == 0.5
    first = beat.beat_now()
    assert not first.ok and first.detail.endswith("ConnectionError: center down")
    assert beat.beat_now() == first  # "failing since" stays the first failure's time


class _Cancellable:
    """A center that answers only when the request is cancelled, as relay_client does: CancelledError."""

    def __init__(self) -> None:
        self.asked = threading.Event()

    def heartbeat(self, devices: Any, *, cancel: threading.Event | None = None) -> Any:
        self.asked.set()
        assert cancel is not None and cancel.wait(5.0)
        raise CancelledError("POST /v1/terminals/heartbeat cancelled")


def test_stopping_cancels_the_request_in_flight_and_that_is_no_failure(
    caplog: pytest.LogCaptureFixture,
) -> None:
    center = _Cancellable()
    beat = Heartbeat(center, _Probe(), interval=30.0).start()
    assert center.asked.wait(5.0)
    beat.stop(timeout=2.0)
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert beat.link_status() == DeviceStatus("center", False, "no heartbeat yet")  # not "failing since"


def test_failing_since_is_shown_in_jst_with_its_label() -> None:
    beat = Heartbeat(_Refusing(), _Probe())
    line = beat.beat_now()
    assert re.fullmatch(r"failing since \d\d:\d\d JST: ConnectionError: center down", line.detail), line
