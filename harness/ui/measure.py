"""Start-up figures of the touchscreen, for ``make bench`` (bench/bench_ui.py runs this in a child process).

``python -m harness.ui.measure KIVY_HOME`` prints one JSON line: seconds from this module's start to the
first frame off screen (800x600), seconds per view-state render over every sample screen, and peak RSS.
The clock starts before Kivy is imported.
"""

from __future__ import annotations

import time

_T0 = time.perf_counter()

import json  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402


def measure(kivy_home: Path) -> dict[str, float]:
    """First frame, mean render time and peak RSS (kB) of one fresh start."""
    from kiosk.ui.env import prepare_environment

    prepare_environment(kivy_home, offscreen=True)
    from kivy.config import Config

    Config.set("graphics", "width", "800")
    Config.set("graphics", "height", "600")
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
    shell.sound.stop_reminder()
    with open("/proc/self/status") as status:
        rss = next(int(line.split()[1]) for line in status if line.startswith("VmHWM"))
    return {"first": first, "render": render, "rss_kb": rss}


if __name__ == "__main__":
    print(json.dumps(measure(Path(sys.argv[1]))))
