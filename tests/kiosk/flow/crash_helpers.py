"""Helpers for the crash test: run ``kiosk play`` as a real process (optionally SIGKILLed at a journal
point), end what a killed kiosk leaves behind, and count what the simulated printer really printed."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
POINT = re.compile(r"journal point (\d+): (\S+)")
PRINTER_PID = re.compile(r"simulated printer at \S+ \(pid (\d+)\)")
SPOOLED = re.compile(r"^(\d+)-(.+)\.pdf$")
TRAY_PAGE = re.compile(r"^(\d+)-page-\d+\.pdf$")
# The kiosk CLI, with the journal's per-point debug line switched on (the points are named in it).
_RUNNER = (
    "import logging, sys\n"
    "from harness import cli\n"
    "logging.getLogger('kiosk.journal.store').setLevel(logging.DEBUG)\n"
    "sys.exit(cli.main(sys.argv[1:]))\n"
)


@dataclass(frozen=True)
class Run:
    """One ``kiosk play`` process: exit status, output and the journal points it wrote."""

    returncode: int
    stdout: str
    stderr: str
    points: tuple[str, ...]

    def tail(self) -> str:
        return (self.stdout + self.stderr)[-3000:]


def play(scenario: str, work: Path, *, crash_at: int | None = None, timeout: float = 90.0) -> Run:
    """Run ``kiosk-harness -v play SCENARIO --work WORK`` (``--crash-at N`` if ``crash_at``), then end
    the simulated printer a SIGKILLed kiosk leaves behind. Raises subprocess.TimeoutExpired."""
    env = dict(os.environ)
    args = ["-v", "play", scenario, "--work", str(work), "--out", str(work / "out")]
    if crash_at is not None:
        args += ["--crash-at", str(crash_at)]
    done = subprocess.run(
        [sys.executable, "-c", _RUNNER, *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    _end_orphaned_printers(done.stderr)
    points = tuple(name for _, name in sorted((int(n), name) for n, name in POINT.findall(done.stderr)))
    return Run(done.returncode, done.stdout, done.stderr, points)


def _end_orphaned_printers(stderr: str) -> None:
    """ippeveprinter runs in its own process group; a killed kiosk cannot stop it. End it by its id
    (only if that id is still an ippeveprinter: ids get reused)."""
    for pid in (int(p) for p in PRINTER_PID.findall(stderr)):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if b"ippeveprinter" in cmdline:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)


def fresh_work(template: Path, work: Path) -> Path:
    """A kiosk work directory with the template's center data, card and terminal, and no journal."""
    shutil.copytree(template, work, ignore=shutil.ignore_patterns("journal.sqlite*", "spool", "out"))
    return work


def printed_jobs(spool: Path) -> dict[str, list[str]]:
    """Document id (lower case, as ippeveprinter names the spooled file) -> the print job ids sent."""
    jobs: dict[str, list[str]] = {}
    for path in sorted(spool.glob("*.pdf")):
        match = SPOOLED.match(path.name)
        if match:
            jobs.setdefault(match.group(2).lower(), []).append(match.group(1))
    return jobs


def tray_pages(spool: Path) -> dict[str, int]:
    """Document id (lower case) -> pages that came out into the tray."""
    owner = {job: doc for doc, job_ids in printed_jobs(spool).items() for job in job_ids}
    pages: dict[str, int] = {}
    tray = spool / "tray"
    for path in sorted(tray.iterdir()) if tray.exists() else ():
        match = TRAY_PAGE.match(path.name)
        if match:
            doc = owner.get(match.group(1), f"unknown job {match.group(1)}")
            pages[doc] = pages.get(doc, 0) + 1
    return pages
