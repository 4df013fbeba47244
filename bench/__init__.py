"""Benchmarks (`make bench` → `python -m bench`).

Each module ``bench/<area>.py`` has ``run() -> list[Row]``; the runner discovers them, runs
them one after the other and prints one table. Add a module to add a benchmark.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

AUTH_PIN = "1234"  # the benchmarks' cards


@dataclass(frozen=True)
class Row:
    """One measured figure."""

    name: str
    value: float | int | str
    unit: str = ""
    note: str = ""

    def formatted_value(self) -> str:
        if isinstance(self.value, float):
            return f"{self.value:.3f}" if abs(self.value) < 100 else f"{self.value:.1f}"
        return str(self.value)


def make_card(directory: Path) -> Path:
    """A demo card image (user-authentication PIN ``AUTH_PIN``) with its own test PKI under ``directory``."""
    from firmware_sim.holder import demo_holder
    from firmware_sim.personalise import personalise_card
    from firmware_sim.pki.hierarchy import TestPki

    path = directory / "card.json"
    personalise_card(path, pki=TestPki.open(directory / "pki"), holder=demo_holder(), auth_pin=AUTH_PIN)
    return path
