"""`myna-reader info` and `basic-info` name the card generation where the card lets them tell."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from firmware_sim.holder import demo_holder
from firmware_sim.personalise import personalise_card
from firmware_sim.pki.hierarchy import TestPki
from reader import cli
from reader.constants import CardGeneration


def _run(argv: list[str], monkeypatch: pytest.MonkeyPatch, stdin: str = "") -> tuple[int, str]:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    lines: list[str] = []
    status = cli.main(argv, out=lines.append)
    return status, "\n".join(lines)


@pytest.mark.parametrize(
    ("generation", "atr"),
    [
        (CardGeneration.FIRST, "3BE000FF8131FE4514"),
        (CardGeneration.FROM_2023, "3BDA13FF8131FB468012392F31C173C601C03B"),
    ],
)
def test_info_json_names_generation_and_token(
    generation: CardGeneration, atr: str, pki_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "card.json"
    personalise_card(path, pki=TestPki.open(pki_dir), holder=demo_holder(), generation=generation)
    status, out = _run(["info", "--json", "--reader", f"sim://{path}"], monkeypatch)
    info = json.loads(out)
    assert status == 0
    assert (info["token"], info["atr"]) == ("JPKIAPICCTOKEN2", atr)
    assert (info["generation"], info["generation_evidence"]) == (generation.value, "atr")
    status, out = _run(["basic-info", "--reader", f"sim://{path}"], monkeypatch, "1234\n")
    assert status == 0
    assert f"Generation: {generation.value} (from the basic-info header form)" in out


def test_info_says_when_it_cannot_tell(
    pki_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "card.json"
    atr = bytes.fromhex("3B C5 FF 81 31 FB 45 80 73 C6 01 00 00")
    personalise_card(path, pki=TestPki.open(pki_dir), holder=demo_holder(), atr=atr)
    status, out = _run(["info", "--json", "--reader", f"sim://{path}"], monkeypatch)
    assert status == 0
    assert json.loads(out)["generation"] is None
    status, out = _run(["info", "--reader", f"sim://{path}"], monkeypatch)
    assert "Generation:        cannot tell without a PIN (from none)" in out
