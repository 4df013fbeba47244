"""Start-up and tap figures of the touchscreen, for ``make bench`` (bench/bench_ui.py runs this in a child
process).

``python -m harness.ui.measure KIVY_HOME`` prints one JSON line: seconds from this module's start to the
first frame off screen (800x600), seconds per view-state render over every sample screen, tap to drawn
frame (each sample screen after the one before it, and an option toggle) at 800x600 and 1920x1080 beside an
unchanged frame (the baseline), and peak RSS. The clock starts before Kivy is imported.
"""

from __future__ import annotations

import time

_T0 = time.perf_counter()

import json  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

TAP_SIZES = ((800, 600), (1920, 1080))


def _drawn(event_loop: Any, window: Any) -> None:
    """One frame (clock: layout and textures; draw; flip), waited for until the GPU has drawn it."""
    from kivy.graphics.opengl import glFinish

    event_loop.idle()
    glFinish()


def taps(shell: Any, event_loop: Any, window: Any) -> dict[str, float]:
    """Per size: the median and slowest tap to drawn frame (each sample screen after the one before it, as a
    tap moves the flow on; an option toggled) and, as the baseline, the same screen redrawn unchanged, in
    seconds."""
    from harness.ui.gallery import render_sample
    from harness.ui.samples import sample_states
    from kiosk.ui.widgets import KToggle

    figures: dict[str, float] = {}
    for width, height in TAP_SIZES:
        window.size = (width, height)
        for _ in range(5):
            _drawn(event_loop, window)
        shown: list[float] = []
        redrawn: list[float] = []
        toggles: list[float] = []
        for _round in range(3):
            for name, state in sample_states("ja").items():
                t0 = time.perf_counter()
                render_sample(shell, name, state, "ja")
                _drawn(event_loop, window)
                shown.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                window.canvas.ask_update()
                _drawn(event_loop, window)
                redrawn.append(time.perf_counter() - t0)
                if name == "options":
                    for toggle in [w for w in shell.current.walk() if isinstance(w, KToggle)]:
                        if toggle.state == "normal":
                            t0 = time.perf_counter()
                            toggle.state = "down"  # what a tap's release does to a toggle
                            _drawn(event_loop, window)
                            toggles.append(time.perf_counter() - t0)
        key = f"{width}x{height}"
        figures[f"tap_median_{key}"] = statistics.median(shown)
        figures[f"tap_p90_{key}"] = sorted(shown)[int(len(shown) * 0.9)]
        figures[f"tap_max_{key}"] = max(shown)
        figures[f"toggle_{key}"] = statistics.median(toggles)
        figures[f"redraw_{key}"] = statistics.median(redrawn)
    return figures


def measure(kivy_home: Path) -> dict[str, float]:
    """First frame, mean render time, tap figures and peak RSS (kB) of one fresh start."""
    from kiosk.ui.env import prepare_environment

    prepare_environment(kivy_home, offscreen=True)
    from kivy.config import Config

    Config.set("graphics", "width", "800")
    Config.set("graphics", "height", "600")
    Config.set("graphics", "maxfps", "0")  # frames as fast as they draw: nothing waits for a vsync
    from kivy.base import EventLoop
    from kivy.core.window import Window

    from harness.ui.samples import sample_states
    from kiosk.ui.app import build_shell

    shell = build_shell()
    Window.add_widget(shell)
    flipped: list[float] = []
    Window.bind(on_flip=lambda *_: flipped.append(time.perf_counter()))
    while not flipped:
        EventLoop.idle()
    first = flipped[0] - _T0
    states = list(sample_states("ja").values())
    t1 = time.perf_counter()
    for _ in range(5):
        for state in states:
            shell.show(state)
    render = (time.perf_counter() - t1) / (5 * len(states))
    rss = _peak_rss_kb()  # every screen rendered at 800x600 (the figure kept since the first bench)
    tapped = taps(shell, EventLoop, Window)
    shell.sound.stop_reminder()
    return {"first": first, "render": render, "rss_kb": rss, "rss_all_kb": _peak_rss_kb(), **tapped}


def _peak_rss_kb() -> int:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM"))


if __name__ == "__main__":
    print(json.dumps(measure(Path(sys.argv[1]))))
