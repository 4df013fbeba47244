"""Helpers for the print-crash tests: a real ``kiosk-harness play`` process SIGKILLed at a journal point
while its simulated printer (ippeveprinter, its own process group) lives on; the kiosk's restart
(journal + center data directory + that printer); what the printer really printed."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from harness.clock import service_time
from kiosk.devices.printer.driver import IppPrinter
from kiosk.flow.recovery import Recovered, recover
from kiosk.journal.store import Journal
from mock_relay.faults import JST
from mock_relay.server import RelayServer
from mock_relay.tls import CenterPki
from relay_client import IssuanceClient, Reconcile, RetryPolicy
from relay_client import Timeouts as HttpTimeouts

REPO = Path(__file__).resolve().parents[3]
POINT = re.compile(r"journal point (\d+): (\S+)")
PRINTER = re.compile(r"simulated printer at (\S+) \(pid (\d+)\)")
SPOOLED = re.compile(r"^(\d+)-(.+)\.pdf$")
_RUNNER = (
    "import logging, sys\n"
    "from harness import cli\n"
    "logging.getLogger('kiosk.journal.store').setLevel(logging.DEBUG)\n"
    "sys.exit(cli.main(sys.argv[1:]))\n"
)


@dataclass(frozen=True)
class Crashed:
    """A ``kiosk-harness play`` process: exit status, its journal points, and the printer it left."""

    returncode: int
    points: tuple[str, ...]
    printer_uri: str
    printer_pid: int
    tail: str


def play(scenario: str, work: Path, *, crash_at: int | None = None, timeout: float = 90) -> Crashed:
    """Run ``kiosk-harness -v play SCENARIO --work WORK [--crash-at N]``; its printer is NOT stopped (the
    caller ends it with :func:`end_printer`). Raises subprocess.TimeoutExpired, AssertionError (no
    printer)."""
    args = ["-v", "play", scenario, "--work", str(work), "--out", str(work / "out")]
    if crash_at is not None:
        args += ["--crash-at", str(crash_at)]
    done = subprocess.run(
        [sys.executable, "-c", _RUNNER, *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    found = PRINTER.findall(done.stderr)
    assert found, (done.stdout + done.stderr)[-3000:]
    uri, pid = found[-1]
    points = tuple(name for _, name in sorted((int(n), name) for n, name in POINT.findall(done.stderr)))
    return Crashed(done.returncode, points, uri, int(pid), (done.stdout + done.stderr)[-3000:])


def end_printer(pid: int) -> None:
    """End an ippeveprinter (and its engine) by process group, only if ``pid`` still is one."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return
    if b"ippeveprinter" in cmdline:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)


@dataclass
class Restarted:
    journal: Journal
    client: IssuanceClient
    recovered: list[Recovered]

    def reconcile(self) -> Reconcile:
        (txn,) = self.journal.transactions()
        return self.client.reconcile(txn.started_at - timedelta(hours=1))


@contextlib.contextmanager
def restart(work: Path, printer_uri: str, *, job_wait: float = 60.0) -> Iterator[Restarted]:
    """The kiosk's restart on the same journal, center data and printer: recovery asks the printer."""
    with contextlib.ExitStack() as stack:
        server = RelayServer(work / "center").start()
        stack.callback(server.stop)
        server.clock.set(service_time(datetime.now(JST)))  # as the killed run chose it
        terminal = CenterPki.open(work / "center" / "center").issue_terminal("T-0001", work / "terminal")
        client = IssuanceClient(
            server.api_url,
            terminal / "terminal.pem",
            terminal / "terminal.key",
            terminal / "center-ca.pem",
            retry=RetryPolicy(attempts=2, base=0.05, cap=0.2, deadline=10.0),
            timeouts=HttpTimeouts(connect=3.0, read=15.0),
        )
        stack.callback(client.close)
        journal = Journal(work / "journal.sqlite")
        stack.callback(journal.close)
        printer = IppPrinter(printer_uri, poll_interval=0.1, stop_wait=5.0)
        stack.callback(printer.close)
        yield Restarted(journal, client, recover(journal, client, printer, job_wait=job_wait))


def sent(spool: Path) -> dict[str, list[str]]:
    """Document id (lower case, as ippeveprinter names the spooled file) -> the print job ids sent."""
    jobs: dict[str, list[str]] = {}
    for path in sorted(spool.glob("*.pdf")):
        match = SPOOLED.match(path.name)
        if match:
            jobs.setdefault(match.group(2).lower(), []).append(match.group(1))
    return jobs


def tray_count(spool: Path, job_ids: list[str]) -> int:
    tray = spool / "tray"
    return sum(1 for p in tray.iterdir() if p.name.split("-page-")[0] in job_ids) if tray.exists() else 0
