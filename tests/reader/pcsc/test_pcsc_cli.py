"""`myna-reader` as a subprocess against `firmware-sim vpcd` (a real card process) through pcscd."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from pcsc_helpers import PORT, READER, READER_URL, wait_card

pytestmark = pytest.mark.pcsc
BIN = Path(sys.executable).parent


class CardProcess:
    """`firmware-sim vpcd CARD --port 35963` in the background."""

    def __init__(self, image: Path) -> None:
        self.image = image
        self.proc: subprocess.Popen[str] | None = None

    def start(self) -> None:
        cmd = [str(BIN / "firmware-sim"), "vpcd", str(self.image), "--port", str(PORT)]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        wait_card(True, timeout=10)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """Stop it with ``sig``; one that does not end in 10 s is killed (a card left in the reader would
        fail every later PC/SC test) and the test fails."""
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(sig)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                wait_card(False)
                raise AssertionError(f"firmware-sim vpcd did not end on signal {sig} in 10 s") from None
        wait_card(False)


@pytest.fixture
def card_process(pcscd: None, card_image: Path) -> Iterator[CardProcess]:
    process = CardProcess(card_image)
    process.start()
    yield process
    process.stop()


def myna(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    return subprocess.run(
        [str(BIN / "myna-reader"), *args], input=stdin, capture_output=True, text=True, timeout=30, env=env
    )


def test_readers_lists_the_virtual_card(card_process: CardProcess) -> None:
    result = myna("readers")
    assert result.returncode == 0
    assert any(READER in line and "3B E0 00 FF 81 31 FE 45 14" in line for line in result.stdout.splitlines())


def test_info_json_matches_the_card_image(card_process: CardProcess, card_image: Path) -> None:
    result = myna("info", "--json", "--reader", READER_URL)
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    meta = json.loads(card_image.read_text())["meta"]
    assert info["token"] == "JPKIAPICCTOKEN2"
    assert info["auth_cert_serial"] == meta["auth_cert_serial"]
    assert info["auth_pin_tries_left"] == 3
    assert info["reader"] == READER


def test_verify_from_stdin_and_lock_survives_a_card_process_restart(card_process: CardProcess) -> None:
    assert myna("verify", "--reader", READER_URL, stdin="1234\n").returncode == 0
    wrong = myna("verify", "--reader", READER_URL, stdin="4321\n")
    assert wrong.returncode == 1
    assert "wrong PIN: 2 tries left" in wrong.stderr and "4321" not in wrong.stderr + wrong.stdout
    myna("verify", "--reader", READER_URL, stdin="4321\n")
    locked = myna("verify", "--reader", READER_URL, stdin="4321\n")
    assert locked.returncode == 1 and "locked" in locked.stderr
    card_process.stop(signal.SIGKILL)
    card_process.start()
    after = myna("verify", "--reader", READER_URL, stdin="1234\n")
    assert after.returncode == 1 and "locked" in after.stderr
    assert json.loads(myna("info", "--json", "--reader", READER_URL).stdout)["auth_pin_tries_left"] == 0


def test_sign_text(card_process: CardProcess) -> None:
    result = myna("sign", "--text", "hello", "--reader", READER_URL, stdin="1234\n")
    assert result.returncode == 0, result.stderr
    assert "signature verified" in result.stdout


def test_no_card_is_a_clear_error(pcscd: None) -> None:
    result = myna("info", "--reader", READER_URL)
    assert result.returncode == 1
    assert result.stderr.startswith("myna-reader: no card") and "Traceback" not in result.stderr


def test_info_json_without_reader_uses_the_first_reader_with_a_card(card_process: CardProcess) -> None:
    result = myna("info", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["reader"] == READER
