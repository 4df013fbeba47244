"""PWG raster (PWG 5102.4) reader for the simulated printer: splits a stream into pages and unpacks them.

The simulated printer "prints" a raster page by writing it out as a PGM file; tests compare those
pixels with poppler's rendering of the original PDF. Only 8-bit, 1-colour pages (sgray_8) are
unpacked; other page types are reported as such.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["PwgError", "PwgPage", "read_pwg_pages"]

SYNC = b"RaS2"
HEADER_SIZE = 1796


class PwgError(Exception):
    """Not a PWG raster stream, or a damaged one."""


@dataclass(frozen=True)
class PwgPage:
    width: int
    height: int
    dpi: int
    bits_per_pixel: int
    color_space: int
    total_pages: int
    pixels: bytes  # width * bytes-per-pixel * height, unpacked

    def pgm(self) -> bytes:
        """The page as a binary PGM image (only for 8-bit gray pages)."""
        if self.bits_per_pixel != 8:
            raise PwgError("only 8-bit gray pages can be written as PGM")
        return f"P5\n{self.width} {self.height}\n255\n".encode() + self.pixels


def read_pwg_pages(data: bytes) -> Iterator[PwgPage]:
    """Yield each page of a PWG raster stream. Raises PwgError for a bad or truncated stream."""
    if not data.startswith(SYNC):
        raise PwgError("no PWG raster sync word (RaS2)")
    pos = len(SYNC)
    while pos < len(data):
        if pos + HEADER_SIZE > len(data):
            raise PwgError("truncated page header")
        header = data[pos : pos + HEADER_SIZE]
        pos += HEADER_SIZE
        dpi = struct.unpack_from(">I", header, 276)[0]
        width, height = struct.unpack_from(">II", header, 372)
        bits_per_pixel, bytes_per_line = struct.unpack_from(">II", header, 388)
        color_space = struct.unpack_from(">I", header, 400)[0]
        total = struct.unpack_from(">I", header, 452)[0]
        if bits_per_pixel % 8 or bytes_per_line != width * bits_per_pixel // 8 or not width or not height:
            raise PwgError(f"unsupported page layout ({bits_per_pixel} bpp, {bytes_per_line} bytes/line)")
        pixels, pos = _unpack(data, pos, bits_per_pixel // 8, bytes_per_line, height)
        yield PwgPage(width, height, dpi, bits_per_pixel, color_space, total, pixels)


def _unpack(data: bytes, pos: int, pixel: int, line_bytes: int, height: int) -> tuple[bytes, int]:
    out = bytearray()
    y = 0
    try:
        while y < height:
            repeat = data[pos] + 1
            pos += 1
            line = bytearray()
            while len(line) < line_bytes:
                control = data[pos]
                pos += 1
                if control == 128:  # rest of the line is blank (white for sgray)
                    line += b"\xff" * (line_bytes - len(line))
                elif control < 128:
                    value = data[pos : pos + pixel]
                    line += value * (control + 1)
                    pos += pixel
                else:
                    count = (257 - control) * pixel
                    line += data[pos : pos + count]
                    pos += count
            if len(line) != line_bytes:
                raise PwgError(f"line {y} overruns its width")
            repeat = min(repeat, height - y)
            out += bytes(line) * repeat
            y += repeat
    except IndexError as exc:
        raise PwgError("truncated page data") from exc
    return bytes(out), pos
