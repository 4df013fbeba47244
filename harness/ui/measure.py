"""Start-up and tap figures of the touchscreen, for ``make bench`` (bench/ui.py runs this in child
processes).

``python -m harness.ui.measure KIVY_HOME`` prints one JSON line: seconds from this module's start to the
first frame off screen (800x600) and the peak RSS then, seconds per view-state render over every sample
screen and the peak RSS after them, tap to drawn frame (each sample screen after the one before it, and an
option toggle) at 800x600 beside an unchanged frame (the baseline), the peak RSS after them, and 文字を大きく
(larger text on, then off: ``large_text``) beside the same screen redrawn unchanged. The clock starts before
Kivy is imported.

``python -m harness.ui.measure KIVY_HOME --taps 1920x1080`` measures only the taps and larger text, in a
window made at that size. (An off-screen SDL window keeps the surface it was made with: a window made at
800x600 and resized draws only the 800x600 corner of a larger layout, which would flatter the larger size.)

Without ``--warm`` the shell has no warm-up (``kiosk.ui.warmup``): every screen's first visit pays for its
layout and texts. With ``--warm`` (either form) the shell is the kiosk's own: before the taps it idles on
the start screen while the warm-up runs, a tap arrives part-way through it (``midwarm_<W>x<H>``: that
tap's frame, and the warm-up must give way), the start screen comes back and the warm-up is let finish;
the slowest frame while it ran is ``warmup_frame_max_<W>x<H>`` (the start screen must stay responsive).
Every figure of a warm run is named ``warm_<name>``.
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


LARGE_TEXT_SCREENS = ("attract", "pin", "choose_type", "confirm")  # where a resident may ask for larger text


def large_text(shell: Any, event_loop: Any, window: Any) -> dict[str, float]:
    """At the window's size: 文字を大きく tapped (larger text on, then off again) on each of
    ``LARGE_TEXT_SCREENS``, twice, to the frame drawn with every text on display at its new size; as the
    baseline, the same screen redrawn unchanged just before. The median, first (the larger sizes' first use
    in this process) and slowest toggle and the baseline's median, in seconds."""
    from harness.ui.gallery import render_sample
    from harness.ui.samples import sample_states

    states = sample_states("ja")
    toggles: list[float] = []
    redrawn: list[float] = []
    for _round in range(2):
        for name in LARGE_TEXT_SCREENS:
            render_sample(shell, name, states[name], "ja")
            _drawn(event_loop, window)
            for _ in range(2):  # on, then off
                t0 = time.perf_counter()
                window.canvas.ask_update()
                _drawn(event_loop, window)
                redrawn.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                shell.toggle_large_text()  # what the header's 文字を大きく does on its release
                _drawn(event_loop, window)
                toggles.append(time.perf_counter() - t0)
    key = "{}x{}".format(*(int(v) for v in window.size))
    return {
        f"large_median_{key}": statistics.median(toggles),
        f"large_first_{key}": toggles[0],
        f"large_max_{key}": max(toggles),
        f"large_redraw_{key}": statistics.median(redrawn),
    }


WARM_TIMEOUT = 60.0  # seconds the warm-up may take on a busy machine before the run fails
MIDWARM_SLICES = 12  # the tap that arrives part-way through the warm-up comes after this many slices


def warm_up(shell: Any, event_loop: Any, window: Any) -> dict[str, float]:
    """Idle on the start screen while the warm-up runs; tap (to the route screen, as 開始 does) part-way
    through it, go back to the start screen and let it finish. Returns the mid-warm-up tap to drawn frame,
    whether the warm-up kept going after that tap, the warm-up's wall time and slices, and the slowest frame
    while it ran, in seconds. Raises TimeoutError."""
    from harness.ui.gallery import render_sample
    from harness.ui.samples import sample_states

    warmup = shell.warmup
    states = sample_states("ja")
    frames: list[float] = []

    def frames_until(done: Any) -> None:
        deadline = time.perf_counter() + WARM_TIMEOUT
        while not done():
            if time.perf_counter() > deadline:
                raise TimeoutError("the warm-up did not finish")
            t0 = time.perf_counter()
            _drawn(event_loop, window)
            if warmup.running:
                frames.append(time.perf_counter() - t0)

    t0 = time.perf_counter()
    frames_until(lambda: warmup.slices >= MIDWARM_SLICES)
    slices = warmup.slices
    t1 = time.perf_counter()
    warmup.touched()  # what the shell's on_touch_down does first
    render_sample(shell, "route", states["route"], "ja")
    _drawn(event_loop, window)
    midwarm = time.perf_counter() - t1
    _drawn(event_loop, window)
    kept_going = float(warmup.slices > slices + 1)  # it must give way: no slice after the tap's own frame
    render_sample(shell, "attract", states["attract"], "ja")
    frames_until(lambda: warmup.warm)
    key = "{}x{}".format(*(int(v) for v in window.size))
    return {
        f"midwarm_{key}": midwarm,
        f"midwarm_kept_going_{key}": kept_going,
        f"warmup_wall_{key}": time.perf_counter() - t0,
        f"warmup_slices_{key}": float(warmup.slices),
        f"warmup_frame_max_{key}": max(frames),
        f"warmup_frame_median_{key}": statistics.median(frames),
    }


def measure(kivy_home: Path, taps_at: tuple[int, int] | None = None, warm: bool = False) -> dict[str, float]:
    """First frame (and the peak RSS then), mean render time, peak RSS (kB) after every view state, taps at
    800x600 and the peak RSS at the end, of one fresh start; with ``taps_at``, only the taps, in a window
    made at that size. With ``warm``, the shell has its warm-up and it runs before the taps (``warm_up``);
    every figure's name starts ``warm_``."""
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

    shell = build_shell(warm_up=warm)
    Window.add_widget(shell)
    clear_colour_only(Window)  # as KioskApp.build does
    freeze_heap()
    flipped: list[float] = []
    Window.bind(on_flip=lambda *_: flipped.append(time.perf_counter()))
    while not flipped:
        EventLoop.idle()
    figures: dict[str, float] = {}
    if warm:
        figures.update(warm_up(shell, EventLoop, Window))
        figures[f"rss_warmed_{width}x{height}_kb"] = _peak_rss_kb()
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
    figures.update(large_text(shell, EventLoop, Window))
    figures[f"rss_large_{width}x{height}_kb"] = _peak_rss_kb()  # and every size of text drawn
    shell.sound.stop_reminder()
    return {f"warm_{k}": v for k, v in figures.items()} if warm else figures


def _peak_rss_kb() -> int:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM"))


def main(argv: list[str]) -> int:
    """``KIVY_HOME [--taps WxH] [--warm]``: print the figures as one JSON line. Returns 2 for bad
    arguments."""
    warm = "--warm" in argv
    args = [a for a in argv if a != "--warm"]
    if len(args) not in (1, 3) or (len(args) == 3 and args[1] != "--taps"):
        print("usage: python -m harness.ui.measure KIVY_HOME [--taps WxH] [--warm]", file=sys.stderr)
        return 2
    taps_at = tuple(int(v) for v in args[2].split("x")) if len(args) == 3 else None
    print(json.dumps(measure(Path(args[0]), taps_at, warm)))  # type: ignore[arg-type]
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
