"""Printer figures: IPP codec speed, PDF → PWG raster time, end-to-end print time on the simulated printer.

Run: ``.venv/bin/python -m bench.bench_printer`` (starts D-Bus/Avahi if absent and stops what it started).
"""

from __future__ import annotations

import io
import tempfile
import time
from pathlib import Path

from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

from firmware_sim.dnssd import DnssdServices
from firmware_sim.printer_sim import PrinterSim
from kiosk.devices import ipp
from kiosk.devices.ipp_constants import GroupTag, Operation, ValueTag
from kiosk.devices.print_render import count_pdf_pages, pdf_to_pwg_raster
from kiosk.devices.printer import IppPrinter


def sample_pdf(pages: int) -> bytes:
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4)
    for index in range(1, pages + 1):
        pdf.setFont("Helvetica", 12)
        for line in range(60):
            pdf.drawString(60, 780 - line * 12, f"DOC-BENCH p{index}/{pages} line {line} " + "x" * 60)
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def timed(label: str, runs: int, action: object) -> float:
    assert callable(action)
    started = time.perf_counter()
    for _ in range(runs):
        action()
    each = (time.perf_counter() - started) / runs
    print(f"{label:<48} {each * 1000:9.2f} ms")
    return each


def main() -> None:
    request = ipp.IppMessage(Operation.GET_PRINTER_ATTRIBUTES, 1, (ipp.AttributeGroup(GroupTag.OPERATION, (
        ipp.Attribute("attributes-charset", ValueTag.CHARSET, ("utf-8",)),
        ipp.Attribute("requested-attributes", ValueTag.KEYWORD, ("job-state", "job-state-reasons")))),))
    wire = ipp.encode(request)
    timed("IPP encode+decode, small request", 2000, lambda: ipp.decode(ipp.encode(request)))
    del wire
    pdf = sample_pdf(3)
    timed("pdfinfo page count (3 pages)", 10, lambda: count_pdf_pages(pdf))
    timed("PDF -> PWG raster sgray_8 300 dpi (3 A4 pages)", 3, lambda: pdf_to_pwg_raster(pdf))
    print(f"{'PWG raster size (3 pages)':<48} {len(pdf_to_pwg_raster(pdf)) / 1024:9.1f} KiB")
    dnssd = DnssdServices()
    dnssd.ensure()
    try:
        with tempfile.TemporaryDirectory() as tmp, PrinterSim(Path(tmp)) as sim:
            printer = IppPrinter(sim.uri, poll_interval=0.05)
            timed("Get-Printer-Attributes round trip", 50, printer.get_printer_attributes)
            timed("print 3 pages on the simulator (no page delay)", 3,
                  lambda: printer.print_pdf(pdf, job_name="bench", timeout=60))
    finally:
        dnssd.stop()


if __name__ == "__main__":
    main()
