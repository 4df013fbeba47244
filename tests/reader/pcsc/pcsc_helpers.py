"""Helpers for the pcsc tests: the virtual reader, waiting for pcscd (imported by name from tests)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from reader.pcsc import list_readers

ROOT = Path(__file__).resolve().parents[3]
READER = "Virtual PCD 00 00"
PORT = 35963  # the card engineer's tests use 35964 ("Virtual PCD 00 01")
READER_URL = "pcsc://Virtual%20PCD%2000%2000"


def reader_atr() -> bytes | None:
    for info in list_readers():
        if info.name == READER:
            return info.atr
    raise AssertionError(f"pcscd has no reader {READER!r}")


def wait_card(present: bool, timeout: float = 3.0) -> None:
    """Wait until pcscd reports the card in (or out of) READER."""
    deadline = time.monotonic() + timeout
    while (reader_atr() is not None) != present:
        if time.monotonic() > deadline:
            raise AssertionError(f"pcscd did not see the card {'inserted' if present else 'removed'}")
        time.sleep(0.02)


@dataclass
class VirtualReader:
    """A virtual card in READER through vpcd; ``remove()`` / ``insert()`` move it."""

    bridge: object
    card: object
    image: Path

    def remove(self) -> None:
        self.bridge.remove()  # type: ignore[attr-defined]
        wait_card(False)

    def insert(self) -> None:
        assert self.bridge.insert(3.0)  # type: ignore[attr-defined]
        wait_card(True)

    def stop(self) -> None:
        self.bridge.stop()  # type: ignore[attr-defined]
        wait_card(False)


InsertCard = Callable[..., VirtualReader]
