"""Raster artwork for documents (Pillow): the copy-deterrent ground pattern, seal images and the QR bitmap.

All images are made at render time and cached in memory; nothing is read from or written to disk except the
IPAex font files.
"""

from __future__ import annotations

import functools
import io
import itertools
import math
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont
from reportlab.graphics.barcode import qrencoder
from reportlab.graphics.barcode.qr import QrCodeWidget

# reportlab's encoder rebuilds the Reed-Solomon generator polynomial for every symbol, a fifth of a
# document's rendering time; the polynomial depends only on the number of error-correction codewords
# (callers only read it), so it is made once per number.
qrencoder.QRUtil.getErrorCorrectPolynomial = staticmethod(  # type: ignore[method-assign]
    functools.lru_cache(maxsize=64)(qrencoder.QRUtil.getErrorCorrectPolynomial)
)


def _create_bytes(buffer: qrencoder.QRBitBuffer, rs_blocks: list[qrencoder.QRRSBlock]) -> list[int]:
    """``QRCode.createBytes`` with the Reed-Solomon remainders computed by a table-driven shift register
    held in one integer: the same codewords as reportlab's recursive polynomial division (checked by
    tests), many times faster (that division was a sixth of a document's rendering time)."""
    offset = 0
    dcdata: list[list[int]] = []
    ecdata: list[list[int]] = []
    for block in rs_blocks:
        dc_count = block.dataCount
        ec_count = block.totalCount - dc_count
        data = buffer.buffer[offset : offset + dc_count]
        offset += dc_count
        dcdata.append(data)
        products = _generator_products(ec_count)
        top, full = 8 * (ec_count - 1), (1 << 8 * ec_count) - 1
        remainder = 0  # the ec_count remainder bytes, first byte most significant
        for byte in data:
            remainder = ((remainder << 8) & full) ^ products[byte ^ (remainder >> top)]
        ecdata.append(list(remainder.to_bytes(ec_count, "big")))
    return [
        d
        for dd in itertools.chain(itertools.zip_longest(*dcdata), itertools.zip_longest(*ecdata))
        for d in dd
        if d is not None
    ]


@functools.lru_cache(maxsize=64)
def _generator_products(ec_count: int) -> tuple[int, ...]:
    """For each byte f, f times the generator polynomial's coefficients after its leading 1 (in GF(256)),
    as one integer of ``ec_count`` bytes: what one step of the shift register XORs in."""
    exp, log = qrencoder.EXP_TABLE, qrencoder.LOG_TABLE
    poly = qrencoder.QRUtil.getErrorCorrectPolynomial(ec_count)
    logs = [qrencoder.QRMath.glog(c) for c in poly.num[1:]]
    products = [0]
    for factor in range(1, 256):
        row = bytes(exp[(log[factor] + g) % 255] for g in logs)
        products.append(int.from_bytes(row, "big"))
    return tuple(products)


_reportlab_create_bytes = qrencoder.QRCode.createBytes
qrencoder.QRCode.createBytes = staticmethod(_create_bytes)  # type: ignore[method-assign]

FONT_DIRS = (
    Path("/usr/share/fonts/opentype/ipaexfont-gothic"),
    Path("/usr/share/fonts/opentype/ipaexfont-mincho"),
    Path("/usr/share/fonts/truetype/ipaexfont"),
    Path("/usr/share/fonts/opentype/ipaexfont"),
)
GROUND_DPI = 100
A4_MM = (210.0, 297.0)
LATENT_WORD = "複写"
SEAL_RED = (200, 30, 30)


def font_path(filename: str) -> Path:
    """The installed IPAex font file ``filename`` (ipaexg.ttf / ipaexm.ttf).

    Raises:
        FileNotFoundError: the font is not installed (apt: fonts-ipaexfont-gothic / -mincho).
    """
    for folder in FONT_DIRS:
        candidate = folder / filename
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"Japanese font {filename} not found; install fonts-ipaexfont-gothic/-mincho")


def _dots(size: tuple[int, int], pitch: int, dot: int, shade: int) -> Image.Image:
    """A page-sized field of square dots, ``dot`` px wide every ``pitch`` px."""
    tile = Image.new("L", (pitch, pitch), 255)
    ImageDraw.Draw(tile).rectangle((0, 0, dot - 1, dot - 1), fill=shade)
    strip = Image.new("L", (size[0], pitch), 255)
    for x in range(0, size[0], pitch):
        strip.paste(tile, (x, 0))
    field = Image.new("L", size, 255)
    for y in range(0, size[1], pitch):
        field.paste(strip, (0, y))
    return field


@functools.lru_cache(maxsize=1)
def ground_pattern_png() -> bytes:
    """Full-page けん制 ground pattern (grey PNG): fine dots, with 「複写」 in coarser dots (latent image).

    On a good copy both dot sizes print; a photocopier loses the fine dots and the coarse ones stand out
    as 「複写」. Rendered here slightly darker so the latent word is visible on screen too.
    """
    size = (round(A4_MM[0] / 25.4 * GROUND_DPI), round(A4_MM[1] / 25.4 * GROUND_DPI))
    fine = _dots(size, 3, 1, 170)
    coarse = _dots(size, 5, 3, 185)
    mask = Image.new("L", size, 0)
    draw = ImageDraw.Draw(mask)
    font = ImageFont.truetype(str(font_path("ipaexg.ttf")), 120)
    step_x, step_y = 360, 260
    for row, y in enumerate(range(-40, size[1], step_y)):
        for x in range(-200 + (row % 2) * step_x // 2, size[0], step_x):
            draw.text((x, y), LATENT_WORD, font=font, fill=255)
    pattern = Image.composite(coarse, fine, mask)
    out = io.BytesIO()
    pattern.save(out, format="PNG", optimize=False)
    return out.getvalue()


def _seal_font(px: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(font_path("ipaexm.ttf")), px)


@functools.lru_cache(maxsize=64)
def official_seal_png(text: str) -> bytes:
    """A red square 公印 (角印) reading ``text`` in vertical columns, right to left, on transparency."""
    size = 360
    img = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(img)
    draw.rectangle((8, 8, size - 9, size - 9), outline=SEAL_RED, width=16)
    draw.rectangle((34, 34, size - 35, size - 35), outline=SEAL_RED, width=4)
    cols = max(1, math.ceil(math.sqrt(len(text))))
    rows = math.ceil(len(text) / cols)
    inner = size - 90
    cell = inner // max(cols, rows)
    font = _seal_font(int(cell * 0.92))
    for i, ch in enumerate(text):
        col, row = divmod(i, rows)
        x = size - 45 - (col + 1) * (inner // cols) + (inner // cols - cell) // 2
        y = 45 + row * (inner // rows) + (inner // rows - cell) // 2
        draw.text((x, y), ch, font=font, fill=SEAL_RED)
    return _png(img)


@functools.lru_cache(maxsize=256)
def personal_seal_png(text: str) -> bytes:
    """A red round personal seal (印影) with ``text`` written vertically, on transparency."""
    size = 240
    img = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(img)
    draw.ellipse((6, 6, size - 7, size - 7), outline=SEAL_RED, width=12)
    chars = text[:4] or "印"
    cell = min(150 // len(chars), 120)
    font = _seal_font(cell)
    top = (size - cell * len(chars)) // 2
    for i, ch in enumerate(chars):
        draw.text(((size - cell) // 2, top + i * cell - cell // 10), ch, font=font, fill=SEAL_RED)
    return _png(img)


QR_MASK = 2  # ISO/IEC 18004 lets the encoder pick any of the 8 masks; readers take it from the format bits


def _put_bits(self: qrencoder.QRBitBuffer, num: int, length: int) -> None:
    """``QRBitBuffer.put``: the ``length`` low bits of ``num``, most significant first, appended a byte at a
    time (reportlab's puts them one by one through ``putBit``)."""
    num &= (1 << length) - 1
    used = self.length % 8
    if used:
        take = min(8 - used, length)
        length -= take
        self.buffer[-1] |= (num >> length) << (8 - used - take)
        num &= (1 << length) - 1
        self.length += take
    while length >= 8:
        length -= 8
        self.buffer.append(num >> length)
        num &= (1 << length) - 1
        self.length += 8
    if length:
        self.buffer.append(num << (8 - length))
        self.length += length


_reportlab_put = qrencoder.QRBitBuffer.put
qrencoder.QRBitBuffer.put = _put_bits  # type: ignore[method-assign]


@dataclass(frozen=True)
class _Layout:
    """What every symbol of one version and error-correction level has in common (with mask QR_MASK): the
    function patterns and format information (row-major, one byte per module, 1 = dark), where the data
    bits go (flat indices, in placement order) and the mask's bit at each of those places."""

    side: int
    template: bytes
    places: tuple[int, ...]
    mask: int  # the mask bits of ``places`` as one integer, one byte (0/1) per place, first place first


@functools.lru_cache(maxsize=64)
def _layout(version: int, level: int) -> _Layout:
    qr = qrencoder.QRCode(version, level)
    n = qr.moduleCount = version * 4 + 17
    qr.modules = [[False] * n for _ in range(n)]
    qr.setupPositionProbePattern(0, 0)  # reportlab's makeImpl, all but the data
    qr.setupPositionProbePattern(n - 7, 0)
    qr.setupPositionProbePattern(0, n - 7)
    qr.setupPositionAdjustPattern()
    qr.setupTimingPattern()
    qr.setupTypeInfo(False, QR_MASK)
    if version >= 7:
        qr.setupTypeNumber(False)
    mask = qrencoder.QRUtil.getMask(QR_MASK)
    places = tuple(row * n + col for col, row in qr.dataPosIterator())
    mask_bits = bytes(1 if mask(i // n, i % n) else 0 for i in places)
    template = bytes(1 if dark else 0 for row in qr.modules for dark in row)
    return _Layout(n, template, places, int.from_bytes(mask_bits, "big"))


_BYTE_BITS = tuple(bytes((b >> (7 - i)) & 1 for i in range(8)) for b in range(256))


def _qr_modules(text: str) -> tuple[int, bytes]:
    """The side and the modules (row-major, one byte per module, 1 = dark) of the QR symbol of ``text``
    (error correction M, mask QR_MASK): reportlab's segments and codewords, placed over the version's
    cached function patterns (``makeImpl`` rebuilt those and placed the data bit by bit in Python)."""
    qr = QrCodeWidget(text, barLevel="M").qr
    version = qr.version if qr.version is not None else qr.calculate_version()
    layout = _layout(version, qr.errorCorrectLevel)
    codewords = qrencoder.QRCode.createData(version, qr.errorCorrectLevel, qr.dataList)
    count = len(layout.places)
    bits = b"".join(_BYTE_BITS[c] for c in codewords)[:count].ljust(count, b"\0")  # remainder bits: light
    values = (int.from_bytes(bits, "big") ^ layout.mask).to_bytes(count, "big")
    modules = bytearray(layout.template)
    for place, value in zip(layout.places, values, strict=True):
        modules[place] = value
    return layout.side, bytes(modules)


def qr_matrix(text: str) -> tuple[tuple[bool, ...], ...]:
    """The QR module matrix (error correction M) of ``text``: reportlab's symbol; True = dark.

    One fixed mask (``QR_MASK``) instead of scoring all eight: the scoring was a third of a document's
    rendering time in pure Python, and every reader decodes any mask."""
    n, modules = _qr_modules(text)
    return tuple(tuple(m == 1 for m in modules[r * n : (r + 1) * n]) for r in range(n))


QR_QUIET = 4
QR_MODULE_PX = 4
_TO_GREY = bytes([255, 0]) + bytes(254)  # module byte 1 (dark) → black 0, 0 (light) → white 255


def qr_bitmap(text: str) -> tuple[int, bytes]:
    """The QR image of ``text`` (4 px per module, 4-module quiet zone), as the side in pixels and the rows
    packed 1 bit per pixel (1 = white, each row padded to a byte): what a PDF image with
    ``/BitsPerComponent 1 /ColorSpace /DeviceGray`` holds, made without a PNG."""
    count, modules = _qr_modules(text)
    n = count + 2 * QR_QUIET
    quiet = bytes([255]) * QR_QUIET
    grey = modules.translate(_TO_GREY)
    rows = [bytes([255]) * n] * QR_QUIET
    rows += [quiet + grey[r * count : (r + 1) * count] + quiet for r in range(count)]
    rows += [bytes([255]) * n] * QR_QUIET
    side = n * QR_MODULE_PX
    img = Image.frombytes("L", (n, n), b"".join(rows))
    img = img.resize((side, side), Image.Resampling.NEAREST).convert("1", dither=Image.Dither.NONE)
    return side, img.tobytes()


def _png(img: Image.Image) -> bytes:
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()
