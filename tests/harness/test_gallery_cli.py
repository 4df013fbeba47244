"""The screenshot tool (``scripts/ui-screenshots.py``) refuses what it cannot render before it opens a window:
an unknown language tag (``zh_Hans`` once rendered Japanese under Chinese file names), screen or size."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "ui-screenshots.py"


def run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--out", str(tmp_path / "shots"), *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (("--languages", "ja,zh_Hans"), "unknown language zh_Hans; the languages are ja, en, zh-Hans"),
        (("--languages", ","), "unknown language ','"),
        (("--screens", "pin,payment"), "unknown screen payment; the screens are attract, language"),
        (("--size", "1920x"), "--size '1920x' is not WxH"),
        (("--size", "800x600,10x10"), "--size '10x10' is not WxH with both sides at least 320"),
    ],
)
def test_what_it_cannot_render_is_refused_by_name_and_nothing_is_written(
    tmp_path: Path, args: tuple[str, ...], said: str
) -> None:
    done = run(tmp_path, *args)
    assert done.returncode == 2, done.stderr
    assert said in done.stderr
    assert not (tmp_path / "shots").exists()


def test_each_language_tag_renders_its_own_screen(tmp_path: Path) -> None:
    done = run(tmp_path, "--languages", "ja,zh-Hans", "--screens", "attract")
    assert done.returncode == 0, done.stderr
    shots = tmp_path / "shots"
    assert sorted(p.name for p in shots.iterdir()) == ["attract-ja.png", "attract-zh-Hans.png"]
    assert (shots / "attract-ja.png").read_bytes() != (shots / "attract-zh-Hans.png").read_bytes()
