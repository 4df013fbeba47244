"""`make bench` keeps working: the runner finds the card benchmark and its figures are coherent."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
pytestmark = [pytest.mark.pcsc, pytest.mark.interop]


@pytest.fixture(autouse=True)
def bench_importable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(ROOT))  # `make bench` runs `python -m bench` from the root


def test_runner_discovers_and_rejects_unknown(capsys: pytest.CaptureFixture[str]) -> None:
    from bench.__main__ import discover, main

    assert "card" in discover()
    assert main(["no-such-bench"]) == 2
    assert "unknown benchmark" in capsys.readouterr().err


def test_card_bench_figures(pcscd: None, monkeypatch: pytest.MonkeyPatch) -> None:
    from bench import card as bench_card

    monkeypatch.setattr(bench_card, "REPEATS", 20)
    rows = {row.name: row.value for row in bench_card.run()}
    extended, short = rows["auth sequence, extended Le"], rows["auth sequence, 256-byte chunks"]
    assert isinstance(extended, int) and isinstance(short, int)
    assert extended == 11 and short > extended
    assert rows["our auth cert read (extended Le)"] == 3
    opensc = rows["OpenSC auth cert read (OPENSC_DRIVER=jpki)"]
    assert isinstance(opensc, int) and opensc > rows["our auth cert read (256-byte chunks)"]  # type: ignore[operator]
    ratio = rows["per APDU, SELECT EF (7 B → 2 B): ratio ours/bare"]
    assert isinstance(ratio, float) and ratio > 0
