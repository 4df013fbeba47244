"""Touchscreen benchmarks: process start to the first drawn frame (off screen, llvmpipe), peak RSS, and the
cost of rendering one view state (screen switch + texts) once running. Each start runs in a fresh process."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench import Row

ROOT = Path(__file__).resolve().parent.parent
STARTS = 3

# Runs in a child process: the clock starts before Kivy is imported.
_CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
from pathlib import Path
sys.path.insert(0, sys.argv[2])
from kiosk.ui.env import prepare_environment
prepare_environment(Path(sys.argv[1]), offscreen=True)
from kivy.config import Config
Config.set("graphics", "width", "800"); Config.set("graphics", "height", "600")
from kivy.base import EventLoop
from kivy.core.window import Window
from kiosk.ui.app import build_shell
from kiosk.ui.samples import sample_states
shell = build_shell()
Window.add_widget(shell)
flipped = []
Window.bind(on_flip=lambda *_: flipped.append(time.perf_counter()))
while not flipped:
    EventLoop.idle()
first = flipped[0] - t0
states = list(sample_states("ja").values())
t1 = time.perf_counter()
for _ in range(5):
    for state in states:
        shell.show(state)
render = (time.perf_counter() - t1) / (5 * len(states))
shell.sound.stop_reminder()
rss = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM"))
print(json.dumps({"first": first, "render": render, "rss_kb": rss}))
"""


def _one_start() -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="kivy-home-bench-") as home:
        out = subprocess.run(
            [sys.executable, "-c", _CHILD, home, str(ROOT)],
            capture_output=True, text=True, timeout=60, check=True,
        )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def run() -> list[Row]:
    """Start the shell ``STARTS`` times. Raises subprocess.CalledProcessError if the child fails."""
    results = [_one_start() for _ in range(STARTS)]
    return [
        Row("start to first frame (median)", statistics.median(r["first"] for r in results), "s",
            f"{STARTS} fresh processes, 800x600 off screen on llvmpipe"),
        Row("peak RSS", max(r["rss_kb"] for r in results) // 1024, "MiB",
            "VmHWM after rendering every screen"),
        Row("render one view state", statistics.median(r["render"] for r in results) * 1000, "ms",
            "shell.show: screen switch + catalog texts (no frame)"),
    ]  # fmt: skip
