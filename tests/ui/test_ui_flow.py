"""The touchscreen on the real flow, end to end off screen: ``kiosk demo-ui`` plays the 住民票 happy path
(loopback reader, mock center, cash and printer simulators) through the real screens, the PIN typed on
the real keypad.

Kivy's window can run once per process, so the demo runs in a child process: this file, run as a script,
is that child; it inspects the widget tree on the UI thread at every screenshot and right after the PIN
is typed, and reports as JSON.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXPECTED = [
    "attract", "route", "place_card", "reading", "pin", "verifying", "authenticating", "remove_card",
    "choose_type", "options", "copies", "confirm", "issuing", "pay", "finishing_payment", "printing",
    "reporting", "done",
]  # fmt: skip


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


def child(out: Path, work: Path) -> int:
    """Run the demo with a widget-tree inspector; print the report as the last line of stdout."""
    from kiosk.ui.launch import prepare_kivy

    prepare_kivy(work / "kivy-home", offscreen=True, size="800x600")
    from kiosk.cli import _scenario_path
    from kiosk.flow.scenario import load_scenario
    from kiosk.sim import SimKiosk
    from kiosk.ui.demo import run_demo

    scenario = load_scenario(_scenario_path("juminhyo"))
    pins = [str(s["pin"]) for s in scenario.steps if s.get("do") == "pin"]
    report: dict[str, Any] = {"inspected": [], "pin_hits": [], "typed": None}

    def inspect(shell: Any, label: str) -> None:
        report["inspected"].append(label)
        if label == "pin-typed":
            report["typed"] = shell.screens["pin"].entered
        hits = [s for s in _strings(shell) for pin in pins if pin in s]
        if hits:
            report["pin_hits"].append(label)

    with SimKiosk(work, {**scenario.setup, "reader": "loopback"}) as kiosk:
        result = run_demo(scenario, kiosk, out, step_timeout=20.0, inspect=inspect)
        report["pages"] = len(kiosk.copy_printed(out.parent / "pages"))
    report.update(
        final=result.final_screen,
        problems=list(result.problems),
        screens=[c.flow_screen for c in result.captures],
        ui=[c.ui_screen for c in result.captures],
        files=[c.path.name for c in result.captures],
    )
    print(json.dumps(report))
    return 0


@pytest.mark.slow
@pytest.mark.timeout(90)
def test_juminhyo_through_the_real_screens(tmp_path: Path) -> None:
    out = tmp_path / "screens"
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, __file__, str(out), str(tmp_path / "work")],
        cwd=ROOT, capture_output=True, text=True, timeout=80,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert time.monotonic() - started < 60
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["problems"] == [] and report["final"] == "done"
    assert report["screens"] == EXPECTED
    assert report["files"] == [f"{i:02d}-{s}.png" for i, s in enumerate(EXPECTED, 1)]
    assert report["ui"][EXPECTED.index("pin")] == "pin" and report["ui"][-1] == "done"
    assert sorted(p.name for p in out.iterdir()) == report["files"]
    for png in out.iterdir():
        data = png.read_bytes()
        assert data.startswith(b"\x89PNG") and len(data) > 5000, png.name  # a blank 800x600 is ~2 kB
    assert report["typed"] == 4  # the PIN went in through the keypad ...
    assert "pin-typed" in report["inspected"] and len(report["inspected"]) == len(EXPECTED) + 1
    assert report["pin_hits"] == []  # ... and never showed up in any widget's text
    assert report["pages"] >= 1


if __name__ == "__main__":
    sys.exit(child(Path(sys.argv[1]), Path(sys.argv[2])))
