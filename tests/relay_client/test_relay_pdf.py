"""The tiny page-tree reader: reportlab output, nested trees, object streams, and refusals."""

from __future__ import annotations

import zlib

import pytest
from relay_helpers import make_pdf

from relay_client.pdf import PdfError, count_pages


@pytest.mark.parametrize("pages", [1, 2, 3, 12])
def test_reportlab_documents(pages: int) -> None:
    assert count_pages(make_pdf(pages, "(paren) \\ <angle> %percent")) == pages


def classic(objects: dict[int, bytes], root: int = 1) -> bytes:
    """A classic-xref PDF from object bodies (real xref offsets, though the reader does not need them)."""
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = {}
    for num, body in sorted(objects.items()):
        offsets[num] = len(out)
        out += b"%d 0 obj\n" % num + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (max(objects) + 1)
    for num in range(1, max(objects) + 1):
        out += b"%010d 00000 n \n" % offsets.get(num, 0)
    out += b"trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (max(objects) + 1, root, xref)
    return bytes(out)


PAGE = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>"


def test_nested_page_tree() -> None:
    pdf = classic(
        {
            1: b"<< /Type /Catalog /Pages 2 0 R >>",
            2: b"<< /Type /Pages /Kids [3 0 R 4 0 R] /Count 3 >>",
            3: b"<< /Type /Pages /Parent 2 0 R /Kids [5 0 R 6 0 R] /Count 2 >>",
            4: PAGE,
            5: PAGE,
            6: PAGE,
        }
    )
    assert count_pages(pdf) == 3


def test_stream_containing_obj_like_bytes_is_skipped() -> None:
    data = b"9 0 obj << /Type /Page >> endobj"
    pdf = classic(
        {
            1: b"<< /Type /Catalog /Pages 2 0 R >>",
            2: b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            3: PAGE,
            4: b"<< /Length %d >>\nstream\n" % len(data) + data + b"\nendstream",
        }
    )
    assert count_pages(pdf) == 1


def test_object_stream_and_xref_stream() -> None:
    inner = [b"<< /Type /Pages /Kids [3 0 R 4 0 R] /Count 2 >>", PAGE, PAGE]
    header, body, off = b"", b"", 0
    for num, obj in zip((2, 3, 4), inner, strict=True):
        header += b"%d %d " % (num, off)
        body += obj + b" "
        off += len(obj) + 1
    packed = zlib.compress(header + body)
    objstm = (
        b"<< /Type /ObjStm /N 3 /First %d /Filter /FlateDecode /Length %d >>\nstream\n"
        % (len(header), len(packed))
        + packed
        + b"\nendstream"
    )
    pdf = (
        b"%PDF-1.5\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n5 0 obj\n"
        + objstm
        + b"\nendobj\n6 0 obj\n<< /Type /XRef /Root 1 0 R /Size 7 /W [1 2 1] /Length 0 >>\nstream\n"
        b"\nendstream\nendobj\nstartxref\n0\n%%EOF\n"
    )
    assert count_pages(pdf) == 2


@pytest.mark.parametrize(
    ("objects", "message"),
    [
        (
            {
                1: b"<< /Type /Catalog /Pages 2 0 R >>",
                2: b"<< /Type /Pages /Kids [3 0 R] /Count 2 >>",
                3: PAGE,
            },
            "/Count",
        ),
        ({1: b"<< /Type /Catalog /Pages 2 0 R >>", 2: b"<< /Type /Pages /Kids [2 0 R] /Count 1 >>"}, "cycle"),
        (
            {1: b"<< /Type /Catalog /Pages 2 0 R >>", 2: b"<< /Type /Pages /Kids [7 0 R] /Count 1 >>"},
            "missing",
        ),
        (
            {
                1: b"<< /Type /Catalog /Pages 2 0 R >>",
                2: b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
                3: b"<< /Type /Font >>",
            },
            "type",
        ),
        ({1: b"<< /Type /Catalog >>"}, "/Pages"),
    ],
    ids=["count-mismatch", "cycle", "missing-kid", "wrong-kid-type", "no-pages"],
)
def test_inconsistent_trees_are_refused(objects: dict[int, bytes], message: str) -> None:
    with pytest.raises(PdfError, match=message):
        count_pages(classic(objects))


@pytest.mark.parametrize("data", [b"", b"hello", b"%PDF-1.4\n", b"%PDF-1.4\n1 0 obj << /A (unterminated"])
def test_garbage_is_refused(data: bytes) -> None:
    with pytest.raises(PdfError):
        count_pages(data)
