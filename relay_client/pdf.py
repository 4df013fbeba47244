"""A tiny PDF reader that counts pages by walking the page tree (no poppler subprocess, no PDF library).

It reads every ``N G obj … endobj`` in file order (streams skipped by their length, object streams
unpacked when FlateDecode or unfiltered), finds the catalog through the trailer (classic or
cross-reference stream), and walks ``/Pages`` → ``/Kids`` counting ``/Page`` leaves. Every ``/Count`` on
the way must equal what its subtree holds; a cycle, a kid that is neither ``/Page`` nor ``/Pages``, or a
missing object is an error. Later definitions of an object number win (incremental updates). Strict:
anything it does not understand raises :class:`PdfError` rather than guessing a count.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass
from typing import Any

_WS = b"\x00\t\n\x0c\r "
_DELIM = b"()<>[]{}/%"
_OBJ = re.compile(rb"(\d+)\s+(\d+)\s+obj\b")
_MAX_DEPTH = 64
_MAX_NESTING = 64  # arrays and dictionaries inside each other (real files nest a handful deep)
_MAX_DIGITS = 20  # an integer token (object numbers, counts, lengths)
_MAX_INFLATE = 64 * 1024 * 1024  # all object streams of one file together


class PdfError(ValueError):
    """The bytes are not a PDF this reader can count pages of (malformed, truncated, unsupported)."""


@dataclass(frozen=True)
class Ref:
    """An indirect reference ``num gen R``."""

    num: int
    gen: int


@dataclass(frozen=True)
class Stream:
    """A stream object: its dictionary and raw (still encoded) bytes."""

    info: dict[str, Any]
    raw: bytes


class Name(str):
    """A PDF name (``/Type``), kept apart from strings."""

    __slots__ = ()


def count_pages(data: bytes) -> int:
    """Number of pages in the PDF ``data``.

    Raises PdfError if the page tree cannot be read or is inconsistent.
    """
    if b"%PDF-" not in data[:1024]:
        raise PdfError("no %PDF- header")
    try:
        return _count(data)
    except RecursionError as exc:  # a backstop: the parser bounds its nesting, the walk its depth
        raise PdfError("nested too deeply") from exc


def _count(data: bytes) -> int:
    objects, trailers = _scan(data)
    root = _find_root(objects, trailers)
    catalog = _resolve(objects, root)
    if not isinstance(catalog, dict):
        raise PdfError("catalog is not a dictionary")
    pages = catalog.get("Pages")
    if pages is None:
        raise PdfError("catalog has no /Pages")
    return _walk(objects, pages, 0, set())


def _walk(objects: dict[int, Any], node_ref: Any, depth: int, seen: set[int]) -> int:
    if depth > _MAX_DEPTH:
        raise PdfError("page tree too deep")
    if isinstance(node_ref, Ref):
        if node_ref.num in seen:
            raise PdfError("cycle in the page tree")
        seen.add(node_ref.num)
    node = _resolve(objects, node_ref)
    if not isinstance(node, dict):
        raise PdfError("page tree node is not a dictionary")
    kind = node.get("Type")
    if kind == "Page":
        return 1
    if kind != "Pages":
        raise PdfError(f"page tree node of type {kind!r}")
    kids = _resolve(objects, node.get("Kids"))
    if not isinstance(kids, list):
        raise PdfError("/Pages without /Kids array")
    total = sum(_walk(objects, kid, depth + 1, seen) for kid in kids)
    count = _resolve(objects, node.get("Count"))
    if count != total:
        raise PdfError(f"/Count {count!r} but the subtree holds {total} pages")
    return total


def _resolve(objects: dict[int, Any], value: Any) -> Any:
    for _ in range(_MAX_DEPTH):
        if not isinstance(value, Ref):
            return value.info if isinstance(value, Stream) else value
        if value.num not in objects:
            raise PdfError(f"missing object {value.num}")
        value = objects[value.num]
    raise PdfError("reference chain too long")


def _find_root(objects: dict[int, Any], trailers: list[dict[str, Any]]) -> Any:
    for trailer in reversed(trailers):
        if "Root" in trailer:
            return trailer["Root"]
    raise PdfError("no trailer with /Root")


def _scan(data: bytes) -> tuple[dict[int, Any], list[dict[str, Any]]]:
    objects: dict[int, Any] = {}
    trailers: list[dict[str, Any]] = []
    streams: list[Stream] = []
    pos = 0
    while (m := _OBJ.search(data, pos)) is not None:
        if m.start() > 0 and data[m.start() - 1] not in _WS + _DELIM:
            pos = m.end()
            continue
        value, end = _Parser(data, m.end()).object_at_end()
        objects[_integer(m.group(1))] = value
        if isinstance(value, Stream):
            streams.append(value)
            if value.info.get("Type") == "XRef":
                trailers.append(value.info)
        pos = end
    budget = [_MAX_INFLATE]
    for stream in streams:
        if stream.info.get("Type") == "ObjStm":
            for num, value in _unpack_object_stream(stream, budget):
                objects.setdefault(num, value)
    for m in re.finditer(rb"trailer\s*<<", data):
        value, _ = _Parser(data, m.end() - 2).value()
        if isinstance(value, dict):
            trailers.append(value)
    if not objects:
        raise PdfError("no objects")
    return objects, trailers


def _decode(stream: Stream, budget: list[int]) -> bytes:
    flt = stream.info.get("Filter")
    if isinstance(flt, list) and len(flt) == 1:
        flt = flt[0]
    if flt is None:
        return stream.raw
    if flt != "FlateDecode" or stream.info.get("DecodeParms") not in (None, {}):
        raise PdfError(f"unsupported object stream filter {flt!r}")
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(stream.raw, budget[0] + 1)
    except zlib.error as exc:
        raise PdfError("corrupt compressed stream") from exc
    budget[0] -= len(out)
    if inflater.unconsumed_tail or budget[0] < 0:
        raise PdfError("compressed streams too large")
    return out


def _unpack_object_stream(stream: Stream, budget: list[int]) -> list[tuple[int, Any]]:
    body = _decode(stream, budget)
    n, first = stream.info.get("N"), stream.info.get("First")
    if not isinstance(n, int) or not isinstance(first, int) or n < 0 or not 0 <= first <= len(body):
        raise PdfError("object stream without valid /N and /First")
    parser = _Parser(body[:first], 0)
    header = [parser.value()[0] for _ in range(2 * n)]
    if not all(isinstance(x, int) and x >= 0 for x in header):
        raise PdfError("bad object stream header")
    return [(header[2 * i], _Parser(body, first + header[2 * i + 1]).value()[0]) for i in range(n)]


def _integer(token: bytes) -> int:
    if len(token.lstrip(b"+-")) > _MAX_DIGITS:
        raise PdfError(f"integer of more than {_MAX_DIGITS} digits")
    return int(token)


class _Parser:
    """Recursive-descent parser for PDF objects starting at ``pos``."""

    def __init__(self, data: bytes, pos: int) -> None:
        self.data = data
        self.pos = pos
        self.nesting = 0

    def _enter(self) -> None:
        self.nesting += 1
        if self.nesting > _MAX_NESTING:
            raise PdfError(f"arrays or dictionaries nested deeper than {_MAX_NESTING}")

    def object_at_end(self) -> tuple[Any, int]:
        """Parse the body of ``N G obj``: a value, an optional stream, up to ``endobj``."""
        value, _ = self.value()
        self._skip_ws()
        if self.data.startswith(b"stream", self.pos) and isinstance(value, dict):
            value = self._stream(value)
            self._skip_ws()
        if self.data.startswith(b"endobj", self.pos):
            self.pos += len(b"endobj")
        return value, self.pos

    def _stream(self, info: dict[str, Any]) -> Stream:
        start = self.pos + len(b"stream")
        if self.data.startswith(b"\r\n", start):
            start += 2
        elif self.data.startswith(b"\n", start):
            start += 1
        length = info.get("Length")
        if isinstance(length, int) and self.data.startswith(b"endstream", self._ws_after(start + length)):
            end = start + length
        else:
            end = self.data.find(b"endstream", start)
            if end < 0:
                raise PdfError("unterminated stream")
        self.pos = self._ws_after(end) + len(b"endstream")
        return Stream(info, self.data[start:end])

    def _ws_after(self, pos: int) -> int:
        while pos < len(self.data) and self.data[pos] in _WS:
            pos += 1
        return pos

    def _skip_ws(self) -> None:
        data = self.data
        while self.pos < len(data):
            if data[self.pos] in _WS:
                self.pos += 1
            elif data[self.pos] == 0x25:  # % comment to end of line
                while self.pos < len(data) and data[self.pos] not in b"\r\n":
                    self.pos += 1
            else:
                return

    def value(self) -> tuple[Any, int]:
        """Parse one value (a reference ``n g R`` included); returns it and the position after it."""
        self._skip_ws()
        if self.pos >= len(self.data):
            raise PdfError("unexpected end of data")
        c = self.data[self.pos : self.pos + 2]
        if c == b"<<":
            return self._dict(), self.pos
        if c[:1] == b"[":
            return self._array(), self.pos
        if c[:1] == b"/":
            return self._name(), self.pos
        if c[:1] == b"(":
            return self._literal(), self.pos
        if c[:1] == b"<":
            return self._hex(), self.pos
        return self._token_value(), self.pos

    def _token_value(self) -> Any:
        token = self._token()
        if re.fullmatch(rb"[+-]?\d+", token):
            save = self.pos
            self._skip_ws()
            m = re.compile(rb"(\d+)\s+R(?![^\x00\t\n\x0c\r ()<>\[\]{}/%])").match(self.data, self.pos)
            if m is not None:
                self.pos = m.end()
                return Ref(_integer(token), _integer(m.group(1)))
            self.pos = save
            return _integer(token)
        if re.fullmatch(rb"[+-]?(\d+\.\d*|\.\d+)", token):
            return float(token)
        keywords: dict[bytes, Any] = {b"true": True, b"false": False, b"null": None}
        if token in keywords:
            return keywords[token]
        raise PdfError(f"unexpected token {token[:20]!r}")

    def _token(self) -> bytes:
        start = self.pos
        while self.pos < len(self.data) and self.data[self.pos] not in _WS + _DELIM:
            self.pos += 1
        if self.pos == start:
            raise PdfError(f"unexpected byte at {start}")
        return self.data[start : self.pos]

    def _dict(self) -> dict[str, Any]:
        self.pos += 2
        self._enter()
        out: dict[str, Any] = {}
        while True:
            self._skip_ws()
            if self.data.startswith(b">>", self.pos):
                self.pos += 2
                self.nesting -= 1
                return out
            key, _ = self.value()
            if not isinstance(key, Name):
                raise PdfError("dictionary key is not a name")
            out[str(key)], _ = self.value()

    def _array(self) -> list[Any]:
        self.pos += 1
        self._enter()
        out: list[Any] = []
        while True:
            self._skip_ws()
            if self.data.startswith(b"]", self.pos):
                self.pos += 1
                self.nesting -= 1
                return out
            out.append(self.value()[0])

    def _name(self) -> Name:
        self.pos += 1
        raw = self._token() if self.pos < len(self.data) and self.data[self.pos] not in _WS + _DELIM else b""
        decoded = re.sub(rb"#([0-9A-Fa-f]{2})", lambda m: bytes([int(m.group(1), 16)]), raw)
        return Name(decoded.decode("latin-1"))

    def _literal(self) -> bytes:
        depth, start = 0, self.pos
        while self.pos < len(self.data):
            c = self.data[self.pos]
            self.pos += 1
            if c == 0x5C:  # backslash escapes the next byte
                self.pos += 1
            elif c == 0x28:
                depth += 1
            elif c == 0x29:
                depth -= 1
                if depth == 0:
                    return self.data[start + 1 : self.pos - 1]
        raise PdfError("unterminated string")

    def _hex(self) -> bytes:
        end = self.data.find(b">", self.pos)
        if end < 0:
            raise PdfError("unterminated hex string")
        raw, self.pos = self.data[self.pos + 1 : end], end + 1
        digits = re.sub(rb"\s", b"", raw).decode("latin-1")
        try:
            return bytes.fromhex(digits + "0" * (len(digits) % 2))
        except ValueError as exc:
            raise PdfError("bad hex string") from exc
