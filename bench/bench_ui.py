"""Touchscreen benchmarks: process start to the first drawn frame (off screen, llvmpipe), peak RSS, the cost
of rendering one view state (screen switch + texts) once running, and tap to drawn frame at 800x600 and
1920x1080 beside the same screen redrawn unchanged (the baseline from the same run: what any frame costs
here). Each start runs in a fresh process."""

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


def _one_start() -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="kivy-home-bench-") as home:
        out = subprocess.run(
            [sys.executable, "-m", "harness.ui.measure", home],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
            cwd=ROOT,
        )
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def run() -> list[Row]:
    """Start the shell ``STARTS`` times. Raises subprocess.CalledProcessError if the child fails."""
    results = [_one_start() for _ in range(STARTS)]

    def median(key: str) -> float:
        return statistics.median(r[key] for r in results) * 1000

    taps = []
    for size in ("800x600", "1920x1080"):
        base = f"baseline: unchanged screen redrawn {median('redraw_' + size):.0f} ms; target 50 ms"
        taps += [
            Row(f"tap to drawn frame {size} (median)", median(f"tap_median_{size}"), "ms", base),
            Row(
                f"tap to drawn frame {size} (90th pct)",
                median(f"tap_p90_{size}"),
                "ms",
                "every sample screen x3",
            ),
            Row(f"option toggle to drawn frame {size}", median(f"toggle_{size}"), "ms", base),
        ]
    return [
        Row(
            "start to first frame (median)",
            statistics.median(r["first"] for r in results),
            "s",
            f"{STARTS} fresh processes, 800x600 off screen on llvmpipe",
        ),
        Row(
            "peak RSS",
            max(r["rss_kb"] for r in results) // 1024,
            "MiB",
            f"VmHWM after rendering every screen (target 160); "
            f"after the tap runs at 1920x1080 too: {max(r['rss_all_kb'] for r in results) // 1024} MiB",
        ),
        Row(
            "render one view state",
            statistics.median(r["render"] for r in results) * 1000,
            "ms",
            "shell.show: screen switch + catalog texts (no frame)",
        ),
        *taps,
    ]
