"""Fault schedules: what goes wrong, where and when, during a fleet run (a TOML file).

```toml
period = 40            # seconds; the schedule repeats (a run longer than one period sees it again)
[[center]]             # a mock_relay FaultRule, active from start to end (seconds into each period)
kind = "latency"       # latency | error | drop | drop_after | ocsp_down
route = "issueDocuments"
delay_s = 1.5
start = 5
end = 12
[[device]]             # each transaction that starts in the window gets it with this probability
kind = "printer_jam"   # printer_jam | paper_out | silent_cash | card_pulled
probability = 0.2
start = 0
end = 40
```

The center's windows are set and cleared over the center's admin routes (:class:`CenterFaults`, one per
fleet: the local run or the Locust master); device faults are folded into each resident's plan by whoever
draws it. ``default.toml`` ships beside this module.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import random
import threading
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.fleet.center import CenterError, CenterHandle
from harness.fleet.mix import Plan
from mock_relay.faults import FaultError, FaultRule

log = logging.getLogger(__name__)
SCHEDULES = Path(__file__).parent / "schedules"
DEVICE_KINDS = ("printer_jam", "paper_out", "silent_cash", "card_pulled")


class ScheduleError(ValueError):
    """A fault schedule is unreadable or malformed."""


@dataclass(frozen=True)
class CenterWindow:
    rule: FaultRule
    start: float
    end: float

    @property
    def label(self) -> str:
        r = self.rule
        return f"{r.kind} {r.route or 'all routes'}" + (f" {r.status}" if r.kind == "error" else "")


@dataclass(frozen=True)
class DeviceWindow:
    kind: str
    probability: float
    start: float
    end: float


@dataclass(frozen=True)
class Schedule:
    """A parsed schedule; an empty one (``Schedule.none()``) injects nothing."""

    period: float
    center: tuple[CenterWindow, ...] = ()
    device: tuple[DeviceWindow, ...] = ()

    @classmethod
    def none(cls) -> Schedule:
        return cls(3600.0)

    @classmethod
    def load(cls, path: Path) -> Schedule:
        """Read a schedule file (or the name of a bundled one). Raises ScheduleError."""
        if not path.exists() and (SCHEDULES / f"{path.name}.toml").exists():
            path = SCHEDULES / f"{path.name}.toml"
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
            period = float(data.get("period", 60))
            center = tuple(_center(w) for w in data.get("center", []))
            device = tuple(_device(w) for w in data.get("device", []))
        except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError, FaultError, TypeError) as exc:
            raise ScheduleError(f"{path}: {exc}") from exc
        except (KeyError, ValueError) as exc:
            raise ScheduleError(f"{path}: {exc!r}") from exc
        if period <= 0:
            raise ScheduleError(f"{path}: period must be positive")
        return cls(period, center, device)

    def device_faults(self, elapsed: float, rng: random.Random) -> list[str]:
        """The device faults a transaction starting ``elapsed`` s into the run gets."""
        t = elapsed % self.period
        return [w.kind for w in self.device if w.start <= t < w.end and rng.random() < w.probability]


def _window(w: dict[str, Any]) -> tuple[float, float]:
    start, end = float(w.pop("start")), float(w.pop("end"))
    if not 0 <= start < end:
        raise ValueError(f"window {start}..{end}: start must be >= 0 and before end")
    return start, end


def _center(w: dict[str, Any]) -> CenterWindow:
    w = dict(w)
    start, end = _window(w)
    return CenterWindow(FaultRule.from_json(w), start, end)


def _device(w: dict[str, Any]) -> DeviceWindow:
    w = dict(w)
    start, end = _window(w)
    kind, probability = str(w["kind"]), float(w.get("probability", 1.0))
    if kind not in DEVICE_KINDS:
        raise ValueError(f"device fault kind must be one of {', '.join(DEVICE_KINDS)}")
    return DeviceWindow(kind, probability, start, end)


def apply_device_faults(plan: Plan, faults: list[str], rng: random.Random) -> Plan:
    """``plan`` with the schedule's device faults (a happy plan only: a resident's own fault stays)."""
    if plan.kind != "happy" or not faults:
        return plan
    kind = faults[0]
    changes: dict[str, Any] = {"scenario": f"{plan.scenario}+{kind}"}
    if kind in ("printer_jam", "paper_out"):
        changes |= {"kind": kind, "fault_sheet": rng.randint(1, 2)}
    elif kind == "silent_cash":
        changes["silent_cash"] = True
    elif kind == "card_pulled":
        changes["pull_card_at"] = "reading"
    return dataclasses.replace(plan, **changes)


class CenterFaults:
    """Sets and clears the schedule's center windows while a run lasts; ``windows`` records each one as
    (start, end, label) in wall-clock seconds for the report."""

    def __init__(self, schedule: Schedule, center: CenterHandle, log_path: Path) -> None:
        self.schedule, self.center, self.log_path = schedule, center, log_path
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="fleet-center-faults", daemon=True)
        self.started = 0.0

    def start(self) -> CenterFaults:
        self.started = time.time()
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop and clear every rule. Raises nothing (a gone center has no rules left)."""
        self._stop.set()
        self._thread.join(timeout=10)
        try:
            self.center.clear_faults()
        except CenterError as exc:
            log.warning("could not clear the center's faults: %s", exc)

    def _run(self) -> None:
        active: dict[int, tuple[int, float]] = {}  # window index -> (rule id, wall start)
        while not self._stop.wait(0.2):
            t = (time.time() - self.started) % self.schedule.period
            for index, window in enumerate(self.schedule.center):
                inside = window.start <= t < window.end
                try:
                    if inside and index not in active:
                        active[index] = (self.center.add_fault(window.rule), time.time())
                    elif not inside and index in active:
                        rule_id, began = active.pop(index)
                        self._record(began, time.time(), window.label)
                        self.center.remove_fault(rule_id)
                except CenterError as exc:
                    log.warning("fault window %s: %s", window.label, exc)
        now = time.time()
        for index, (_, began) in active.items():
            self._record(began, now, self.schedule.center[index].label)

    def _record(self, start: float, end: float, label: str) -> None:
        with self.log_path.open("a", encoding="utf-8") as out:
            out.write(json.dumps({"start": start, "end": end, "label": label}) + "\n")
