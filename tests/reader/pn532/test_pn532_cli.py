"""``firmware-sim pn532`` as a subprocess: pty path and stable link, stdin commands, bad input."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from pn532_helpers import HEX

from reader.errors import CardRemovedError
from reader.pn532.transport import open_pn532

SELECT_JPKI = HEX("00 A4 04 0C 0A D3 92 F0 00 26 01 00 00 00 01")


def ask(proc: subprocess.Popen[str], line: str) -> str:
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(line + "\n")
    proc.stdin.flush()
    return proc.stdout.readline().strip()


def test_cli_serves_the_card_and_obeys_commands(card_image: Path, tmp_path: Path) -> None:
    link = tmp_path / "ttyPN532"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "firmware_sim.cli.main",
            "pn532",
            str(card_image),
            "--link",
            str(link),
            "--pupi",
            "01020304",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        path = proc.stdout.readline().strip()
        assert path.startswith("/dev/pts/") and link.resolve() == Path(path)
        transport = open_pn532(f"pn532://{link}")
        transport.connect()
        assert transport.target is not None and transport.target.pupi == HEX("01 02 03 04")
        assert ask(proc, "corrupt-next") == "next response corrupted"
        assert transport.transmit(SELECT_JPKI) == HEX("90 00")  # NACK and resend
        assert ask(proc, "status").startswith("card=in state=active pupi=01020304")
        assert ask(proc, "remove") == "card removed"
        try:
            transport.transmit(SELECT_JPKI)
            raise AssertionError("the card is out of the field")
        except CardRemovedError:
            pass
        assert ask(proc, "insert") == "card inserted"
        assert transport.presence() is not None
        assert ask(proc, "delay x").startswith("error: delay MS")
        assert ask(proc, "frobnicate").startswith("error: unknown command")
        transport.close()
        assert proc.stdin is not None
        proc.stdin.write("quit\n")
        proc.stdin.flush()
        assert proc.wait(timeout=10) == 0
        assert not link.exists()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_cli_bad_card_image_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("not a card")
    result = subprocess.run(
        [sys.executable, "-m", "firmware_sim.cli.main", "pn532", str(bad)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 1
    assert "firmware-sim pn532:" in result.stderr and "Traceback" not in result.stderr
