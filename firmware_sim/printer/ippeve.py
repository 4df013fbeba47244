"""A printer with scripted faults: CUPS's ``ippeveprinter`` driving our print engine (``-c``).

ippeveprinter speaks real IPP (the kiosk's driver needs no special case); the engine
(:mod:`firmware_sim.printer.engine`) prints page by page into ``<spool>/tray`` and reports
progress and faults through ippeveprinter's command protocol. Faults: out of paper when the
tray's sheets run out (``paper_out_at=N``: the tray holds N-1 sheets), a jam at the N-th sheet,
slow pages. Paper-out stays until :meth:`PrinterSim.refill` (ippeveprinter's own ``/media`` web
form, then the engine's tray count); a jam stays until the printer is restarted, because
ippeveprinter lets only its command set or clear ``media-jam``.

ippeveprinter (CUPS 2.4) will not start without DNS-SD, even with ``-r off``; run
:class:`firmware_sim.printer.dnssd.DnssdServices` first.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from types import TracebackType

from firmware_sim.printer.dnssd import DnssdServices, PrinterSimError

__all__ = ["DnssdServices", "PrinterSim", "PrinterSimError", "free_port"]

log = logging.getLogger(__name__)

IPPEVEPRINTER = "/usr/sbin/ippeveprinter"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (ippeveprinter cannot take port 0)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class PrinterSim:
    """One simulated printer at ``ipp://127.0.0.1:<port>/ipp/print``; a context manager."""

    def __init__(
        self,
        spool: Path,
        *,
        port: int = 0,
        name: str = "MynaSimPrinter",
        formats: tuple[str, ...] = ("application/pdf", "image/pwg-raster"),
        paper_out_at: int | None = None,
        jam_at: int | None = None,
        page_delay: float = 0.0,
        fault_hold: float = 300.0,
    ) -> None:
        self.spool = spool
        self.port = port or free_port()
        self.name = name
        self.formats = formats
        self.work = spool / ".sim"
        self.tray = spool / "tray"
        self.state_file = self.work / "state.json"
        self.process: subprocess.Popen[bytes] | None = None
        paper_left = None if paper_out_at is None else paper_out_at - 1
        self._initial: dict[str, float | int | None] = {
            "paper_left": paper_left,
            "jam_at": jam_at,
            "page_delay": page_delay,
            "fault_hold": fault_hold,
        }

    @property
    def uri(self) -> str:
        return f"ipp://127.0.0.1:{self.port}/ipp/print"

    def start(self, timeout: float = 10.0) -> PrinterSim:
        """Start ippeveprinter and wait until it answers. Raises PrinterSimError."""
        if not Path(IPPEVEPRINTER).exists():
            raise PrinterSimError(f"{IPPEVEPRINTER} is missing (Debian package cups-ipp-utils)")
        self.work.mkdir(parents=True, exist_ok=True)
        self.tray.mkdir(parents=True, exist_ok=True)
        self.state_file.write_text(json.dumps({"sheets_fed": 0, **self._initial}))
        command = self.work / "engine.sh"  # -c needs one absolute executable path
        command.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m firmware_sim.printer.engine "$@"\n')
        command.chmod(0o755)
        env = {**os.environ, "MYNA_PRINTER_STATE": str(self.state_file), "MYNA_PRINTER_TRAY": str(self.tray)}
        args = [
            IPPEVEPRINTER,
            "-r",
            "off",
            "-n",
            "localhost",
            "-p",
            str(self.port),
            "-f",
            ",".join(self.formats),
            "-k",
            "-d",
            str(self.spool),
            "-c",
            str(command),
            "-M",
            "Myna",
            "-m",
            "Sim Printer",
            self.name,
        ]
        log_file = (self.work / "ippeveprinter.log").open("ab")
        # Own process group: stop()/kill() also end a running engine, which ippeveprinter leaves behind.
        self.process = subprocess.Popen(
            args,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
        log_file.close()
        self._wait_ready(timeout)
        self.refill(self._initial["paper_left"])  # A4 in the main tray, as in a Japanese kiosk
        log.info("simulated printer at %s (pid %d)", self.uri, self.process.pid)
        return self

    def _wait_ready(self, timeout: float) -> None:
        until = time.monotonic() + timeout
        while time.monotonic() < until:
            assert self.process is not None
            if self.process.poll() is not None:
                tail = (self.work / "ippeveprinter.log").read_text(errors="replace")[-500:]
                raise PrinterSimError(f"ippeveprinter exited with {self.process.returncode}: {tail}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/", timeout=1):
                    return
            except (OSError, urllib.error.URLError):
                time.sleep(0.05)
        self.stop()
        raise PrinterSimError(f"ippeveprinter did not answer on port {self.port} within {timeout:.0f} s")

    def configure(self, **changes: float | int | None) -> None:
        """Change ``page_delay``, ``fault_hold``, ``jam_at`` or ``paper_left`` for the next pages."""
        state = json.loads(self.state_file.read_text())
        state.update(changes)
        self.state_file.write_text(json.dumps(state))

    def refill(self, sheets: float | int | None = None) -> None:
        """Load paper (``None``: endless) and clear media-empty through ippeveprinter's /media form.

        Raises PrinterSimError if the printer does not take the form.
        """
        self.configure(paper_left=sheets)
        # Every tray of the form must be given, else ippeveprinter counts it as empty (level missing).
        query = urllib.parse.urlencode(
            {
                "size1": "iso_a4_210x297mm",
                "type1": "stationery",
                "level1": "250",
                "size3": "",
                "type3": "",
                "level3": "-2",
            }
        )
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/media?{query}", timeout=5):
                pass
        except (OSError, urllib.error.URLError) as exc:
            raise PrinterSimError(f"refill failed: {exc}") from exc

    def kill(self) -> None:
        """Power loss: SIGKILL ippeveprinter and its engine at once."""
        self._signal(signal.SIGKILL)

    def stop(self) -> None:
        """SIGTERM the printer and its engine, SIGKILL after 5 s; safe to call twice."""
        self._signal(signal.SIGTERM)

    def _signal(self, sig: signal.Signals) -> None:
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, sig)
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=5)
        with contextlib.suppress(ProcessLookupError):  # an engine still in the group
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process = None

    def __enter__(self) -> PrinterSim:
        return self.start() if self.process is None else self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
