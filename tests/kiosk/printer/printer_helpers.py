"""Building blocks for the printer tests: test PDFs with a document ID per page, poppler checks."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas


def make_pdf(doc_id: str, pages: int) -> bytes:
    """A PDF whose page i says ``<doc_id> p<i>/<pages>`` in large type."""
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4, invariant=True)
    for index in range(1, pages + 1):
        pdf.setFont("Helvetica", 28)
        pdf.drawString(72, 700, f"{doc_id} p{index}/{pages}")
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def pdf_page_count(path: Path) -> int:
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    return int(next(line.split()[1] for line in info.splitlines() if line.startswith("Pages:")))


def pdf_page_text(path: Path, page: int) -> str:
    return subprocess.run(
        ["pdftotext", "-f", str(page), "-l", str(page), str(path), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
