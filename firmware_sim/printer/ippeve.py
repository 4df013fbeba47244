"""A printer with scripted faults: CUPS's ``ippeveprinter`` driving our print engine (``-c``).

ippeveprinter speaks real IPP (the kiosk's driver needs no special case); the engine
(:mod:`firmware_sim.printer.engine`) prints page by page into ``<spool>/tray`` and reports
progress and faults through ippeveprinter's command protocol. Faults: out of paper when the
tray's sheets run out (``paper_out_at=N``: the tray holds N-1 sheets), a jam at the N-th sheet,
slow pages. Paper-out stays until :meth:`PrinterSim.refill` (ippeveprinter's own ``/media`` web
form, then the engine's tray count); a jam stays until the printer is restarted
(:meth:`PrinterSim.restart`), because ippeveprinter lets only its command set or clear ``media-jam``.

While it runs, ippeveprinter keeps each job's document in ``<spool>/jobs`` (``-k``:
``<job-id>-<job-name>.pdf``, and the command's output ``.prn``) and the engine puts each page in
``<spool>/tray``. They are certificates with residents' names, so a clean stop (:meth:`PrinterSim.stop`)
removes them unless the printer was asked to keep them (``keep=True``); a power loss
(:meth:`PrinterSim.kill`) leaves them, as the crash tests need.

ippeveprinter (CUPS 2.4) will not start without DNS-SD, even with ``-r off``; run
:class:`firmware_sim.printer.dnssd.DnssdServices` first.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from types import TracebackType

from firmware_sim.printer.dnssd import DnssdServices, PrinterSimError
from firmware_sim.printer.groups import end_group
from firmware_sim.printer.ports import free_port, owns_listening_port, someone_listens

__all__ = ["DnssdServices", "PrinterSim", "PrinterSimError", "free_port"]

log = logging.getLogger(__name__)

IPPEVEPRINTER = "/usr/sbin/ippeveprinter"
# ippeveprinter's spooled job files: "<job-id>-<job-name, lower case, [a-z0-9-] else _>.<ext>" (the
# document, and with -c the command's output .prn); the engine's pages: "<job-id>-page-<n>.<ext>".
_JOB_FILE = re.compile(r"\d+-[0-9a-z_-]*\.[0-9a-z]+")
_TRAY_PAGE = re.compile(r"\d+-page-\d+\.[0-9a-z]+")


_PORT_TRIES = 5  # fresh ports tried when another process took the one chosen


class _PortTaken(PrinterSimError):
    """ippeveprinter exited because another process holds its port."""


class _AvahiGone(PrinterSimError):
    """ippeveprinter exited because the Avahi daemon it registered with went away."""


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
        keep: bool = False,
    ) -> None:
        """``keep``: leave the spooled jobs and the tray's pages at a clean stop (default: removed)."""
        self.spool = spool
        self.keep = keep
        self.port = port or free_port()
        self._port_chosen = not port  # we may move to another port if this one is taken
        self.name = name
        self.formats = formats
        self.work = spool / ".sim"
        self.jobs = spool / "jobs"  # ippeveprinter's spool directory (-d)
        self.tray = spool / "tray"
        self.state_file = self.work / "state.json"
        self.process: subprocess.Popen[bytes] | None = None
        self._log_from = 0  # where the running start's lines begin in ippeveprinter.log
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
        """Start ippeveprinter and wait until it answers on its port. If the port was ours to choose and
        another process takes it first, start again on a fresh one (:attr:`uri` changes). Raises
        PrinterSimError."""
        for attempt in range(_PORT_TRIES):
            try:
                return self._start(timeout)
            except _PortTaken as exc:
                if not self._port_chosen or attempt == _PORT_TRIES - 1:
                    raise PrinterSimError(str(exc)) from exc
                log.warning("printer simulator: %s; trying another port", exc)
                self.port = free_port()
            except _AvahiGone as exc:
                if attempt == _PORT_TRIES - 1:
                    raise PrinterSimError(str(exc)) from exc
                log.warning("printer simulator: %s; starting Avahi again", exc)
                DnssdServices.revive()
        raise AssertionError("unreachable")

    def _start(self, timeout: float) -> PrinterSim:
        if not Path(IPPEVEPRINTER).exists():
            raise PrinterSimError(f"{IPPEVEPRINTER} is missing (Debian package cups-ipp-utils)")
        for folder in (self.work, self.jobs, self.tray):
            folder.mkdir(parents=True, exist_ok=True)
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
            str(self.jobs),
            "-c",
            str(command),
            "-M",
            "Myna",
            "-m",
            "Sim Printer",
            self.name,
        ]
        log_file = (self.work / "ippeveprinter.log").open("ab")
        self._log_from = log_file.tell()  # this start's lines only: an earlier try's stay in the file
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
                code, self.process = self.process.returncode, None
                with (self.work / "ippeveprinter.log").open("rb") as log_file:
                    log_file.seek(self._log_from)
                    tail = log_file.read().decode(errors="replace")[-500:]
                if someone_listens(self.port):
                    raise _PortTaken(f"port {self.port} is held by another process (ippeveprinter exited)")
                if "Avahi server crashed" in tail:
                    raise _AvahiGone(f"ippeveprinter exited with {code}: the Avahi daemon went away")
                raise PrinterSimError(f"ippeveprinter exited with {code}: {tail}")
            # Something answering is not enough: it must be our ippeveprinter, not whoever took the port.
            if owns_listening_port(self.process.pid, self.port):
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/", timeout=1):
                        return
                except (OSError, urllib.error.URLError):
                    pass
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
        """Power loss: SIGKILL ippeveprinter and its engine at once; the spool and the tray stay."""
        self._signal(signal.SIGKILL)

    def stop(self) -> None:
        """A clean stop: SIGTERM the printer and its engine (SIGKILL after 5 s), then remove the spooled
        jobs and the tray's pages unless ``keep``; safe to call twice. Raises OSError if a file cannot be
        removed."""
        self._signal(signal.SIGTERM)
        if not self.keep:
            self.purge()

    def restart(self, timeout: float = 10.0) -> PrinterSim:
        """Switch the printer off and on (same port): a jam clears, the spooled jobs and the tray's pages
        stay; the engine starts again from the faults it was made with, as :meth:`start` does. Raises
        PrinterSimError (also when another process took the port meanwhile)."""
        self._signal(signal.SIGTERM)
        try:
            return self._start(timeout)
        except _PortTaken as exc:
            raise PrinterSimError(str(exc)) from exc

    def purge(self) -> list[Path]:
        """Remove ippeveprinter's spooled job files from ``jobs`` and the engine's pages from ``tray``
        (nothing else), then those folders if that left them empty; the files removed. Raises OSError if
        a file cannot be removed."""
        found = [p for p in self._listing(self.jobs) if _JOB_FILE.fullmatch(p.name)]
        found += [p for p in self._listing(self.tray) if _TRAY_PAGE.fullmatch(p.name)]
        for path in found:
            path.unlink(missing_ok=True)
        for folder in (self.jobs, self.tray):
            with contextlib.suppress(OSError):  # not empty (something not ours), or already gone
                folder.rmdir()
        if found:
            log.info("printer simulator: %d spooled job file(s) and page(s) removed", len(found))
        return found

    @staticmethod
    def _listing(folder: Path) -> list[Path]:
        try:
            return [p for p in folder.iterdir() if p.is_file() and not p.is_symlink()]
        except FileNotFoundError:
            return []

    def _signal(self, sig: signal.Signals) -> None:
        if self.process is None:
            return
        end_group(self.process, sig, grace=5.0)  # an engine still in the group ends too
        self.process = None

    def __enter__(self) -> PrinterSim:
        return self.start() if self.process is None else self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
