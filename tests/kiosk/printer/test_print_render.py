"""PDF page count and the PWG raster encoder: line packing, header fields, decoding by CUPS's ippevepcl."""

from __future__ import annotations

import os
import struct
import subprocess
from pathlib import Path

import pytest
from printer_helpers import make_pdf

from firmware_sim.printer.pwg_raster import PwgError, read_pwg_pages
from kiosk.devices.printer.render import (
    PWG_HEADER_SIZE,
    GrayPage,
    PrintDocumentError,
    compress_line,
    count_pdf_pages,
    encode_pwg_raster,
    pdf_to_pwg_raster,
    pwg_page_header,
)
from reader.apdu import h


@pytest.mark.parametrize(
    ("line", "packed"),
    [
        ("FF", "00 FF"),
        ("FF FF FF FF", "03 FF"),
        ("00 11 22", "FE 00 11 22"),  # 3 literals: 257 - 3 = 0xFE
        ("00 11 FF FF FF", "FF 00 11 02 FF"),  # 2 literals, then a run of 3
        ("AA" * 200, "7F AA 47 AA"),  # runs longer than 128 split
        (
            " ".join(f"{i:02X}" for i in range(128)),
            "82 " + " ".join(f"{i:02X}" for i in range(127)) + " 00 7F",
        ),
    ],
)
def test_line_packing(line: str, packed: str) -> None:
    assert compress_line(h(line)) == h(packed)


def test_page_header_fields() -> None:
    page = GrayPage(width=2480, height=3508, dpi=300, pixels=b"")
    header = pwg_page_header(page, total_pages=2)
    assert len(header) == PWG_HEADER_SIZE and header.startswith(b"PwgRaster\0")
    assert struct.unpack_from(">II", header, 276) == (300, 300)  # HWResolution
    assert struct.unpack_from(">II", header, 352) == (595, 842)  # PageSize in points (A4)
    assert struct.unpack_from(">II", header, 372) == (2480, 3508)  # Width, Height
    assert struct.unpack_from(">5I", header, 384) == (8, 8, 2480, 0, 18)  # 8 bit, chunky, sgray
    assert struct.unpack_from(">I", header, 452) == (2,)  # TotalPageCount
    assert header[1732:1748] == b"iso_a4_210x297mm"


def test_raster_round_trip_through_the_simulator_decoder() -> None:
    rows = [bytes([255] * 40), bytes([255] * 40), bytes(range(0, 200, 5)), bytes([0] * 40)]
    page = GrayPage(40, 4, 300, b"".join(rows))
    decoded = list(read_pwg_pages(encode_pwg_raster([page, page])))
    assert [(p.width, p.height, p.total_pages, p.pixels) for p in decoded] == [(40, 4, 2, page.pixels)] * 2


def test_cups_ippevepcl_reads_our_raster(tmp_path: Path) -> None:
    raster = pdf_to_pwg_raster(make_pdf("DOC-9", 2), dpi=300)
    path = tmp_path / "doc.pwg"
    path.write_bytes(raster)
    done = subprocess.run(
        ["/usr/sbin/ippevepcl", str(path)],
        capture_output=True,
        timeout=60,
        env={**os.environ, "CONTENT_TYPE": "image/pwg-raster"},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert b"ATTR: job-impressions=2" in done.stderr
    assert b"job-impressions-completed=2" in done.stderr
    assert done.stdout.startswith(b"\x1bE") and b"\x1b&l26A" in done.stdout  # PCL reset, A4 paper


def test_page_count() -> None:
    assert count_pdf_pages(make_pdf("DOC-1", 1)) == 1
    assert count_pdf_pages(make_pdf("DOC-5", 5)) == 5


@pytest.mark.parametrize(
    ("data", "complaint"),
    [
        (b"", "not a PDF"),
        (b"GIF89a", "not a PDF"),
        (b"%PDF-1.7\n%%EOF", "cannot read"),
    ],
)
def test_unreadable_documents(data: bytes, complaint: str) -> None:
    with pytest.raises(PrintDocumentError, match=complaint):
        count_pdf_pages(data)
    with pytest.raises(PrintDocumentError, match=complaint):
        pdf_to_pwg_raster(data)


@pytest.mark.parametrize(
    ("data", "complaint"),
    [
        (b"RaS3", "sync"),
        (b"RaS2" + bytes(100), "truncated page header"),
        (encode_pwg_raster([GrayPage(8, 8, 300, bytes(64))])[:-2], "truncated page data"),
    ],
)
def test_simulator_decoder_rejects_bad_raster(data: bytes, complaint: str) -> None:
    with pytest.raises(PwgError, match=complaint):
        list(read_pwg_pages(data))
