"""Start-up and tap figures of the touchscreen, for ``make bench`` (bench/bench_ui.py runs this in child
processes).

``python -m harness.ui.measure KIVY_HOME`` prints one JSON line: seconds from this module's start to the
first frame off screen (800x600) and the peak RSS then, seconds per view-state render over every sample
screen and the peak RSS after them, tap to drawn frame (each sample screen after the one before it, and an
option toggle) at 800x600 beside an unchanged frame (the baseline), and the peak RSS at the end. The clock
starts before Kivy is imported.

``python -m harness.ui.measure KIVY_HOME --taps 1920x1080`` measures only the taps, in a window made at that
size. (An off-screen SDL window keeps the surface it was made with: a window made at 800x600 and resized
draws only the 800x600 corner of a larger layout, which would flatter the larger size.)
"""

from __future__ import annotations

import time

_T0 = time.perf_counter()

import json  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

TAP_SIZES = ((800, 600), (1920, 1080))  # each in a process and window of its own (see above)
START_SIZE = TAP_SIZES[0]


def _drawn(event_loop: Any, window: Any) -> None:
    """One frame (clock: layout and textures; draw; flip), waited for until the GPU has drawn it."""
    from kivy.graphics.opengl import glFinish

    event_loop.idle()
    glFinish()


def taps(shell: Any, event_loop: Any, window: Any) -> dict[str, float]:
    """At the window's size: the median and 90th percentile tap to drawn frame (each sample screen after the
    one before it, as a tap moves the flow on, three rounds, the first one of each screen included; an option
    toggled) and, as the baseline, the same screen redrawn unchanged, in seconds."""
    from harness.ui.gallery import render_sample
    from harness.ui.samples import sample_states
    from kiosk.ui.widgets import KToggle

    width, height = (int(v) for v in window.size)
    for _ in range(5):
        _drawn(event_loop, window)
    shown: list[float] = []
    cpu: list[float] = []  # this process's CPU (the renderer's threads too): steadier on a busy machine
    redrawn: list[float] = []
    toggles: list[float] = []
    for _round in range(3):
        for name, state in sample_states("ja").items():
            c0, t0 = time.process_time(), time.perf_counter()
            render_sample(shell, name, state, "ja")
            _drawn(event_loop, window)
            shown.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
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
    warm = sorted(shown[len(shown) // 3 :])  # rounds 2 and 3: every screen seen once before
    return {
        f"tap_median_{key}": statistics.median(shown),
        f"tap_p90_{key}": sorted(shown)[int(len(shown) * 0.9)],
        f"tap_max_{key}": max(shown),
        f"tap_p90_warm_{key}": warm[int(len(warm) * 0.9)],
        f"tap_cpu_median_{key}": statistics.median(cpu),
        f"tap_cpu_p90_{key}": sorted(cpu)[int(len(cpu) * 0.9)],
        f"toggle_{key}": statistics.median(toggles),
        f"redraw_{key}": statistics.median(redrawn),
    }


def measure(kivy_home: Path, taps_at: tuple[int, int] | None = None) -> dict[str, float]:
    """First frame (and the peak RSS then), mean render time, peak RSS (kB) after every view state, taps at
    800x600 and the peak RSS at the end, of one fresh start; with ``taps_at``, only the taps, in a window
    made at that size."""
    from kiosk.ui.env import prepare_environment

    prepare_environment(kivy_home, offscreen=True)
    from kivy.config import Config

    width, height = taps_at or START_SIZE
    Config.set("graphics", "width", str(width))
    Config.set("graphics", "height", str(height))
    Config.set("graphics", "maxfps", "0")  # frames as fast as they draw: nothing waits for a vsync
    from kivy.base import EventLoop
    from kivy.core.window import Window

    from harness.ui.samples import sample_states
    from kiosk.ui.app import build_shell, clear_colour_only, freeze_heap

    shell = build_shell()
    Window.add_widget(shell)
    clear_colour_only(Window)  # as KioskApp.build does
    freeze_heap()
    flipped: list[float] = []
    Window.bind(on_flip=lambda *_: flipped.append(time.perf_counter()))
    while not flipped:
        EventLoop.idle()
    figures: dict[str, float] = {}
    if taps_at is None:
        figures["first"] = flipped[0] - _T0
        figures["rss_first_kb"] = _peak_rss_kb()
        states = list(sample_states("ja").values())
        t1 = time.perf_counter()
        for _ in range(5):
            for state in states:
                shell.show(state)
        figures["render"] = (time.perf_counter() - t1) / (5 * len(states))
        figures["rss_kb"] = _peak_rss_kb()  # after every screen rendered at 800x600 (as ever)
    figures.update(taps(shell, EventLoop, Window))
    figures[f"rss_taps_{width}x{height}_kb"] = _peak_rss_kb()
    shell.sound.stop_reminder()
    return figures


def _peak_rss_kb() -> int:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM"))


def main(argv: list[str]) -> int:
    """``KIVY_HOME [--taps WxH]``: print the figures as one JSON line. Returns 2 for bad arguments."""
    if len(argv) not in (1, 3) or (len(argv) == 3 and argv[1] != "--taps"):
        print("usage: python -m harness.ui.measure KIVY_HOME [--taps WxH]", file=sys.stderr)
        return 2
    taps_at = tuple(int(v) for v in argv[2].split("x")) if len(argv) == 3 else None
    print(json.dumps(measure(Path(argv[0]), taps_at)))  # type: ignore[arg-type]
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
