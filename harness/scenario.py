"""A scripted resident: a TOML scenario of steps (wait for a screen, then act) played against a flow.

Actions: start, route, insert_card, remove_card, pin, choose, options, copies, confirm, coins, notes,
cancel, idle (wait ``seconds`` doing nothing, e.g. past a timeout), finish. A file with an unknown action,
screen or key, or an action without the value it needs, is refused before anything starts. The player
prints each step as the screen it waited for and what it did, the same from run to run (the screen an
action leads to depends on thread timing, so it is not printed); a PIN is printed as ****.
"""

from __future__ import annotations

import logging
import threading
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from kiosk.app.control import describe
from kiosk.flow import events as ev
from kiosk.flow.machine import Flow
from kiosk.flow.view import Screen, ViewState

log = logging.getLogger(__name__)
SCENARIOS = Path(__file__).parent / "scenarios"  # the bundled scenarios
_END = (Screen.DONE, Screen.FAILED, Screen.REGISTERED)  # REGISTERED: a 本籍地 利用登録 ended well


class ScenarioError(ValueError):
    """The scenario file is unreadable or malformed."""


# action -> the keys it needs (beyond do / wait / timeout) and the ones it may have
ACTIONS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "start": ((), ("language",)),
    "route": ((), ("route",)),
    "insert_card": ((), ()),
    "remove_card": ((), ()),
    "pin": (("pin",), ()),
    "choose": (("type",), ()),
    "options": (("options",), ()),
    "copies": (("copies",), ()),
    "confirm": ((), ()),
    "cancel": ((), ()),
    "finish": ((), ()),
    "idle": ((), ("seconds",)),
    "coins": (("coins",), ()),
    "notes": (("notes",), ()),
}
_STEP_KEYS = ("do", "wait", "timeout")


class Hands(Protocol):
    """What the resident does with the machine besides the touchscreen."""

    def insert_card(self) -> None: ...

    def remove_card(self) -> None: ...

    def insert_coin(self, yen: int) -> None: ...

    def insert_note(self, yen: int) -> None: ...


@dataclass(frozen=True)
class Scenario:
    name: str
    setup: dict[str, Any]
    steps: tuple[dict[str, Any], ...]
    expect: dict[str, Any] = field(default_factory=dict)


def scenario_path(name: str) -> Path:
    """A scenario file, by path or by the name of a bundled one. Raises ScenarioError."""
    path = Path(name)
    if path.exists():
        return path
    bundled = SCENARIOS / f"{name.removesuffix('.toml')}.toml"
    if bundled.exists():
        return bundled
    raise ScenarioError(
        f"no scenario {name!r} (bundled: {', '.join(p.stem for p in sorted(SCENARIOS.glob('*.toml')))})"
    )


def load_scenario(path: Path) -> Scenario:
    """Parse a scenario file. Raises ScenarioError with a clear message."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"{path}: {exc}") from exc
    steps = data.get("step", [])
    if not isinstance(steps, list) or not all(isinstance(s, dict) for s in steps):
        raise ScenarioError(f"{path}: [[step]] tables expected")
    for index, step in enumerate(steps, 1):
        check_step(step, f"{path}: step {index}")
    for table in ("setup", "expect"):
        if not isinstance(data.get(table, {}), dict):
            raise ScenarioError(f"{path}: [{table}] must be a table")
    return Scenario(
        str(data.get("name", path.stem)),
        dict(data.get("setup", {})),
        tuple(steps),
        dict(data.get("expect", {})),
    )


def check_step(step: dict[str, Any], where: str) -> None:
    """One ``[[step]]`` table: a known screen to wait for, a known action with the keys it needs and no
    others. Raises ScenarioError starting with ``where``."""
    if "do" not in step and "wait" not in step:
        raise ScenarioError(f"{where} has neither 'do' nor 'wait'")
    if "wait" in step and (
        not isinstance(step["wait"], str) or step["wait"] not in {s.value for s in Screen}
    ):
        raise ScenarioError(f"{where}: unknown screen {step['wait']!r}")
    if "do" not in step:
        extra = sorted(set(step) - set(_STEP_KEYS))
        if extra:
            raise ScenarioError(f"{where}: {extra[0]!r} without an action ('do')")
        return
    action = step["do"]
    if not isinstance(action, str) or action not in ACTIONS:
        raise ScenarioError(f"{where}: unknown action {action!r} (actions: {', '.join(ACTIONS)})")
    needs, may = ACTIONS[action]
    missing = [key for key in needs if key not in step]
    if missing:
        raise ScenarioError(f"{where}: {action} needs {missing[0]!r}")
    unknown = sorted(set(step) - set(_STEP_KEYS) - set(needs) - set(may))
    if unknown:
        raise ScenarioError(f"{where}: {action} takes no {unknown[0]!r}")


class Player:
    """Plays a scenario; ``out`` receives one line per step."""

    def __init__(self, flow: Flow, hands: Hands, out: Callable[[str], None] = print) -> None:
        self.flow, self.hands, self.out = flow, hands, out
        self._changed = threading.Condition()
        self.views: list[ViewState] = []
        self.ended: ViewState | None = None  # the first DONE / FAILED view (kept after a finish)
        self._first = flow.view.screen
        flow.subscribe(self._seen)

    def _seen(self, view: ViewState) -> None:
        with self._changed:
            self.views.append(view)
            if self.ended is None and view.screen in _END:
                self.ended = view
            self._changed.notify_all()

    def wait_for(self, screen: Screen, timeout: float) -> ViewState:
        """Wait until the flow shows ``screen`` (or ends). Raises TimeoutError."""
        with self._changed:
            ok = self._changed.wait_for(
                lambda: (
                    self.flow.view.screen is screen or (screen not in _END and self.flow.view.screen in _END)
                ),
                timeout,
            )
            if not ok:
                raise TimeoutError(
                    f"screen {screen} not reached in {timeout:.0f} s (at {self.flow.view.screen})"
                )
            return self.flow.view

    def play(self, scenario: Scenario, *, step_timeout: float = 60.0) -> ViewState:
        """Run every step, then wait for the end. Returns the last view.
        Raises TimeoutError, ScenarioError."""
        for index, step in enumerate(scenario.steps, 1):
            if "wait" in step:
                view = self.wait_for(Screen(step["wait"]), float(step.get("timeout", step_timeout)))
                if view.screen in _END and view.screen.value != step["wait"]:
                    self.out(f"[{index:2}] expected {step['wait']}, the flow ended: {describe(view)}")
                    return view
            if "do" in step:
                self._act(step)
            time.sleep(0.05)  # let the flow take the action before the next wait
            self.out(step_line(index, step))
        final = self.wait_for_end(step_timeout)
        self.out(f"outcome: {describe(final)}")
        self.out("screens: " + " -> ".join(self.screens()))
        return final

    def screens(self) -> list[str]:
        """The screens the flow has shown so far, in order, each once per visit (a countdown repaints the
        same screen). Never raises."""
        with self._changed:
            path = [str(self._first)]
            for view in self.views:
                if not path or path[-1] != str(view.screen):
                    path.append(str(view.screen))
            return path

    def wait_for_end(self, timeout: float) -> ViewState:
        """Wait for DONE or FAILED (the view the transaction ended on, even if a ``finish`` step has since
        taken the kiosk back to the start). Raises TimeoutError."""
        with self._changed:
            if not self._changed.wait_for(lambda: self.ended is not None, timeout):
                raise TimeoutError(f"the transaction did not end (at {self.flow.view.screen})")
            assert self.ended is not None
            return self.ended

    def _act(self, step: dict[str, Any]) -> None:
        action = step["do"]
        post = self.flow.post
        simple: dict[str, Callable[[], None]] = {
            "start": lambda: post(ev.Start(str(step.get("language", "ja")))),
            "route": lambda: post(ev.ChooseRoute(str(step.get("route", "residence")))),
            "insert_card": self.hands.insert_card,
            "remove_card": self.hands.remove_card,
            "pin": lambda: post(ev.PinEntered(str(step["pin"]))),
            "choose": lambda: post(ev.ChooseType(str(step["type"]))),
            "options": lambda: post(ev.ChooseOptions(tuple((k, str(v)) for k, v in step["options"].items()))),
            "copies": lambda: post(ev.ChooseCopies(int(step["copies"]))),
            "confirm": lambda: post(ev.Confirm()),
            "cancel": lambda: post(ev.Cancel()),
            "finish": lambda: post(ev.Finish(resident=True)),  # 終了: refused on a call-staff screen
            "idle": lambda: time.sleep(float(step.get("seconds", 1))),
            "coins": lambda: self._money(step["coins"], self.hands.insert_coin),
            "notes": lambda: self._money(step["notes"], self.hands.insert_note),
        }
        if action not in simple:
            raise ScenarioError(f"unknown action {action!r}")
        simple[action]()

    def _money(self, amounts: list[int], insert: Callable[[int], None]) -> None:
        for yen in amounts:
            insert(int(yen))
            time.sleep(0.15)  # one coin per acceptor poll, as a resident would


def step_line(index: int, step: dict[str, Any]) -> str:
    """How a step is logged: ``[ 4] pin: pin ****`` (the screen waited for, the action and its values;
    a PIN as ****). Only what the scenario says, so the log of one scenario is the same every run."""
    shown = "****" if step.get("do") == "pin" else _params(step)
    action = f"{step.get('do', 'wait')} {shown}".rstrip()
    return f"[{index:2}] {step['wait']}: {action}" if "wait" in step else f"[{index:2}] {action}"


def _params(step: dict[str, Any]) -> str:
    return " ".join(f"{k}={v}" for k, v in step.items() if k not in _STEP_KEYS)


def check_expectations(scenario: Scenario, view: ViewState) -> list[str]:
    """Differences between the scenario's [expect] table and the final view (empty: as expected)."""
    o = view.outcome
    got: dict[str, object] = {
        "outcome": o.reason if o else "",
        "message": o.message_key if o else "",
        "staff": o.staff_code if o else "",
        "pages": view.pages_printed,
        "refunded": o.refunded if o else 0,
        "change": view.change,
    }
    return unmet_expectations(scenario.expect, got)


def unmet_expectations(expect: dict[str, Any], got: dict[str, object]) -> list[str]:
    """``expected X, got Y`` for each [expect] key the outcome ``got`` does not meet (empty: all met)."""
    return [f"{k}: expected {v!r}, got {got.get(k)!r}" for k, v in expect.items() if got.get(k) != v]
