"""Shared by the crash tests (tests/kiosk/flow/test_crash_loop.py, tests/kiosk/printer/test_printer_crash.py):
``kiosk-harness play`` as a real process, optionally SIGKILLed right after a journal point; the simulated
printer it leaves behind (ippeveprinter runs in its own process group, so a killed kiosk cannot stop it);
and what that printer really received and printed, read from its spool folder.

Every run asks to keep the spool (``--keep``): a printer simulator that stops cleanly removes its spooled
jobs and printed pages (issue #14), and these tests count them after the run. Imported as ``crash_play``:
tests/ is on sys.path through tests/conftest.py, as for ``transport_contract``.
"""

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
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parents[1]
POINT = re.compile(r"journal point (\d+): (\S+)")
PRINTER = re.compile(r"simulated printer at (\S+) \(pid (\d+)\)")
SPOOLED = re.compile(r"^(\d+)-(.+)\.pdf$")  # ippeveprinter's job file: <job id>-<job name, lower case>.pdf
TRAY_PAGE = re.compile(r"^(\d+)-page-\d+\.pdf$")
_NOT_KEPT = re.compile(r"[^a-z0-9-]+")


def spooled_name(document_id: str) -> str:
    """How ippeveprinter names a job called ``document_id`` in its spool: lower case, each run of
    characters other than letters, digits and ``-`` one ``_`` (``D-ab__c`` is ``d-ab_c``)."""
    return _NOT_KEPT.sub("_", document_id.lower())


# The harness CLI, with the journal's per-point debug line switched on (the points are named in it).
RUNNER = (
    "import logging, sys\n"
    "from harness import cli\n"
    "logging.getLogger('kiosk.journal.store').setLevel(logging.DEBUG)\n"
    "sys.exit(cli.main(sys.argv[1:]))\n"
)


@dataclass(frozen=True)
class Run:
    """One ``kiosk-harness play`` process: exit status, output, the journal points it wrote, and its
    simulated printer (the last one it started)."""

    returncode: int
    stdout: str
    stderr: str
    points: tuple[str, ...]
    printer_uri: str
    printer_pid: int

    def tail(self) -> str:
        return (self.stdout + self.stderr)[-3000:]


def play(
    scenario: str,
    work: Path,
    *,
    crash_at: int | None = None,
    leave_printer: bool = False,
    timeout: float = 90,
) -> Run:
    """Run ``kiosk-harness -v play SCENARIO --work WORK --out WORK/out --keep [--crash-at N]``. The printer
    of a killed run is ended (SIGKILL, by process group) unless ``leave_printer``: then the caller ends it
    with :func:`end_printer`. Raises subprocess.TimeoutExpired."""
    args = ["-v", "play", scenario, "--work", str(work), "--out", str(work / "out"), "--keep"]
    if crash_at is not None:
        args += ["--crash-at", str(crash_at)]
    done = subprocess.run(
        [sys.executable, "-c", RUNNER, *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    printers = [(uri, int(pid)) for uri, pid in PRINTER.findall(done.stderr)]
    if not leave_printer:
        for printer_uri, pid in printers:
            end_printer(pid, printer_uri)
    points = tuple(name for _, name in sorted((int(n), name) for n, name in POINT.findall(done.stderr)))
    uri, pid = printers[-1] if printers else ("", 0)
    return Run(done.returncode, done.stdout, done.stderr, points, uri, pid)


def end_printer(pid: int, uri: str) -> None:
    """End the ippeveprinter serving ``uri`` (and its engine) by process group, only if ``pid`` still is
    that one. Ids get reused within minutes: by then ``pid`` may be another test's ippeveprinter, on
    another port (a printer the run stopped itself is long gone)."""
    try:
        args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return
    port = str(urlsplit(uri).port).encode()
    if args[0].endswith(b"ippeveprinter") and b"-p" in args[:-1] and args[args.index(b"-p") + 1] == port:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)


def fresh_work(template: Path, work: Path) -> Path:
    """A kiosk work folder with the template's center data, card and terminal; no journal, spool or pages."""
    shutil.copytree(template, work, ignore=shutil.ignore_patterns("journal.sqlite*", "spool", "out"))
    return work


def printed_jobs(spool: Path) -> dict[str, list[str]]:
    """Document id (as ippeveprinter names the spooled file, see :func:`spooled_name`) -> the print job
    ids sent."""
    jobs: dict[str, list[str]] = {}
    for path in sorted((spool / "jobs").glob("*.pdf")):
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
