"""read_bounded and loads_strict at their edges: exactly the bound passes, one byte more does not."""

from __future__ import annotations

import gzip
import io
import zlib
from collections.abc import Callable

import pytest

from relay_client import AnswerLimits, CenterProtocolError
from relay_client.body import loads_strict, read_bounded


def reader(data: bytes, piece: int = 1000) -> Callable[[int], bytes]:
    stream = io.BytesIO(data)
    return lambda n: stream.read(min(n, piece))


def code_of(call: Callable[[], object]) -> str:
    with pytest.raises(CenterProtocolError) as err:
        call()
    return err.value.code


@pytest.mark.parametrize("encoding", ["", "identity", "gzip", "deflate"])
def test_exactly_the_bound_passes_and_one_byte_more_is_refused(encoding: str) -> None:
    def encode(data: bytes) -> bytes:
        if encoding == "gzip":
            return gzip.compress(data, mtime=0)
        return zlib.compress(data) if encoding == "deflate" else data

    body = bytes(range(256)) * 40  # 10240 bytes that do not compress to nothing
    assert read_bounded(reader(encode(body)), limit=len(body), encoding=encoding) == body
    assert code_of(lambda: read_bounded(reader(encode(body)), limit=len(body) - 1, encoding=encoding)) == (
        "answer_too_large"
    )


def test_a_declared_length_past_the_bound_is_refused_before_any_read() -> None:
    reads: list[int] = []

    def read(n: int) -> bytes:
        reads.append(n)
        return b""

    assert code_of(lambda: read_bounded(read, limit=100, declared="101")) == "answer_too_large"
    assert reads == []
    assert read_bounded(reader(b"x" * 10), limit=100, declared="not a number") == b"x" * 10


def test_a_bomb_stops_at_the_first_excess_byte() -> None:
    bomb = gzip.compress(b"\0" * (8 * 1024 * 1024), mtime=0)
    asked: list[int] = []
    limit = 64 * 1024

    def read(n: int) -> bytes:
        asked.append(n)
        return bomb[sum(asked[:-1]) : sum(asked)]

    assert code_of(lambda: read_bounded(read, limit=limit, encoding="gzip")) == "answer_too_large"
    assert len(asked) == 1  # the first chunk (all 8 KiB of the bomb) was enough


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (gzip.compress(b"{}", mtime=0)[:-4], "corrupt_encoding"),  # truncated
        (gzip.compress(b"{}", mtime=0) + b"junk", "corrupt_encoding"),  # data after the stream
        (b"plain text", "corrupt_encoding"),
    ],
)
def test_broken_compressed_streams_are_typed(data: bytes, code: str) -> None:
    assert code_of(lambda: read_bounded(reader(data), limit=1000, encoding="gzip")) == code


def test_between_runs_before_every_read_and_can_stop_the_call() -> None:
    calls: list[str] = []

    class Stop(Exception):
        pass

    def between() -> None:
        calls.append("between")
        if len(calls) == 3:
            raise Stop

    with pytest.raises(Stop):
        read_bounded(reader(b"x" * 5000, piece=1000), limit=10_000, between=between)
    assert calls == ["between"] * 3


def test_the_documents_bound_grows_with_the_copies() -> None:
    limits = AnswerLimits(json_bytes=1000, pdf_bytes=300, envelope_bytes=50)
    assert limits.documents(0) == 1000
    assert limits.documents(2) == 1000 + 2 * (50 + 400)


@pytest.mark.parametrize(
    "text",
    ['{"a": NaN}', "[-Infinity]", '"\\udc00"', '{"\\ud800": 1}', "[[[[1]]]]", "{", b"\xff".decode("latin-1")],
)
def test_strict_json_refusals_are_value_errors(text: str) -> None:
    with pytest.raises(ValueError):
        loads_strict(text.encode("utf-8"), depth=3)


def test_strict_json_takes_what_is_sound() -> None:
    assert loads_strict(b'{"a": [[1, "\\u00e9"]], "b": null}', depth=3) == {"a": [[1, "é"]], "b": None}
