"""Issue #14, nothing personal stays behind a run unless asked: the simulated printer's spooled jobs and
printed pages are certificates with residents' names. A clean stop removes them; ``keep=True`` leaves
them; a restart (a jam cleared) or a power loss leaves them, as the crash tests need; nothing else in the
spool folder is touched."""

from __future__ import annotations

from pathlib import Path

import pytest
from printer_helpers import make_pdf

from firmware_sim.printer.dnssd import DnssdServices
from firmware_sim.printer.ippeve import PrinterSim
from kiosk.devices.printer.driver import IppPrinter, PrintOutcome

pytestmark = pytest.mark.interop


def print_one(sim: PrinterSim, doc_id: str = "DOC-14") -> int:
    """Print a 2-page certificate; its job id."""
    result = IppPrinter(sim.uri, poll_interval=0.1).print_pdf(
        make_pdf(doc_id, 2), job_name=doc_id, timeout=30
    )
    assert result.outcome is PrintOutcome.COMPLETED and result.job_id is not None
    return result.job_id


def pdfs(spool: Path) -> list[str]:
    return sorted(str(p.relative_to(spool)) for p in spool.rglob("*.pdf"))


@pytest.mark.parametrize("keep", [False, True], ids=["default", "keep"])
def test_a_clean_stop_removes_the_spooled_job_and_its_pages_unless_asked_to_keep_them(
    dnssd: DnssdServices, tmp_path: Path, keep: bool
) -> None:
    spool = tmp_path / "spool"
    with PrinterSim(spool, keep=keep) as sim:
        job = print_one(sim)
        printed = [f"jobs/{job}-doc-14.pdf", f"tray/{job}-page-1.pdf", f"tray/{job}-page-2.pdf"]
        assert pdfs(spool) == printed
    assert sim.process is None
    assert pdfs(spool) == (printed if keep else [])
    assert (spool / ".sim" / "ippeveprinter.log").exists()  # the simulator's own log stays
    assert (spool / "jobs").exists() is keep and (spool / "tray").exists() is keep


def test_a_restart_or_a_power_loss_keeps_them_and_only_the_printers_files_are_removed(
    dnssd: DnssdServices, tmp_path: Path
) -> None:
    spool = tmp_path / "spool"
    spool.mkdir()
    mine = [spool / "1-notes.pdf", spool / "tray-notes.txt"]  # named like the printer's, not its own
    for path in mine:
        path.write_text("mine")
    sim = PrinterSim(spool).start()
    try:
        job = print_one(sim, "DOC-A")
        (spool / "tray" / "readme.txt").write_text("mine too")
        printed = ["1-notes.pdf", f"jobs/{job}-doc-a.pdf", f"tray/{job}-page-1.pdf", f"tray/{job}-page-2.pdf"]
        sim.restart()  # off and on, as clearing a jam does
        assert IppPrinter(sim.uri).health().ok and pdfs(spool) == printed
        sim.kill()  # power loss
        assert pdfs(spool) == printed
    finally:
        sim.stop()  # stopped cleanly after all (from a dead process): everything it spooled goes
    assert pdfs(spool) == ["1-notes.pdf"] and all(p.read_text() == "mine" for p in mine)
    assert (spool / "tray" / "readme.txt").read_text() == "mine too" and not (spool / "jobs").exists()
