"""The simulated print engine, ippeveprinter's ``-c`` program: ``python -m firmware_sim.printer.engine FILE``.

ippeveprinter runs it once per job with the spooled document as argv[1] and its own environment
plus ``IPP_*`` job attributes. It "prints" page by page: each page that comes out is written to
the output tray directory (``<job-id>-page-<n>.pdf`` via pdfseparate, or ``.pgm`` for PWG
raster), then reported on stderr with ippeveprinter's command protocol:
``ATTR: job-impressions=N``, ``ATTR: job-impressions-completed=K``, ``STATE: +media-empty``,
``ERROR: text`` (becomes job-state-message). A non-zero exit makes the job aborted.

Faults follow a sheet counter kept for the printer's lifetime in ``$MYNA_PRINTER_STATE`` (JSON):
``paper_left`` sheets in the tray (None = endless) and ``jam_at`` (the n-th sheet fed since start
jams). On a fault the engine does what a real printer does: it reports the reason and holds the
job, waiting for the kiosk to cancel it, at most ``fault_hold`` seconds, then aborts.

Cancellation: ippeveprinter 2.4 does not signal its command when a job is canceled (the job
stays ``processing-to-stop-point`` until the command exits), so the engine asks for its own job's
state with ``ipptool`` between steps and stops when a cancel is pending. It also stops when its
parent ippeveprinter has gone.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from firmware_sim.printer.pwg_raster import PwgError, read_pwg_pages

_CANCEL_CHECK = """{
  OPERATION Get-Job-Attributes
  GROUP operation-attributes-tag
  ATTR charset attributes-charset utf-8
  ATTR naturalLanguage attributes-natural-language en
  ATTR uri printer-uri $uri
  ATTR integer job-id $job_id
  STATUS successful-ok
  EXPECT job-state-reasons WITH-VALUE "processing-to-stop-point"
}
"""


def say(line: str) -> None:
    """One line of ippeveprinter's command protocol on stderr."""
    print(line, file=sys.stderr, flush=True)


class Engine:
    def __init__(self, spool_file: Path, state_file: Path, tray: Path, env: dict[str, str]) -> None:
        self.spool_file, self.state_file, self.tray = spool_file, state_file, tray
        self.job_id = env.get("IPP_JOB_ID", "0")
        self.printer_uri = env.get("IPP_JOB_PRINTER_URI", "")
        self.content_type = env.get("CONTENT_TYPE", "application/pdf")
        copies = env.get("IPP_COPIES", "1")
        self.copies = int(copies) if copies.isdigit() and 0 < int(copies) <= 99 else 1
        self.parent = os.getppid()
        self.state: dict[str, object] = json.loads(state_file.read_text()) if state_file.exists() else {}
        self.check_file: Path | None = None

    def number(self, key: str, default: float) -> float:
        value = self.state.get(key)
        return float(value) if isinstance(value, int | float) else default

    def run(self) -> int:
        pages = self.pages() * self.copies  # uncollated is not simulated: copy after copy
        say(f"ATTR: job-impressions={len(pages)}")
        say("INFO: Printing.")
        for index, page in enumerate(pages, start=1):
            fault = self.feed_sheet()
            if fault:
                return self.hold_fault(*fault)
            if not self.wait(self.number("page_delay", 0.0)):
                say("INFO: Canceled.")
                return 0
            (self.tray / f"{self.job_id}-page-{index}{page[0]}").write_bytes(page[1])
            say(f"ATTR: job-impressions-completed={index}")
        say("INFO: Printed.")
        return 0

    def pages(self) -> list[tuple[str, bytes]]:
        """(extension, bytes) of each page as it will come out."""
        if self.content_type == "image/pwg-raster":
            try:
                return [(".pgm", page.pgm()) for page in read_pwg_pages(self.spool_file.read_bytes())]
            except PwgError as exc:
                say(f"ERROR: bad raster data: {exc}")
                raise SystemExit(1) from exc
        with tempfile.TemporaryDirectory() as tmp:
            tool = shutil.which("pdfseparate") or "/usr/bin/pdfseparate"
            subprocess.run(
                [tool, str(self.spool_file), f"{tmp}/%d.pdf"],
                check=True,
                capture_output=True,
            )
            files = sorted(Path(tmp).glob("*.pdf"), key=lambda p: int(p.stem))
            return [(".pdf", f.read_bytes()) for f in files]

    def feed_sheet(self) -> tuple[str, str] | None:
        """Take one sheet from the tray; the fault (reason, message) if it cannot be printed."""
        fed = int(self.number("sheets_fed", 0)) + 1
        paper_left = self.state.get("paper_left")
        if isinstance(paper_left, int) and paper_left <= 0:
            return "media-empty", "Out of paper."
        jam_at = self.state.get("jam_at")
        if isinstance(jam_at, int) and fed == jam_at:
            self.save(sheets_fed=fed, paper_left=paper_left - 1 if isinstance(paper_left, int) else None)
            return "media-jam", f"Paper jam at sheet {fed}."
        self.save(sheets_fed=fed, paper_left=paper_left - 1 if isinstance(paper_left, int) else None)
        return None

    def save(self, **changes: object) -> None:
        self.state.update(changes)
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.state))
        os.replace(tmp, self.state_file)

    def hold_fault(self, reason: str, message: str) -> int:
        say(f"STATE: +{reason}")
        say(f"ERROR: {message}")
        if self.wait(self.number("fault_hold", 300.0)):
            return 1  # nobody came: the printer gives up on the job (aborted)
        return 0  # the kiosk canceled the job while we waited

    def wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; False as soon as the job is being canceled or the printer died."""
        until = time.monotonic() + seconds
        while True:
            if self.cancel_pending():
                return False
            left = until - time.monotonic()
            if left <= 0:
                return True
            time.sleep(min(left, 0.2))

    def cancel_pending(self) -> bool:
        if os.getppid() != self.parent:
            raise SystemExit(1)  # ippeveprinter is gone; do not outlive it
        ipptool = shutil.which("ipptool")
        if ipptool is None or not self.printer_uri:
            return False
        if self.check_file is None:
            self.check_file = self.state_file.parent / "cancel-check.test"
            if not self.check_file.exists():
                self.check_file.write_text(_CANCEL_CHECK)
        done = subprocess.run(
            [
                ipptool,
                "-q",
                "-T",
                "2",
                "-d",
                f"job_id={self.job_id}",
                self.printer_uri,
                str(self.check_file),
            ],
            capture_output=True,
            timeout=5,
            check=False,
        )
        return done.returncode == 0


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        say("ERROR: usage: printer_engine SPOOL-FILE")
        return 2
    env = dict(os.environ)
    work = Path(env.get("MYNA_PRINTER_STATE", tempfile.gettempdir() + "/myna-printer-state.json"))
    tray = Path(env.get("MYNA_PRINTER_TRAY", str(work.parent / "tray")))
    tray.mkdir(parents=True, exist_ok=True)
    if re.fullmatch(r"\d+", env.get("IPP_JOB_ID", "")) is None:
        say("ERROR: not run by ippeveprinter (no IPP_JOB_ID)")
        return 2
    return Engine(Path(argv[1]), work, tray, env).run()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
