"""What every target shares: the Target record, the registry, and the framing of multi-part inputs."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent
CORPUS = ROOT / "corpus"


@dataclass(frozen=True)
class Target:
    """One fuzz target: ``run(data)`` parses one input; ``typed`` are the errors the parser may raise.

    ``max_len`` bounds the inputs the fuzzer makes (libFuzzer's ``-max_len``); ``seeds`` builds seed
    inputs with the real encoders (``python -m fuzz --seeds`` writes them under ``fuzz/corpus/<name>/``);
    ``setup`` prepares what the target needs once per process, before the first input; ``dictionary`` holds
    tokens of the format for the mutator (libFuzzer's ``-dict``).
    """

    name: str
    run: Callable[[bytes], None]
    typed: tuple[type[BaseException], ...]
    summary: str
    max_len: int = 4096
    seeds: Callable[[], dict[str, bytes]] = field(default=lambda: {})
    setup: Callable[[], object] = field(default=lambda: None)
    dictionary: tuple[str, ...] = ()

    @property
    def corpus(self) -> Path:
        return CORPUS / self.name

    def one(self, data: bytes) -> None:
        """Run one input; the typed errors are an answer, anything else propagates (a finding)."""
        try:
            self.run(data)
        except self.typed:
            return


def chunks(data: bytes) -> Iterator[bytes]:
    """Split ``data`` into parts, each a 2-byte big-endian length and that many bytes (the last part
    takes what is left when it announces more)."""
    pos = 0
    while pos < len(data):
        size = int.from_bytes(data[pos : pos + 2], "big")
        yield data[pos + 2 : pos + 2 + size]
        pos += 2 + size


def join(parts: list[bytes]) -> bytes:
    """The inverse of :func:`chunks` (for seeds). Raises ValueError for a part over 65535 bytes."""
    out = bytearray()
    for part in parts:
        if len(part) > 0xFFFF:
            raise ValueError(f"part of {len(part)} bytes")
        out += len(part).to_bytes(2, "big") + part
    return bytes(out)


def dictionary_text(tokens: tuple[str, ...]) -> str:
    """A libFuzzer dictionary file: one quoted token a line, non-printable bytes as ``\\xNN``."""
    lines = []
    for token in tokens:
        quoted = "".join(
            c if " " <= c <= "~" and c not in '"\\' else "".join(f"\\x{b:02X}" for b in c.encode("utf-8"))
            for c in token
        )
        lines.append(f'"{quoted}"')
    return "\n".join(lines) + "\n"


JSON_TOKENS = (*'{ } [ ] " : , true false null -1 0 1e999 1.5 "" {}'.split(), "\\ud800")
TOML_TOKENS = (*"""[ ] [[ ]] = " ' { } , true false 1 -1 1.5 nan inf [] {} "" \"\"\" # .""".split(), "\n")
TOML_TOKENS += ("1979-05-27T07:32:00Z",)
