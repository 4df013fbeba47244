"""Benchmarks (`make bench` → `python -m bench`).

Each module ``bench/<area>.py`` has ``run() -> list[Row]``; the runner discovers them, runs
them one after the other and prints one table. Add a module to add a benchmark.
"""

from __future__ import annotations

from dataclasses import dataclass


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
