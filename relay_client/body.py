"""Reading one answer's body as a stream against its bound, and decoding it as strict JSON.

Every answer has a bound in bytes (:class:`AnswerLimits`): a declared ``Content-Length`` above it is refused
before a byte of the body is read; the body is read in chunks and refused the moment it passes the bound,
on the wire or after decoding; ``gzip``/``deflate`` are inflated here, never more than the bound plus one
byte at a time (a bomb is refused with its first excess byte, not after it has filled the memory); any other
or stacked content-coding is refused. The JSON then must nest no deeper than ``AnswerLimits.depth``, hold no
lone surrogate (it could not be encoded again, e.g. to check a binding's signature) and no NaN/Infinity.
Every refusal is a :class:`CenterProtocolError` whose code names it.
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from relay_client.errors import CenterProtocolError

KiB, MiB = 1024, 1024 * 1024
CHUNK = 64 * KiB
TOO_LARGE = "answer_too_large"
UNSUPPORTED_ENCODING = "unsupported_encoding"
CORRUPT_ENCODING = "corrupt_encoding"
MALFORMED = "malformed_response"
_SURROGATE = re.compile("[\ud800-\udfff]")
_AUTO_HEADER = 32 + zlib.MAX_WBITS  # inflate a gzip or a zlib stream, whichever header it has


@dataclass(frozen=True)
class AnswerLimits:
    """Bounds on one answer of the center (bytes on the wire, and again after decoding)."""

    json_bytes: int = 1 * MiB  # every answer but the documents (and every error answer)
    pdf_bytes: int = 4 * MiB  # one issued document (a page of the real service is ~100 KB)
    envelope_bytes: int = 16 * KiB  # the JSON around one document: binding, signature, codes
    depth: int = 32  # JSON nesting (the deepest answer, reconcile, nests 5 deep)

    def documents(self, copies: int) -> int:
        """The bound of a documents answer for ``copies`` ordered copies: each an envelope and its PDF in
        base64, plus the JSON allowance (signer certificate, order id)."""
        return self.json_bytes + copies * (self.envelope_bytes + 4 * -(-self.pdf_bytes // 3))


DEFAULT_LIMITS = AnswerLimits()


def too_large(detail: str) -> CenterProtocolError:
    """The error for an answer past its bound."""
    return CenterProtocolError(TOO_LARGE, detail=detail)


def read_bounded(
    read: Callable[[int], bytes],
    *,
    limit: int,
    encoding: str = "",
    declared: str | None = None,
    between: Callable[[], None] = lambda: None,
) -> bytes:
    """Read a body to its end with ``read(n)`` (at most n bytes, b"" at the end), never past ``limit``.

    ``encoding`` is the Content-Encoding, ``declared`` the Content-Length; ``between()`` runs before each
    read (it raises to stop the call: deadline, cancel). Raises CenterProtocolError (``answer_too_large``,
    ``unsupported_encoding``, ``corrupt_encoding``) and whatever ``read`` and ``between`` raise.
    """
    inflater = _inflater(encoding)
    length = _length(declared)
    if length is not None and length > limit:
        raise too_large(f"declared {length} bytes, the bound is {limit}")
    out = bytearray()
    wire = 0
    while True:
        between()
        chunk = read(CHUNK)
        if not chunk:
            break
        wire += len(chunk)
        if wire > limit:
            raise too_large(f"more than {limit} bytes on the wire")
        if inflater is None:
            out += chunk
        else:
            _inflate(inflater, chunk, out, limit)
    if inflater is not None and not inflater.eof:
        raise CenterProtocolError(CORRUPT_ENCODING, detail=f"{encoding} stream truncated")
    return bytes(out)


def _inflater(encoding: str) -> Any:
    coding = encoding.strip().lower()
    if coding in ("", "identity"):
        return None
    if coding in ("gzip", "x-gzip", "deflate"):
        return zlib.decompressobj(_AUTO_HEADER)
    raise CenterProtocolError(UNSUPPORTED_ENCODING, detail=f"Content-Encoding {encoding[:60]!r}")


def _inflate(inflater: Any, chunk: bytes, out: bytearray, limit: int) -> None:
    data = chunk
    while data:
        if inflater.eof:
            raise CenterProtocolError(CORRUPT_ENCODING, detail="data after the end of the compressed stream")
        try:
            # at most one byte past the bound: the first excess byte is enough to refuse the answer
            out += inflater.decompress(data, limit - len(out) + 1)
        except zlib.error as exc:
            raise CenterProtocolError(CORRUPT_ENCODING, detail=f"cannot inflate: {exc}") from exc
        if len(out) > limit:
            raise too_large(f"inflates past the bound of {limit} bytes")
        data = inflater.unconsumed_tail
    if inflater.unused_data:
        raise CenterProtocolError(CORRUPT_ENCODING, detail="data after the end of the compressed stream")


def _length(declared: str | None) -> int | None:
    if declared is None or not declared.strip().isdigit():
        return None  # absent or unreadable: the streaming bound still holds
    return int(declared.strip()[:20])


def loads_strict(content: bytes, *, depth: int) -> Any:
    """Decode JSON that nests at most ``depth`` deep, without NaN/Infinity or lone surrogates.

    Raises ValueError saying what is wrong (not JSON or not UTF-8 included).
    """
    try:
        value = json.loads(content, parse_constant=_refuse_constant)
    except RecursionError as exc:
        raise ValueError(f"JSON nested deeper than {depth}") from exc
    _check_tree(value, depth)
    return value


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _check_tree(value: Any, depth: int) -> None:
    todo: list[tuple[Any, int]] = [(value, 0)]
    while todo:
        node, level = todo.pop()
        if isinstance(node, str):
            _check_text(node)
        elif isinstance(node, dict | list):
            if level >= depth:
                raise ValueError(f"JSON nested deeper than {depth}")
            items = node.items() if isinstance(node, dict) else enumerate(node)
            for key, child in items:
                if isinstance(key, str):
                    _check_text(key)
                todo.append((child, level + 1))


def _check_text(text: str) -> None:
    if _SURROGATE.search(text):
        raise ValueError("JSON string holds a lone surrogate")
