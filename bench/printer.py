"""Printer figures: IPP codec speed, PDF → PWG raster time, end-to-end print time on the simulated printer.

Run: ``.venv/bin/python -m bench printer`` (starts D-Bus/Avahi if absent and stops what it started).
"""

from __future__ import annotations

import io
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

from bench import Row
from firmware_sim.printer.dnssd import DnssdServices
from firmware_sim.printer.ippeve import PrinterSim
from kiosk.devices.printer import ipp
from kiosk.devices.printer.driver import IppPrinter
from kiosk.devices.printer.ipp_constants import GroupTag, Operation, ValueTag
from kiosk.devices.printer.render import count_pdf_pages, pdf_to_pwg_raster, render_gray_pages


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


def timed(runs: int, action: Callable[[], object]) -> float:
    """Mean seconds per call of ``action`` over ``runs`` calls."""
    started = time.perf_counter()
    for _ in range(runs):
        action()
    return (time.perf_counter() - started) / runs


def run() -> list[Row]:
    """Codec, raster and end-to-end print figures, each with its baseline from the same run. Raises
    PrinterSimError / DnssdError if the simulated printer cannot start, PrintDocumentError."""
    operation = ipp.AttributeGroup(
        GroupTag.OPERATION,
        (
            ipp.Attribute("attributes-charset", ValueTag.CHARSET, ("utf-8",)),
            ipp.Attribute("requested-attributes", ValueTag.KEYWORD, ("job-state", "job-state-reasons")),
        ),
    )
    request = ipp.IppMessage(Operation.GET_PRINTER_ATTRIBUTES, 1, (operation,))
    codec = timed(2000, lambda: ipp.decode(ipp.encode(request)))
    pdf = sample_pdf(3)
    render = timed(3, lambda: render_gray_pages(pdf))
    raster = timed(3, lambda: pdf_to_pwg_raster(pdf))
    rows = [
        Row("IPP encode+decode, small request", codec * 1e6, "µs", "our codec"),
        Row("pdfinfo page count (3 pages)", timed(10, lambda: count_pdf_pages(pdf)) * 1000, "ms", "poppler"),
        Row("render 3 A4 pages gray 300 dpi (pdftoppm)", render * 1000, "ms", "baseline: poppler alone"),
        Row(
            "PDF -> PWG raster sgray_8 (3 pages)",
            raster * 1000,
            "ms",
            f"{raster / render:.2f}× the render alone (our PWG packing on top)",
        ),
        Row("PWG raster size (3 pages)", len(pdf_to_pwg_raster(pdf)) / 1024, "KiB", "PackBits-style lines"),
    ]
    return rows + _printed(pdf)


def _printed(pdf: bytes) -> list[Row]:
    dnssd = DnssdServices()
    dnssd.ensure()
    try:
        with tempfile.TemporaryDirectory() as tmp, PrinterSim(Path(tmp)) as sim:
            printer = IppPrinter(sim.uri, poll_interval=0.05)
            query = timed(50, printer.get_printer_attributes)
            job = timed(3, lambda: printer.print_pdf(pdf, job_name="bench", timeout=60))
    finally:
        dnssd.stop()
    return [
        Row("Get-Printer-Attributes round trip", query * 1000, "ms", "ippeveprinter on 127.0.0.1"),
        Row(
            "print 3 pages on the simulator",
            job * 1000,
            "ms",
            f"{job / query:.0f}× one IPP round trip (no page delay; job polled every 50 ms)",
        ),
    ]


if __name__ == "__main__":
    for row in run():
        print(f"{row.name:<48} {row.formatted_value():>10} {row.unit}  {row.note}")
