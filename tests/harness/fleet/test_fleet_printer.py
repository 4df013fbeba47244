"""The fleet's in-process IPP printer: CUPS's ipptool accepts its IPP, and the kiosk's driver prints on it
with page timing, jams and paper out as on ippeveprinter."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

from harness.fleet.printer import LightPrinter, pdf_pages
from kiosk.devices.printer.driver import IppPrinter, PrintOutcome

IPPTOOL = shutil.which("ipptool")

SUBSET = """
{
  NAME "Get-Printer-Attributes"
  OPERATION Get-Printer-Attributes
  GROUP operation-attributes-tag
  ATTR charset attributes-charset utf-8
  ATTR naturalLanguage attributes-natural-language en
  ATTR uri printer-uri $uri
  STATUS successful-ok
  EXPECT printer-state OF-TYPE enum WITH-VALUE 3
  EXPECT printer-is-accepting-jobs OF-TYPE boolean WITH-VALUE true
  EXPECT document-format-supported OF-TYPE mimeMediaType WITH-VALUE application/pdf
  EXPECT operations-supported OF-TYPE enum
  EXPECT printer-state-reasons OF-TYPE keyword WITH-VALUE none
}
{
  NAME "Print-Job"
  OPERATION Print-Job
  GROUP operation-attributes-tag
  ATTR charset attributes-charset utf-8
  ATTR naturalLanguage attributes-natural-language en
  ATTR uri printer-uri $uri
  ATTR name requesting-user-name ipptool
  ATTR name job-name D-ipptool
  ATTR mimeMediaType document-format application/pdf
  FILE $filename
  STATUS successful-ok
  EXPECT job-id OF-TYPE integer WITH-VALUE >0
  EXPECT job-state OF-TYPE enum
}
{
  NAME "Get-Job-Attributes"
  OPERATION Get-Job-Attributes
  GROUP operation-attributes-tag
  ATTR charset attributes-charset utf-8
  ATTR naturalLanguage attributes-natural-language en
  ATTR uri printer-uri $uri
  ATTR integer job-id $job-id
  STATUS successful-ok
  EXPECT job-state OF-TYPE enum
  EXPECT job-impressions-completed OF-TYPE integer
  EXPECT job-name OF-TYPE name WITH-VALUE D-ipptool
}
{
  NAME "Cancel-Job"
  OPERATION Cancel-Job
  GROUP operation-attributes-tag
  ATTR charset attributes-charset utf-8
  ATTR naturalLanguage attributes-natural-language en
  ATTR uri printer-uri $uri
  ATTR integer job-id $job-id
  STATUS successful-ok
}
"""


def make_pdf(pages: int) -> bytes:
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4)
    for n in range(1, pages + 1):
        c.drawString(100, 700, f"page {n}")
        c.showPage()
    c.save()
    return buf.getvalue()


@pytest.fixture
def printer(tmp_path: Path) -> Iterator[LightPrinter]:
    with LightPrinter(tmp_path / "tray", page_seconds=0.05) as p:
        yield p


def test_pages_of_a_reportlab_pdf_are_counted() -> None:
    assert pdf_pages(make_pdf(3)) == 3
    assert pdf_pages(b"%PDF-1.4 nothing") == 0


@pytest.mark.skipif(IPPTOOL is None, reason="ipptool (cups-ipp-utils) not installed")
def test_ipptool_accepts_the_printers_ipp(tmp_path: Path) -> None:
    """The subset the driver uses, as CUPS's own client sends it (a chunked document, IPP/2.0)."""
    (tmp_path / "subset.test").write_text(SUBSET)
    (tmp_path / "doc.pdf").write_bytes(make_pdf(2))
    assert IPPTOOL is not None
    with LightPrinter(tmp_path / "tray", page_seconds=5.0) as printer:  # still printing at Cancel-Job
        test = [
            IPPTOOL,
            "-t",
            "-T",
            "10",
            "-f",
            str(tmp_path / "doc.pdf"),
            printer.uri,
            str(tmp_path / "subset.test"),
        ]
        done = subprocess.run(test, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "tray" / "1.pdf").read_bytes().startswith(b"%PDF")


def test_the_kiosk_driver_prints_every_page(printer: LightPrinter) -> None:
    driver = IppPrinter(printer.uri, poll_interval=0.02)
    try:
        result = driver.print_pdf(make_pdf(3), job_name="D-one", timeout=20)
    finally:
        driver.close()
    assert (result.outcome, result.pages_printed, result.pages_total) == (PrintOutcome.COMPLETED, 3, 3)
    printer.stop()
    (job,) = [json.loads(line) for line in (printer.tray / "jobs.jsonl").read_text().splitlines()]
    assert (job["name"], job["pages"], job["sheets_out"]) == ("D-one", 3, 3)


@pytest.mark.parametrize(
    ("arm", "reason", "out"), [({"jam_at": 2}, "media-jam", 1), ({"paper_left": 0}, "media-empty", 0)]
)
def test_a_fault_stops_the_job_with_the_sheets_that_came_out(
    printer: LightPrinter, arm: dict[str, int], reason: str, out: int
) -> None:
    driver = IppPrinter(printer.uri, poll_interval=0.02)
    printer.arm(**arm)
    try:
        result = driver.print_pdf(make_pdf(3), job_name="D-fault", timeout=20)
        assert result.outcome is PrintOutcome.ABORTED
        assert result.pages_printed == out
        assert reason in result.reasons
        assert not driver.get_printer_attributes().ready  # the fault stays until staff clear it
        printer.clear()
        assert driver.get_printer_attributes().ready
    finally:
        driver.close()
