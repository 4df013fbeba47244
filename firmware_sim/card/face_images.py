"""Synthetic card-face images for the 券面事項確認AP (docs/card.md §6.1).

The real card stores the printed name, address, security code and My Number as 1-bit PNGs and the
photograph as greyscale JPEG 2000 (JP2 container). These are clearly synthetic stand-ins in the same
formats: each says ``SYNTHETIC`` and carries no personal data, only a pattern derived from it, so
two holders' images differ without the image being a rendering of anyone's name.
"""

from __future__ import annotations

import hashlib
import io

from PIL import Image, ImageDraw, ImageFont

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
JP2_MAGIC = b"\x00\x00\x00\x0cjP  \r\n\x87\n"
_WHITE, _BLACK = 1, 0
_PHOTO_SIZE = (48, 64)
_LABEL_HEIGHT = 12
_PATTERN_BITS = 64


def _pattern(seed: bytes) -> list[bool]:
    digest = hashlib.sha256(seed).digest()
    return [bool(digest[i // 8] >> (i % 8) & 1) for i in range(_PATTERN_BITS)]


def synthetic_label_png(label: str, seed: bytes, width: int) -> bytes:
    """A 1-bit PNG ``width`` x 12: ``label`` (ASCII) and a bar pattern from SHA-256 of ``seed``.

    Raises ValueError for a non-ASCII label or a width too small for the pattern.
    """
    if not label.isascii():
        raise ValueError("synthetic labels are ASCII")
    if width < _PATTERN_BITS:
        raise ValueError(f"width must be at least {_PATTERN_BITS}")
    image = Image.new("1", (width, _LABEL_HEIGHT), _WHITE)
    draw = ImageDraw.Draw(image)
    for x, bit in enumerate(_pattern(seed)):
        if bit:
            draw.point((width - _PATTERN_BITS + x, _LABEL_HEIGHT - 1), fill=_BLACK)
    draw.text((1, 0), label, fill=_BLACK, font=ImageFont.load_default())
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def synthetic_photo_jp2(seed: bytes) -> bytes:
    """A 48 x 64 greyscale JPEG 2000 (JP2 container) saying ``SYNTH`` over a seed-derived tone."""
    tone = 128 + hashlib.sha256(seed).digest()[0] % 96
    image = Image.new("L", _PHOTO_SIZE, tone)
    ImageDraw.Draw(image).text((2, 26), "SYNTH", fill=0, font=ImageFont.load_default())
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG2000", no_jp2=False, irreversible=True)
    return buffer.getvalue()
