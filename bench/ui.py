"""Touchscreen benchmarks: process start to the first drawn frame (off screen, llvmpipe) and the peak RSS
then, the peak RSS after every view state, the cost of rendering one view state (screen switch + texts)
once running, and tap to drawn frame at 800x600 and 1920x1080 beside the same screen redrawn unchanged (the
baseline from the same run: what any frame costs here). Each start runs in a fresh process; the 1920x1080
taps run in a process whose window is made at that size (a resized off-screen window would draw only its
first 800x600). At 1920x1080 it also times 文字を大きく (larger text on, then off) beside the same screen
redrawn unchanged just before. Every size runs twice per start: as the kiosk runs, its warm-up done on the
start screen before the taps (``kiosk.ui.warmup``, a tap during it measured too), and without the warm-up
(the figures beside them)."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench import Row
from harness.ui.measure import LARGE_TEXT_SCREENS, MIDWARM_SLICES

ROOT = Path(__file__).resolve().parent.parent
STARTS = 3
LARGE = "1920x1080"


def _one_run(*extra: str) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="kivy-home-bench-") as home:
        out = subprocess.run(
            [sys.executable, "-m", "harness.ui.measure", home, *extra],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
            cwd=ROOT,
        )
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def _one_start() -> dict[str, float]:
    """One fresh start at 800x600 (start-up, RSS, taps) and one made at 1920x1080 (taps), each once without
    the warm-up and once with it (figures named ``warm_*``: the kiosk as it runs)."""
    figures: dict[str, float] = {}
    for size in ((), ("--taps", LARGE)):
        figures.update(_one_run(*size))
        figures.update(_one_run(*size, "--warm"))
    return figures


def run() -> list[Row]:
    """Start the shell ``STARTS`` times per size, with and without the warm-up. Raises
    subprocess.CalledProcessError if a child fails."""
    results = [_one_start() for _ in range(STARTS)]

    def median(key: str) -> float:
        return statistics.median(r[key] for r in results) * 1000

    def mib(key: str) -> int:
        return max(int(r[key]) for r in results) // 1024

    taps = []
    for size in ("800x600", LARGE):
        cold = (
            f"without the warm-up, same run: {median('tap_median_' + size):.1f} "
            f"({median('tap_p90_' + size):.1f}) ms; unchanged screen redrawn "
            f"{median('warm_redraw_' + size):.0f} ms (without: {median('redraw_' + size):.0f} ms); "
            "target 50 ms"
        )
        cpu = (
            f"CPU (renderer threads too) median {median('warm_tap_cpu_median_' + size):.0f} ms, "
            f"90th pct {median('warm_tap_cpu_p90_' + size):.0f} ms"
        )
        taps += [
            Row(f"tap to drawn frame {size} (median)", median(f"warm_tap_median_{size}"), "ms", cold),
            Row(
                f"tap to drawn frame {size} (90th pct)",
                median(f"warm_tap_p90_{size}"),
                "ms",
                f"every sample screen x3 after the warm-up, first visits included (without first visits: "
                f"{median('warm_tap_p90_warm_' + size):.0f} ms); {cpu}",
            ),
            Row(
                f"tap during the warm-up {size}",
                median(f"warm_midwarm_{size}"),
                "ms",
                f"to the route screen after {MIDWARM_SLICES} slices, the warm-up paused "
                f"(kept going in {sum(int(r['warm_midwarm_kept_going_' + size]) for r in results)} of "
                f"{STARTS}); slowest frame while it ran {median('warm_warmup_frame_max_' + size):.0f} ms; "
                f"it took {median('warm_warmup_wall_' + size) / 1000:.1f} s (two waits for quiet included) "
                f"in {median('warm_warmup_slices_' + size) / 1000:.0f} slices",
            ),
            Row(
                f"option toggle to drawn frame {size}",
                median(f"warm_toggle_{size}"),
                "ms",
                f"without the warm-up {median('toggle_' + size):.1f} ms",
            ),
        ]
    large = Row(
        f"larger text on/off to drawn frame {LARGE} (median)",
        median(f"warm_large_median_{LARGE}"),
        "ms",
        f"文字を大きく on then off on {', '.join(LARGE_TEXT_SCREENS)}, twice, the warm-up done; first use "
        f"(larger font sizes never drawn before) {median(f'warm_large_first_{LARGE}'):.0f} ms, slowest "
        f"{median(f'warm_large_max_{LARGE}'):.0f} ms; baseline: the "
        f"same screen redrawn unchanged {median(f'warm_large_redraw_{LARGE}'):.1f} ms "
        f"({median(f'warm_large_median_{LARGE}') / median(f'warm_large_redraw_{LARGE}'):.1f}x); "
        f"without the warm-up {median(f'large_median_{LARGE}'):.1f} ms (first use "
        f"{median(f'large_first_{LARGE}'):.0f} ms)",
    )
    return [
        Row(
            "start to first frame (median)",
            statistics.median(r["first"] for r in results),
            "s",
            f"{STARTS} fresh processes, 800x600 off screen on llvmpipe; "
            f"peak RSS then {mib('rss_first_kb')} MiB",
        ),
        Row(
            "peak RSS",
            mib("warm_rss_taps_800x600_kb"),
            "MiB",
            "VmHWM, 800x600, the kiosk as it runs: warm-up done, then every screen drawn by the taps "
            f"(target 160); idle after the warm-up {mib('warm_rss_warmed_800x600_kb')} MiB. "
            f"Without the warm-up: every screen rendered but no text drawn {mib('rss_kb')} MiB, "
            f"every screen drawn by the taps {mib('rss_taps_800x600_kb')} MiB; "
            f"then 文字を大きく on and off on four screens {mib('warm_rss_large_800x600_kb')} MiB; "
            f"a {LARGE} window after the warm-up and its taps {mib(f'warm_rss_taps_{LARGE}_kb')} MiB",
        ),
        Row(
            "render one view state",
            statistics.median(r["render"] for r in results) * 1000,
            "ms",
            "shell.show: screen switch + catalog texts (no frame)",
        ),
        *taps,
        large,
    ]
