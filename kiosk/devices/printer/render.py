"""PDF page count and PDF → PWG raster (``image/pwg-raster``, sgray_8) for printers that take no PDF.

Decisions (see also :mod:`kiosk.devices.printer.driver`):
- **Page count with poppler's ``pdfinfo``**, not a hand-written parser. Certificates from the
  center may use PDF 1.5 object and cross-reference streams, incremental updates or linearisation;
  a "small" parser that counts ``/Type /Page`` gets those wrong, a correct one is not small.
  poppler is already needed here for rasterising, it is a Debian package on the kiosk image
  (scripts/setup.sh) and it is the same code that renders the pages.
- **Rasterise with ``pdftoppm -gray`` and write PWG raster ourselves.** PWG raster (PWG 5102.4)
  is a 4-byte sync word and, per page, a 1796-byte header plus PackBits-style lines; sgray_8 at
  300 dpi is what every IPP Everywhere printer must accept. No maintained Python library writes it.
- The document never touches the disk (the kiosk keeps documents in memory only): poppler reads
  it from a pipe (``fd://0``) and writes the pages to a pipe.
"""

from __future__ import annotations

import logging
import re
import shutil
import struct
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = [
    "GrayPage",
    "PrintDocumentError",
    "count_pdf_pages",
    "encode_pwg_raster",
    "pdf_to_pwg_raster",
    "render_gray_pages",
]

log = logging.getLogger(__name__)

PWG_SYNC = b"RaS2"
PWG_HEADER_SIZE = 1796
_CSPACE_SGRAY = 18
_A4_NAME = "iso_a4_210x297mm"
_RUNS = re.compile(rb"(.)\1{2,}", re.DOTALL)  # runs of 3+ identical pixels


class PrintDocumentError(Exception):
    """The document cannot be read or rendered (not a PDF, damaged, poppler missing or too slow)."""


@dataclass(frozen=True)
class GrayPage:
    """One rendered page: 8-bit gray, 0 = black, 255 = white, ``width`` bytes per row."""

    width: int
    height: int
    dpi: int
    pixels: bytes


def _run_poppler(tool: str, args: list[str], pdf: bytes, timeout: float) -> bytes:
    path = shutil.which(tool)
    if path is None:
        raise PrintDocumentError(f"{tool} (poppler-utils) is not installed")
    try:
        # A fixed poppler binary and our own arguments; the document goes in on stdin, never a shell.
        done = subprocess.run(
            [path, *args, "fd://0"],
            input=pdf,
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise PrintDocumentError(f"{tool} took longer than {timeout:.0f} s") from exc
    if done.returncode != 0:
        detail = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise PrintDocumentError(f"{tool} cannot read the document: {detail[-1] if detail else 'no detail'}")
    return done.stdout


def count_pdf_pages(pdf: bytes, *, timeout: float = 10.0) -> int:
    """Number of pages in ``pdf`` (via ``pdfinfo``).

    Raises PrintDocumentError if it is not a readable PDF or has no pages.
    """
    if not pdf.startswith(b"%PDF-"):
        raise PrintDocumentError("not a PDF document (no %PDF- header)")
    info = _run_poppler("pdfinfo", [], pdf, timeout).decode("utf-8", "replace")
    match = re.search(r"^Pages:\s+(\d+)\s*$", info, re.MULTILINE)
    if match is None or int(match.group(1)) < 1:
        raise PrintDocumentError("the PDF has no pages")
    return int(match.group(1))


def render_gray_pages(pdf: bytes, *, dpi: int = 300, timeout: float = 60.0) -> list[GrayPage]:
    """Render every page of ``pdf`` to 8-bit gray at ``dpi`` (via ``pdftoppm -gray``).

    Raises PrintDocumentError if poppler cannot render it or its output is not PGM.
    """
    if not pdf.startswith(b"%PDF-"):
        raise PrintDocumentError("not a PDF document (no %PDF- header)")
    # No anti-aliasing: the printer halftones gray, so soft edges would print as fuzz (and pack worse).
    stream = _run_poppler("pdftoppm", ["-gray", "-r", str(dpi), "-aa", "no", "-aaVector", "no"], pdf, timeout)
    pages = list(_split_pgm(stream, dpi))
    if not pages:
        raise PrintDocumentError("pdftoppm produced no pages")
    return pages


_PGM_HEADER = re.compile(rb"P5\s+(\d+)\s+(\d+)\s+255\s")


def _split_pgm(stream: bytes, dpi: int) -> Iterator[GrayPage]:
    pos = 0
    while pos < len(stream):
        match = _PGM_HEADER.match(stream, pos)
        if match is None:
            raise PrintDocumentError("unexpected pdftoppm output (not 8-bit PGM)")
        width, height = int(match.group(1)), int(match.group(2))
        start, end = match.end(), match.end() + width * height
        if end > len(stream):
            raise PrintDocumentError("pdftoppm output is truncated")
        yield GrayPage(width, height, dpi, stream[start:end])
        pos = end


def pdf_to_pwg_raster(pdf: bytes, *, dpi: int = 300, timeout: float = 60.0) -> bytes:
    """The whole PDF as a PWG raster stream (sgray_8, one raster page per PDF page).

    Raises PrintDocumentError if the PDF cannot be rendered.
    """
    return encode_pwg_raster(render_gray_pages(pdf, dpi=dpi, timeout=timeout))


def encode_pwg_raster(pages: list[GrayPage]) -> bytes:
    """Encode gray pages as PWG raster: sync word, then header + compressed lines per page."""
    out = bytearray(PWG_SYNC)
    for page in pages:
        out += pwg_page_header(page, total_pages=len(pages))
        out += _compress_page(page)
    return bytes(out)


def pwg_page_header(page: GrayPage, *, total_pages: int) -> bytes:
    """The 1796-byte PWG 5102.4 page header for an sgray_8 page (big-endian integers)."""
    header = bytearray(PWG_HEADER_SIZE)
    header[0:9] = b"PwgRaster"

    def put(offset: int, *values: int) -> None:
        struct.pack_into(f">{len(values)}I", header, offset, *values)

    points_w = round(page.width * 72 / page.dpi)
    points_h = round(page.height * 72 / page.dpi)
    put(276, page.dpi, page.dpi)  # HWResolution
    put(340, 1)  # NumCopies
    put(352, points_w, points_h)  # PageSize (points)
    put(372, page.width, page.height)  # Width, Height (pixels)
    put(384, 8, 8, page.width, 0, _CSPACE_SGRAY)  # BitsPerColor, BitsPerPixel, BytesPerLine, chunky, sgray
    put(420, 1)  # NumColors
    put(452, total_pages, 1, 1)  # TotalPageCount, CrossFeedTransform, FeedTransform
    put(464, 0, 0, page.width, page.height)  # ImageBox left, top, right, bottom
    header[1732 : 1732 + len(_A4_NAME)] = _A4_NAME.encode()  # PageSizeName (informative)
    return bytes(header)


def _compress_page(page: GrayPage) -> bytes:
    out = bytearray()
    rows = [page.pixels[y * page.width : (y + 1) * page.width] for y in range(page.height)]
    y = 0
    while y < len(rows):
        repeat = 1
        while repeat < 256 and y + repeat < len(rows) and rows[y + repeat] == rows[y]:
            repeat += 1
        out.append(repeat - 1)
        out += compress_line(rows[y])
        y += repeat
    return bytes(out)


def compress_line(line: bytes) -> bytes:
    """PackBits-style PWG line body: 0..127 = next pixel (n+1) times; 129..255 = (257-n) literals.

    Only runs of 3 or more become repeat codes; shorter ones stay in literal stretches. That costs
    at most a byte per short run and keeps the Python work per line small (see bench/printer.py).
    """
    out = bytearray()
    append = out.append  # this loop runs per run of pixels: keep it lean
    pos = 0
    for match in _RUNS.finditer(line):
        start, end = match.span()
        if start > pos:
            _put_literals(out, line, pos, start)
        value, run = line[start], end - start
        while run > 128:
            append(127)
            append(value)
            run -= 128
        append(run - 1)
        append(value)
        pos = end
    if pos < len(line):
        _put_literals(out, line, pos, len(line))
    return bytes(out)


def _put_literals(out: bytearray, line: bytes, start: int, end: int) -> None:
    while start < end:
        chunk = line[start : min(end, start + 127)]
        if len(chunk) == 1:
            out += bytes((0, chunk[0]))
        else:
            out.append(257 - len(chunk))
            out += chunk
        start += len(chunk)
