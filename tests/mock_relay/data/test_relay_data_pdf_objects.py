"""The document PDF's objects formatted once (fonts' subsets, images) and its strings written straight
from the fonts' subset runs: each document gets reportlab's own bytes, its references numbered for that
document."""

from __future__ import annotations

import io
import zlib

import pytest
from PIL import Image
from relay_data_helpers import MONDAY, price
from reportlab import rl_config
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfdoc
from reportlab.pdfbase.pdfdoc import PDFImageXObject, PDFObjectReference
from reportlab.pdfgen.canvas import Canvas

from mock_relay.documents import pdf
from mock_relay.documents.build import build_document_request, render_document
from mock_relay.registry.store import Registry


def _document(*names: str) -> pdfdoc.PDFDocument:
    """A document where ``names`` are registered (so they have object numbers), in that order, after a few
    other objects (numbers differ from one document to the next)."""
    doc = pdfdoc.PDFDocument()
    for name in names:
        doc.Reference(pdfdoc.PDFDictionary({"Stand": "/In"}), name)
    return doc


def test_a_frozen_dictionary_is_reportlabs_with_this_documents_numbers() -> None:
    descriptor = pdfdoc.PDFDictionary(
        {
            "Type": "/FontDescriptor",
            "FontBBox": pdfdoc.PDFArray([-270.0195, -278.8086, 1000, 930.1758]),
            "FontName": pdfdoc.PDFName("AAAAAA+IPAexGothic"),
            "FontFile2": PDFObjectReference("fontFile:x"),
            "ToUnicode": PDFObjectReference("cmap:x"),
        }
    )
    frozen = pdf._freeze(descriptor)
    assert frozen.refs == ("cmap:x", "fontFile:x") or frozen.refs == ("fontFile:x", "cmap:x")
    for order in (("fontFile:x", "cmap:x"), ("cmap:x", "fontFile:x")):
        doc = _document("R-a", *order)
        assert frozen.copy().format(doc) == pdfdoc.format(descriptor, doc, toplevel=1)


def test_a_frozen_image_with_a_soft_mask_is_reportlabs_whatever_its_content() -> None:
    img = Image.new("RGBA", (40, 30), (200, 30, 30, 128))
    out = io.BytesIO()
    img.save(out, format="PNG")
    image = PDFImageXObject("ImgT", ImageReader(io.BytesIO(out.getvalue())), mask="auto")
    smask = image._smask
    del image._smask
    image.smask = PDFObjectReference("FormXob.mask")
    images = [image, PDFImageXObject("ImgU", ImageReader(io.BytesIO(out.getvalue())))]
    images[1].streamContent = b"@ 0 R 12 0 R \x00@1@ 0 R " + zlib.compress(b"reference-like bytes")
    images[1].smask = PDFObjectReference("FormXob.mask")
    for one in images:
        frozen = pdf._freeze(one)
        assert frozen.refs == ("FormXob.mask",)
        for doc in (_document("FormXob.mask"), _document("R-a", "R-b", "FormXob.mask")):
            assert frozen.copy().format(doc) == one.format(doc)
    frozen_mask = pdf._freeze(smask)
    assert frozen_mask.refs == ()
    assert frozen_mask.copy().format(_document()) == smask.format(_document())


class _Live(pdf._Frozen):
    """Formats the original object in every document, as plain reportlab does (the reference)."""

    def __init__(self, obj: pdfdoc.PDFObject) -> None:
        super().__init__((), ())
        self.obj = obj

    def copy(self) -> _Live:
        return _Live(self.obj)

    def format(self, document: pdfdoc.PDFDocument) -> bytes:
        return pdfdoc.format(self.obj, document, toplevel=1)


@pytest.mark.parametrize(
    ("rid", "item"),
    [("C-001", {"type": "juminhyo", "options": {"setainushi": True}}), ("C-001", {"type": "inkan"})],
)
def test_documents_are_byte_for_byte_what_reportlab_formats(
    registry: Registry, monkeypatch: pytest.MonkeyPatch, rid: str, item: dict[str, object]
) -> None:
    monkeypatch.setattr(rl_config, "invariant", 1)  # no dates or random ids: two renders can be compared
    resident = registry.resident(rid)
    assert resident is not None
    req = build_document_request(
        registry,
        resident,
        price(registry, rid, item, MONDAY),
        0,
        "D-1",
        "K7QX-2M9D-PLRT",
        "https://x/v",
        MONDAY,
    )
    render_document(req)  # the fonts registered
    pdf.forget_cached_objects()
    render_document(req)
    frozen = render_document(req).pdf  # the second from the cached, frozen objects
    monkeypatch.setattr(pdf, "_freeze", _Live)
    pdf.forget_cached_objects()
    try:
        assert render_document(req).pdf == frozen
    finally:
        pdf.forget_cached_objects()


TEXTS = ("文書番号 D-a(b)\\c", "", "東京都千代田区　1-2-3", "（以下余白）", "x" * 300 + "漢字" * 150)


def _reportlab_string(canvas: Canvas, x: float, y: float, text: str, align: float = 0.0) -> None:
    draw = {0.0: canvas.drawString, 0.5: canvas.drawCentredString, 1.0: canvas.drawRightString}[align]
    draw(x, y, text)


def test_strings_are_drawn_with_reportlabs_operators() -> None:
    pdf.register_fonts()
    canvases = [Canvas(io.BytesIO(), initialFontName=pdf.GOTHIC, initialFontSize=9) for _ in range(2)]
    for canvas, draw in zip(canvases, (pdf._draw_string, _reportlab_string), strict=True):
        for font, size in ((pdf.GOTHIC, 8), (pdf.MINCHO, 10.5)):
            canvas.setFont(font, size)
            for align in (0.0, 0.5, 1.0):
                for text in (
                    "文書番号 D-a(b)\\c",
                    "",
                    "東京都千代田区　1-2-3",
                    "（以下余白）",
                    "x" * 300 + "漢字" * 150,
                ):
                    draw(canvas, 12.25, 700.5, text, align)
    assert canvases[0]._code == canvases[1]._code
    assert len({c for c in canvases[0]._code}) > 10


@pytest.mark.parametrize(
    ("rid", "item"),
    [("S-004", {"type": "koseki_zenbu"}), ("S-001", {"type": "juminhyo"})],  # the second has two pages
)
def test_documents_are_byte_for_byte_with_reportlabs_strings(
    registry: Registry, monkeypatch: pytest.MonkeyPatch, rid: str, item: dict[str, object]
) -> None:
    monkeypatch.setattr(rl_config, "invariant", 1)
    resident = registry.resident(rid)
    assert resident is not None
    priced = price(registry, rid, item, MONDAY)
    req = build_document_request(registry, resident, priced, 0, "D-2", "K7QX-2M9D", "https://x/v", MONDAY)
    ours = render_document(req)
    monkeypatch.setattr(pdf, "_draw_string", _reportlab_string)
    assert render_document(req).pdf == ours.pdf
    assert rid != "S-001" or ours.page_count == 2
