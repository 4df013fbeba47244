"""Lays out a ``Content`` on A4 pages with reportlab: ground pattern, running header, blocks, 認証文 with the
公印, and on every page the document ID, page i / n, the verification code and a QR code."""

from __future__ import annotations

import functools
import hashlib
import io
import re
import secrets
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

from reportlab import rl_config
from reportlab.lib.pagesizes import A4
from reportlab.lib.rl_accel import escapePDF, fp_str
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfdoc, pdfmetrics
from reportlab.pdfbase.pdfdoc import PDFImageXObject, PDFObjectReference
from reportlab.pdfbase.ttfonts import FF_NONSYMBOLIC, FF_SYMBOLIC, SUBSETN, TTFont, makeToUnicodeCMap
from reportlab.pdfgen.canvas import Canvas

from mock_relay.documents import art
from mock_relay.documents.layout import Block, Content, Row, wareki
from mock_relay.documents.request import DocumentRequest
from mock_relay.model import JST

GOTHIC, MINCHO = "IPAexGothic", "IPAexMincho"
W, H = A4
LEFT, RIGHT = 18 * mm, W - 18 * mm
BODY_TOP, BODY_BOTTOM = H - 40 * mm, 44 * mm
LABEL_W = 46 * mm
LINE = 14.0
VALUE_SIZE, LABEL_SIZE = 10.5, 8.5
CERT_HEIGHT = 62 * mm
SEAL_BLOCK = 36 * mm


@functools.lru_cache(maxsize=1)
def register_fonts() -> None:
    """Register the IPAex TrueType fonts with reportlab (embedded as subsets).

    Raises:
        FileNotFoundError: the fonts are not installed.
    """
    # Binary (Flate only) image streams: reportlab's ASCII85 step is pure Python and dominated render time.
    rl_config.useA85 = 0
    for name, file in ((GOTHIC, "ipaexg.ttf"), (MINCHO, "ipaexm.ttf")):
        pdfmetrics.registerFont(_SubsetFont(name, str(art.font_path(file))))


@dataclass(frozen=True)
class _SubsetParts:
    """The PDF objects of one glyph subset of a font, made and formatted once (:func:`_freeze`): the
    TrueType font dictionary (glyph widths, ToUnicode: text stays extractable), its FontDescriptor, the
    deflated FontFile2 program and the deflated ToUnicode CMap, with the names they are registered under
    (each names the subset, so one document's objects never collide)."""

    font: _Frozen
    descriptor: tuple[str, _Frozen]
    font_file: tuple[str, _Frozen]
    to_unicode: tuple[str, _Frozen]


class _Frozen(pdfdoc.PDFObject):  # type: ignore[misc]  # reportlab has no type information
    """A PDF object formatted once for every document that holds it: its bytes as reportlab writes them,
    with the references it makes (by object name) numbered for the document at hand. reportlab marks an
    object registered in a document, so each document gets its own :meth:`copy`."""

    __RefOnly__ = 1  # written as an indirect object, named by reference wherever it is used

    def __init__(self, parts: tuple[bytes, ...], refs: tuple[str, ...]) -> None:
        self.parts, self.refs = parts, refs

    def copy(self) -> _Frozen:
        """A fresh instance of the same object, to register in one document."""
        return _Frozen(self.parts, self.refs)

    def format(self, document: pdfdoc.PDFDocument) -> bytes:
        """The object's bytes, its references resolved in ``document``."""
        if not self.refs:
            return self.parts[0]
        numbers = document.idToObjectNumberAndVersion
        out = [self.parts[0]]
        for name, part in zip(self.refs, self.parts[1:], strict=True):
            number, version = numbers[name]
            out += (f"{number} {version} R".encode("ascii"), part)
        return b"".join(out)


class _Marking:
    """Stands in for the document while an object is formatted once (:func:`_freeze`): each reference is
    written as a marker naming it, which no content can hold by chance (a random token)."""

    def __init__(self) -> None:
        self.token = secrets.token_hex(16)
        self.names: list[str] = []
        self.encrypt = pdfdoc.NoEncryption()
        self.defaultStreamFilters = None
        self.idToObjectNumberAndVersion = self

    def __getitem__(self, name: str) -> tuple[str, int]:
        self.names.append(name)
        return f"@{self.token}:{len(self.names) - 1}@", 0


def _freeze(obj: pdfdoc.PDFObject) -> _Frozen:
    """``obj`` formatted once, as :class:`_Frozen` (its references left to each document). Raises
    ValueError if it holds a reference only some document could format (an unnamed object)."""
    marking = _Marking()
    data = pdfdoc.format(obj, marking, toplevel=1)
    pieces = re.split(rb"@" + marking.token.encode() + rb":(\d+)@ 0 R", data)
    refs = tuple(marking.names[int(i)] for i in pieces[1::2])
    if len(refs) != len(marking.names):
        raise ValueError("a reference was not written where expected")
    return _Frozen(tuple(pieces[0::2]), refs)


class _SubsetFont(TTFont):  # type: ignore[misc]  # reportlab has no type information
    """reportlab's embedded TrueType font, with each glyph subset's PDF objects made once per glyph set
    rather than once per document.

    reportlab gives every document its own subsets of at most 256 glyphs, numbered in the order the
    characters are first drawn (ASCII keeps its own codes). Documents of one resident and type draw the
    same characters in the same order, so their subsets repeat; cutting the glyphs out of the 6 MB font,
    deflating them and writing the widths and the ToUnicode map had been half a document's rendering
    time. The objects are those reportlab writes (``TTFont.addObjects``): per subset a TrueType font
    dictionary with Widths and ToUnicode, a FontDescriptor and its FontFile2 stream.
    """

    def __init__(self, name: str, filename: str) -> None:
        super().__init__(name, filename)
        self._parts = functools.lru_cache(maxsize=512)(self._make_parts)

    def forget_subsets(self) -> None:
        """Drop the cached subsets."""
        self._parts.cache_clear()

    def _make_parts(self, base_font_name: str, subset: tuple[int, ...], internal_name: str) -> _SubsetParts:
        """The objects reportlab writes for a subset (``TTFont.addObjects``), formatted once."""
        face = self.face
        program = face.makeSubset(list(subset))
        font_file = pdfdoc.PDFStream(content=zlib.compress(program))
        font_file.dictionary["Length1"] = len(program)
        font_file.dictionary["Filter"] = pdfdoc.PDFArray([pdfdoc.PDFName("FlateDecode")])
        cmap = makeToUnicodeCMap(base_font_name, list(subset)).encode("ascii")
        to_unicode = pdfdoc.PDFStream(content=zlib.compress(cmap))
        to_unicode.dictionary["Filter"] = pdfdoc.PDFArray([pdfdoc.PDFName("FlateDecode")])
        font_file_name = f"fontFile:{face.filename}({base_font_name})"
        descriptor = pdfdoc.PDFDictionary(
            {
                "Type": "/FontDescriptor",
                "Ascent": face.ascent,
                "CapHeight": face.capHeight,
                "Descent": face.descent,
                "Flags": (face.flags & ~FF_NONSYMBOLIC) | FF_SYMBOLIC,
                "FontBBox": pdfdoc.PDFArray(face.bbox),
                "FontName": pdfdoc.PDFName(base_font_name),
                "ItalicAngle": face.italicAngle,
                "StemV": face.stemV,
                "FontFile2": PDFObjectReference(font_file_name),
                "MissingWidth": face.defaultWidth,
            }
        )
        to_unicode_name = "toUnicodeCMap:" + base_font_name
        descriptor_name = "fontDescriptor:" + base_font_name
        font = pdfdoc.PDFTrueTypeFont()
        font.Name = internal_name
        font.BaseFont = base_font_name
        font.FirstChar = 0
        font.LastChar = len(subset) - 1
        widths = " ".join(fp_str(face.getCharWidth(code)) for code in subset)
        font.Widths = f"[ {widths} ]".encode()
        font.ToUnicode = PDFObjectReference(to_unicode_name)
        font.FontDescriptor = PDFObjectReference(descriptor_name)
        return _SubsetParts(
            _freeze(font),
            (descriptor_name, _freeze(descriptor)),
            (font_file_name, _freeze(font_file)),
            (to_unicode_name, _freeze(to_unicode)),
        )

    def addObjects(self, doc: pdfdoc.PDFDocument) -> None:
        """The font's objects for every subset ``doc`` used (reportlab calls this at save)."""
        state = self._assignState(doc)
        state.frozen = 1
        face = self.face
        for n, subset in enumerate(state.subsets):
            internal_name = self.getSubsetInternalName(n, doc)[1:]
            base_font_name = (SUBSETN(n) + b"+" + face.name + face.subfontNameX).decode("pdfdoc")
            parts = self._parts(base_font_name, tuple(subset), internal_name)
            for name, obj in (parts.font_file, parts.to_unicode, parts.descriptor):
                doc.Reference(obj.copy(), name)
            font = parts.font.copy()
            doc.Reference(font, internal_name)
            doc.idToObject["BasicFonts"].dict[internal_name] = font
        del self.state[doc]


def forget_cached_objects() -> None:
    """Drop every cached image XObject and font subset, so that the next document is made from scratch
    (what a benchmark measures as a cold document)."""
    _image_objects.cache_clear()
    for name in (GOTHIC, MINCHO):
        font = pdfmetrics.getFont(name)
        if isinstance(font, _SubsetFont):
            font.forget_subsets()


@dataclass(frozen=True)
class _Image:
    """An image XObject to draw: its name, and the PDF objects it puts in a document, in the order they
    are registered (the image, then its soft mask if any), each under its registered name."""

    name: str
    objects: tuple[tuple[str, _Frozen | PDFImageXObject], ...]


@functools.lru_cache(maxsize=256)
def _image_objects(png: bytes, mask: str | None) -> _Image:
    """The PDF image XObject of ``png`` (and of its alpha soft mask), decoded, deflated (at zlib's level 9:
    the ground pattern and the seals 3.5 kB smaller than reportlab's default) and formatted once for every
    document that shows it: the ground pattern alone took a fifth of a document's time to re-deflate, and
    formatting the images' dictionaries again a tenth of what was left."""
    name = "ImgC" + hashlib.sha256(png + str(mask).encode()).hexdigest()[:24]
    image = PDFImageXObject(name, ImageReader(io.BytesIO(png)), mask=mask)
    image.name = name
    smask = getattr(image, "_smask", None)
    for obj in (image, smask):  # deflated hardest, once: the same pixels in 3.5 kB less of every document
        if obj is not None:
            obj.streamContent = zlib.compress(zlib.decompress(obj.streamContent), 9)
    if smask is None:
        return _Image(name, ((pdfdoc.xObjectName(name), _freeze(image)),))
    del image._smask
    mask_name = pdfdoc.xObjectName(smask.name)
    image.smask = PDFObjectReference(mask_name)
    return _Image(name, ((pdfdoc.xObjectName(name), _freeze(image)), (mask_name, _freeze(smask))))


def _qr_object(text: str) -> _Image:
    """The QR image of ``text`` as a PDF image XObject: 1 bit per pixel, deflated, straight from the module
    matrix (reportlab's drawImage of a PNG decoded it and wrote it as 8-bit RGB, three times the work)."""
    side, bits = art.qr_bitmap(text)
    name = "ImgQ" + hashlib.sha256(bits).hexdigest()[:24]
    image = PDFImageXObject(name)
    image.name = name
    image.width = image.height = side
    image.bitsPerComponent = 1
    image.colorSpace = "DeviceGray"
    image.streamContent = zlib.compress(bits)
    image._filters = ("FlateDecode",)
    image.mask = None
    return _Image(name, ((pdfdoc.xObjectName(name), image),))


def _draw_png(
    canvas: Canvas, png: bytes, x: float, y: float, w: float, h: float, mask: str | None = None
) -> None:
    """``canvas.drawImage`` of ``png``, from the cached XObject: the same PDF objects, operators and page
    resources as reportlab's own path (an image XObject, its SMask, ``q w 0 0 h x y cm /Name Do Q``)."""
    _draw_xobject(canvas, _image_objects(png, mask), x, y, w, h)


def _draw_xobject(canvas: Canvas, image: _Image, x: float, y: float, w: float, h: float) -> None:
    """Draw ``image`` (with its soft mask) at (x, y) scaled to w x h, registering its objects in this
    document the first time it is drawn in it (a frozen object as a copy of its own)."""
    doc = canvas._doc
    reg_name = doc.getXObjectName(image.name)
    if reg_name not in doc.idToObject:
        for name, obj in image.objects:
            if name not in doc.idToObject:
                doc.Reference(obj.copy() if isinstance(obj, _Frozen) else obj, name)
    canvas._currentPageHasImages = 1
    canvas.saveState()
    canvas.translate(x, y)
    canvas.scale(w, h)
    canvas._code.append(f"/{reg_name} Do")
    canvas.restoreState()
    canvas._formsinuse.append(image.name)  # the page's resources name what it draws


def _draw_string(canvas: Canvas, x: float, y: float, text: str, align: float = 0.0) -> None:
    """``canvas.drawString`` (``align`` 0), ``drawCentredString`` (0.5) or ``drawRightString`` (1) of
    ``text`` in the canvas's TrueType font: the same operators, written straight from the font's subset
    runs (reportlab builds a text object, shapes and measures on the way: a third of a document's
    rendering time went into its 40-odd strings)."""
    font = pdfmetrics.getFont(canvas._fontname)
    doc = canvas._doc
    if align:
        x = x - align * pdfmetrics.stringWidth(text, canvas._fontname, canvas._fontsize)
    size = f"{fp_str(canvas._fontsize)} Tf {fp_str(canvas._leading)} TL"
    runs = []
    current = -1
    for subset, run in font.splitString(text, doc):
        if subset != current:
            runs.append(f"{font.getSubsetInternalName(subset, doc)} {size}")
            current = subset
        runs.append(f"({escapePDF(run)}) Tj")
    canvas._code.append(f"BT 1 0 0 1 {fp_str(x, y)} Tm {' '.join(runs)} T* ET")


@functools.lru_cache(maxsize=8192)
def _char_width(ch: str, font: str, size: float) -> float:
    return float(pdfmetrics.stringWidth(ch, font, size))


def _wrap(text: str, font: str, size: float, width: float) -> list[str]:
    """Lines of ``text`` no wider than ``width``; a TrueType string's width is the sum of its glyphs'
    (reportlab applies no kerning), so the widths add up as the line grows."""
    lines, current, used = [], "", 0.0
    for ch in text:
        w = _char_width(ch, font, size)
        if used + w > width and current:
            lines.append(current)
            current, used = "", 0.0
        current += ch
        used += w
    return [*lines, current]


def _row_lines(row: Row) -> list[str]:
    return _wrap(row.value, MINCHO, VALUE_SIZE, RIGHT - LEFT - LABEL_W - 8)


def block_height(block: Block) -> float:
    """Height of ``block`` on the page, in points."""
    rows = sum(len(_row_lines(r)) for r in block.rows) * LINE
    body = max(rows, SEAL_BLOCK) if block.seal_text else rows
    return (LINE + 4 if block.heading else 0) + body + 10


def _split(block: Block, limit: float) -> list[Block]:
    """Blocks taller than a page are cut by rows (the heading repeats with （続き）)."""
    if block_height(block) <= limit:
        return [block]
    parts: list[Block] = []
    rows = list(block.rows)
    while rows:
        take = 1
        while take < len(rows) and block_height(Block(block.heading, tuple(rows[: take + 1]))) <= limit:
            take += 1
        heading = block.heading if not parts else f"{block.heading or ''}（続き）"
        parts.append(Block(heading, tuple(rows[:take])))
        rows = rows[take:]
    return parts


@dataclass(frozen=True)
class _Page:
    blocks: tuple[Block, ...]
    with_header: bool


def paginate(content: Content) -> list[_Page]:
    """Split the blocks over pages; the first page also carries the header rows, the last the 認証文."""
    header_h = len(content.header) * LINE + (8 if content.header else 0)
    full = BODY_TOP - BODY_BOTTOM
    pieces = [p for b in content.blocks for p in _split(b, full - header_h - LINE)]
    pages: list[list[Block]] = [[]]
    room = full - header_h
    for piece in pieces:
        h = block_height(piece)
        if h > room and pages[-1]:
            pages.append([])
            room = full
        pages[-1].append(piece)
        room -= h
    if room < CERT_HEIGHT + LINE:
        pages.append([])
    return [_Page(tuple(blocks), i == 0) for i, blocks in enumerate(pages)]


def render_pdf(req: DocumentRequest, content: Content) -> tuple[bytes, int]:
    """The PDF bytes and page count of ``content`` for ``req``.

    Raises:
        FileNotFoundError: the Japanese fonts are not installed.
    """
    register_fonts()
    pages = paginate(content)
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=A4, pageCompression=1, initialFontName=GOTHIC, initialFontSize=9)
    canvas.setTitle(f"{content.title} {req.document_id}")
    canvas.setAuthor(req.municipality.full_name)
    canvas.setCreator("myna-kiosk mock issuance center")
    ground = art.ground_pattern_png()
    qr = _qr_object(req.verify_url)
    for index, page in enumerate(pages):
        _draw_png(canvas, ground, 0, 0, W, H)
        _frame(canvas, req, content, index, len(pages), qr)
        y = BODY_TOP
        if page.with_header:
            y = _rows(canvas, content.header, y, bold=True) - 8
        y = _blocks(canvas, page.blocks, y)
        if index == len(pages) - 1:
            _certification(canvas, req, content, y)
        canvas.showPage()
    canvas.save()
    return out.getvalue(), len(pages)


def _frame(
    canvas: Canvas, req: DocumentRequest, content: Content, index: int, count: int, qr: _Image
) -> None:
    canvas.setFillColorRGB(0, 0, 0)
    canvas.setFont(GOTHIC, 8)
    _draw_string(canvas, LEFT, H - 12 * mm, f"文書番号 {req.document_id}")
    copy = f"{req.copy_index + 1}通目／{req.copy_count}通　" if req.copy_count > 1 else ""
    _draw_string(canvas, RIGHT, H - 12 * mm, f"{copy}{index + 1} / {count} 頁", 1)
    canvas.setFont(MINCHO, 20)
    _draw_string(canvas, W / 2, H - 24 * mm, content.title, 0.5)
    subjects = req.subjects
    more = f" ほか{len(subjects) - 1}名" if len(subjects) > 1 else ""
    canvas.setFont(GOTHIC, 9)
    running = f"{req.municipality.full_name}　記載対象：{subjects[0].full_name}{more}"
    _draw_string(canvas, W / 2, H - 31 * mm, running, 0.5)
    canvas.setLineWidth(0.6)
    canvas.line(LEFT, H - 34 * mm, RIGHT, H - 34 * mm)
    size = 26 * mm
    _draw_xobject(canvas, qr, RIGHT - size, 10 * mm, size, size)
    canvas.setFont(GOTHIC, 8)
    lines = (
        f"検証コード：{req.verification_code}",
        "この証明書はコンビニ交付（キオスク端末）により交付されたものです。",
        "この写しの真正性は、右の二次元コードまたは下記のアドレスで検証コードにより確認できます。",
        req.verify_url,
        f"文書番号 {req.document_id}　　{index + 1} / {count} 頁",
    )
    for i, text in enumerate(lines):
        _draw_string(canvas, LEFT, 33 * mm - i * 11, text)
    canvas.line(LEFT, 38 * mm, RIGHT, 38 * mm)


def _rows(canvas: Canvas, rows: Sequence[Row], y: float, *, bold: bool = False) -> float:
    for row in rows:
        canvas.setFont(GOTHIC, LABEL_SIZE if not bold else 9.5)
        _draw_string(canvas, LEFT + 4, y - LINE + 3, row.label)
        canvas.setFont(MINCHO, VALUE_SIZE)
        for line in _row_lines(row):
            _draw_string(canvas, LEFT + LABEL_W, y - LINE + 3, line)
            y -= LINE
    return y


def _blocks(canvas: Canvas, blocks: Sequence[Block], y: float) -> float:
    for block in blocks:
        top = y
        if block.heading:
            canvas.setFont(GOTHIC, 10)
            _draw_string(canvas, LEFT + 2, y - LINE + 2, block.heading)
            y -= LINE + 4
        after = _rows(canvas, block.rows, y)
        if block.seal_text:
            seal = art.personal_seal_png(block.seal_text)
            _draw_png(canvas, seal, RIGHT - SEAL_BLOCK, y - SEAL_BLOCK + 4, 30 * mm, 30 * mm, mask="auto")
            after = min(after, y - SEAL_BLOCK)
        y = after - 10
        canvas.setLineWidth(0.4)
        canvas.rect(LEFT, y + 4, RIGHT - LEFT, top - y - 4)
    return y


def _certification(canvas: Canvas, req: DocumentRequest, content: Content, y: float) -> None:
    canvas.setFont(MINCHO, 9)
    _draw_string(canvas, RIGHT, y - 2, "（以下余白）", 1)
    top = min(y - LINE - 6, BODY_BOTTOM + CERT_HEIGHT)
    canvas.setFont(MINCHO, 11)
    _draw_string(canvas, LEFT + 8, top - 14, content.certification)
    _draw_string(canvas, LEFT + 8, top - 40, wareki(req.issued_at.astimezone(JST).date()))
    m = req.municipality
    canvas.setFont(MINCHO, 14)
    name = f"{m.mayor_title}　{m.mayor_name}"
    _draw_string(canvas, RIGHT - 34 * mm, top - 70, name, 1)
    seal = art.official_seal_png(f"{m.mayor_title}之印")
    _draw_png(canvas, seal, RIGHT - 36 * mm, top - 70 - 11 * mm, 26 * mm, 26 * mm, mask="auto")
