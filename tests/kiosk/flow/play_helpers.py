"""``kiosk play`` as a process, for the end-to-end flow tests (a uniquely named helper module)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]


def play_cli(name: str, work: Path, out: Path) -> subprocess.CompletedProcess[bytes]:
    """Run ``kiosk -v play NAME --work WORK --out OUT`` (loopback reader, every simulator) and return it
    finished (stdout and stderr as bytes; not checked). Raises subprocess.TimeoutExpired after 150 s."""
    return subprocess.run(
        [sys.executable, "-m", "harness", "-v", "play", name, "--work", str(work), "--out", str(out)],
        cwd=REPO,
        capture_output=True,
        timeout=150,
        check=False,
    )
