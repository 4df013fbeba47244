"""PIN counters survive a SIGKILL of the card process; a locked PIN stays locked; bad images are refused."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from firmware_sim.card.image import CardImage, CardImageError
from firmware_sim.card.mynumber import MyNumberCard

# Runs the card in a child process: SELECT JPKI + PIN EF, N wrong VERIFYs, report, then hang.
CHILD = textwrap.dedent(
    """
    import sys, time
    from firmware_sim.card.mynumber import MyNumberCard
    card = MyNumberCard.from_image(sys.argv[1])
    card.power_on()
    answers = [card.process(bytes.fromhex(a)).hex() for a in
               ["00A4040C0AD392F000260100000001", "00A4020C020018"]]
    for _ in range(int(sys.argv[2])):
        answers.append(card.process(bytes.fromhex("002000800439393939")).hex())
    print(" ".join(answers), flush=True)
    time.sleep(60)
    """
)


def _fail_then_kill(image: Path, failures: int) -> list[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(image), str(failures)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().split()
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)
        if proc.stdout:
            proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL
    return line


def _status_query(image: Path) -> str:
    card = MyNumberCard.from_image(image)
    card.power_on()
    card.process(bytes.fromhex("00A4040C0AD392F000260100000001"))
    return card.process(bytes.fromhex("00200098")).hex().upper()


def test_two_failures_survive_sigkill(image_path: Path) -> None:
    assert _fail_then_kill(image_path, 2) == ["9000", "9000", "63c2", "63c1"]
    assert CardImage.load(image_path).tries_left("auth") == 1
    assert _status_query(image_path) == "63C1"


def test_lock_survives_reload(image_path: Path) -> None:
    assert _fail_then_kill(image_path, 3)[-1] == "63c0"
    assert _status_query(image_path) == "63C0"
    card = MyNumberCard.from_image(image_path)
    card.power_on()
    card.process(bytes.fromhex("00A4040C0AD392F000260100000001"))
    assert card.process(bytes.fromhex("002000980431323334")).hex().upper() == "6984"
    assert CardImage.load(image_path).tries_left("auth") == 0


def test_image_never_holds_a_pin_in_clear(image_path: Path) -> None:
    CardImage.load(image_path).verify_pin("auth", b"0000")  # rewrites the file
    text = image_path.read_text(encoding="utf-8")
    document = json.loads(text)
    assert set(document["pins"]["auth"]) == {"salt", "hash", "max", "left"}
    for pin in ("1234", "ABC123", "5678"):
        assert pin not in json.dumps(document["pins"])
    assert oct(image_path.stat().st_mode & 0o777) == "0o600"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\xff\xfe", "not a card image"),
        (b"[]", "not a myna-kiosk card image"),
        (b'{"format": "myna-kiosk-card-image", "version": 99}', "version 99"),
        (b'{"format": "myna-kiosk-card-image", "version": 1}', "corrupt card image"),
    ],
)
def test_bad_images_refused_clearly(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    with pytest.raises(CardImageError, match=message):
        MyNumberCard.from_image(path)


def test_missing_image(tmp_path: Path) -> None:
    with pytest.raises(CardImageError, match="cannot read card image"):
        MyNumberCard.from_image(tmp_path / "nope.json")
