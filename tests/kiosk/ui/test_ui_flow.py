"""The touchscreen on the real flow, end to end off screen: ``kiosk-harness demo-ui`` plays a 住民票 resident
(loopback reader, mock center, cash and printer simulators) through the real screens, every intent a
simulated finger tap on the real widget through Kivy's input path (harness.ui.touch): the start and language
buttons, the route, the PIN keypad, the certificate type, the option toggles, copies -/+, confirm and
音声停止. The flow's post is watched: every resident intent must arrive from the UI thread (a widget's
handler), never from the player's thread.

Kivy's window can run once per process, so each demo runs in a child process: this file, run as a script,
is that child; it inspects the widget tree on the UI thread at every screenshot and right after the PIN
is typed, and reports as JSON.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[3]
EXPECTED = [
    "attract",
    "route",
    "place_card",
    "reading",
    "pin",
    "verifying",
    "authenticating",
    "remove_card",
    "choose_type",
    "options",
    "copies",
    "confirm",
    "issuing",
    "pay",
    "finishing_payment",
    "printing",
    "reporting",
    "done",
]
INTENTS = (
    "Start",
    "ChooseRoute",
    "PinEntered",
    "ChooseType",
    "ChooseOptions",
    "ChooseCopies",
    "Confirm",
    "Back",
    "Cancel",
    "Finish",
)
PIN_TAPS = [["pin", "a digit key"]] * 4 + [["pin", "ok"]]
TAPS = {
    "juminhyo": [
        ["attract", "start"],
        ["route", "residence"],
        *PIN_TAPS,
        ["choose_type", "juminhyo"],
        ["options", "scope=all"],
        ["options", "next"],
        ["copies", "next"],
        ["confirm", "ok"],
    ],
    "juminhyo_en": [
        ["attract", "language"],
        ["language", "language en"],
        ["attract", "start"],
        ["route", "residence"],
        *PIN_TAPS,
        ["choose_type", "juminhyo"],
        ["options", "scope=all"],
        ["options", "honseki=True"],
        ["options", "next"],
        ["copies", "more"],
        ["copies", "next"],
        ["confirm", "ok"],
        ["done", "finish"],
    ],
}
POSTED = {
    "juminhyo": [
        ["Start", "ja"],
        ["ChooseRoute", "residence"],
        ["PinEntered", ""],
        ["ChooseType", "juminhyo"],
        ["ChooseOptions", "honseki=False scope=all setainushi=False"],
        ["ChooseCopies", "1"],
        ["Confirm", ""],
    ],
    "juminhyo_en": [
        ["Start", "en"],
        ["ChooseRoute", "residence"],
        ["PinEntered", ""],
        ["ChooseType", "juminhyo"],
        ["ChooseOptions", "honseki=True scope=all setainushi=False"],
        ["ChooseCopies", "2"],
        ["Confirm", ""],
        ["Finish", ""],
    ],
}


def _strings(shell: Any) -> list[str]:
    """Every string property of every widget in the shell and all its screens (shown or not)."""
    found: list[str] = []
    stack = [shell, *shell.screens.values()]
    while stack:
        widget = stack.pop()
        stack.extend(widget.children)
        for name in widget.properties():
            value = getattr(widget, name, None)
            if isinstance(value, str):
                found.append(value)
    return found


def _watch_posts(flow: Any, posted: list[list[str]]) -> None:
    """Record each resident intent the flow receives, with its value (never a PIN) and whether it came
    from the UI thread."""
    post = flow.post

    def watched(event: Any) -> None:
        name = type(event).__name__
        if name in INTENTS:
            value = {
                "Start": lambda: event.language,
                "ChooseRoute": lambda: event.route,
                "ChooseType": lambda: event.type,
                "ChooseOptions": lambda: " ".join(f"{k}={v}" for k, v in sorted(event.options)),
                "ChooseCopies": lambda: str(event.copies),
            }.get(name, lambda: "")()
            ui_thread = threading.current_thread() is threading.main_thread()
            posted.append([name, str(value), "ui" if ui_thread else threading.current_thread().name])
        post(event)

    flow.post = watched


def child(name: str, out: Path, work: Path) -> int:
    """Run the demo with a widget-tree inspector; print the report as the last line of stdout."""
    from kiosk.ui.launch import prepare_kivy

    prepare_kivy(work / "kivy-home", offscreen=True, size="800x600")
    from harness.cli import scenario_path as _scenario_path
    from harness.scenario import load_scenario
    from harness.sim import SimKiosk
    from harness.ui.demo import run_demo

    scenario = load_scenario(_scenario_path(name))
    pins = [str(s["pin"]) for s in scenario.steps if s.get("do") == "pin"]
    report: dict[str, Any] = {"inspected": [], "pin_hits": [], "typed": None, "posted": []}

    def inspect(shell: Any, label: str) -> None:
        report["inspected"].append(label)
        if label == "pin-typed":
            report["typed"] = shell.screens["pin"].entered
        hits = [s for s in _strings(shell) for pin in pins if pin in s]
        if hits:
            report["pin_hits"].append(label)

    with SimKiosk(work, {**scenario.setup, "reader": "loopback"}) as kiosk:
        _watch_posts(kiosk.flow, report["posted"])
        result = run_demo(scenario, kiosk, out, step_timeout=20.0, inspect=inspect)
        report["pages"] = len(kiosk.copy_printed(out.parent / "pages"))
        report["after"] = str(kiosk.flow.view.screen.value)
    report.update(
        taps=[[t.screen, t.target] for t in result.taps],
        final=result.final_screen,
        problems=list(result.problems),
        screens=[c.flow_screen for c in result.captures],
        ui=[c.ui_screen for c in result.captures],
        files=[c.path.name for c in result.captures],
    )
    print(json.dumps(report))
    return 0


def _run_child(name: str, tmp_path: Path) -> tuple[dict[str, Any], Path]:
    out = tmp_path / "screens"
    proc = subprocess.run(
        [sys.executable, __file__, name, str(out), str(tmp_path / "work")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=80,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1]), out


@pytest.mark.slow
@pytest.mark.timeout(90)
def test_juminhyo_tapped_through_the_real_screens(tmp_path: Path) -> None:
    started = time.monotonic()
    report, out = _run_child("juminhyo", tmp_path)
    assert time.monotonic() - started < 60
    assert report["problems"] == [] and report["final"] == "done"
    assert report["screens"] == EXPECTED
    assert report["files"] == [f"{i:02d}-{s}.png" for i, s in enumerate(EXPECTED, 1)]
    assert report["ui"][EXPECTED.index("pin")] == "pin" and report["ui"][-1] == "done"
    assert sorted(p.name for p in out.iterdir()) == report["files"]
    for png in out.iterdir():
        data = png.read_bytes()
        assert data.startswith(b"\x89PNG") and len(data) > 5000, png.name  # a blank 800x600 is ~2 kB
    assert report["taps"] == TAPS["juminhyo"]  # every intent was a tap that reached its widget ...
    assert [p[:2] for p in report["posted"]] == POSTED["juminhyo"]
    assert {p[2] for p in report["posted"]} == {"ui"}  # ... and reached the flow from the widget's handler
    assert report["typed"] == 4  # the PIN went in through the keypad ...
    assert "pin-typed" in report["inspected"] and len(report["inspected"]) == len(EXPECTED) + 1
    assert report["pin_hits"] == []  # ... and never showed up in any widget's text
    assert report["pages"] == 2


@pytest.mark.slow
@pytest.mark.timeout(90)
def test_english_resident_picks_language_options_copies_and_stops_the_sound(tmp_path: Path) -> None:
    report, _out = _run_child("juminhyo_en", tmp_path)
    assert report["problems"] == [] and report["final"] == "done"
    assert report["taps"] == TAPS["juminhyo_en"]
    assert [p[:2] for p in report["posted"]] == POSTED["juminhyo_en"]
    assert {p[2] for p in report["posted"]} == {"ui"}
    assert report["screens"] == EXPECTED
    assert report["after"] == "attract"  # 音声停止 (stop sound) ended the transaction
    assert report["pages"] == 4  # two copies of a two-page 住民票
    assert report["pin_hits"] == []


if __name__ == "__main__":
    sys.exit(child(sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])))
