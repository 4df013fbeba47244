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
    return [
        Row(
            "start to first frame (median)",
            statistics.median(r["first"] for r in results),
            "s",
            f"{STARTS} fresh processes, 800x600 off screen on llvmpipe",
        ),
        Row(
            "peak RSS", max(r["rss_kb"] for r in results) // 1024, "MiB", "VmHWM after rendering every screen"
        ),
        Row(
            "render one view state",
            statistics.median(r["render"] for r in results) * 1000,
            "ms",
            "shell.show: screen switch + catalog texts (no frame)",
        ),
    ]
