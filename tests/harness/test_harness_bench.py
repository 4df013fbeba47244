"""The harness drives any kiosk: ``kiosk-harness bench up DIR`` starts the simulators as a separate process
(the card behind real pcscd + vpcd, the cash unit on a pty, ippeveprinter, the mock center over mutual
TLS) and writes a ready kiosk.toml; ``kiosk run --config DIR/kiosk.toml --headless`` opens on them with
its control socket; ``kiosk-harness drive`` plays juminhyo through that socket and a page is printed.
Also: a busy or unreachable vpcd reader fails at once with its reason, and ``kiosk run`` without a
display refuses unless told to render off screen."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from firmware_sim.card.mynumber import MyNumberCard
from harness.cli import main
from harness.vpcd import FIRST_PORT, ReaderBusyError, VpcdSlot, check_reader, reader_name
from reader.errors import TransportError

REPO = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.slow, pytest.mark.interop, pytest.mark.pcsc]
HARNESS = [sys.executable, "-m", "harness"]
BENCH_PORT = FIRST_PORT + 1  # "Virtual PCD 00 01": the simulated kiosk (sim/play --reader pcsc) uses 00 00


def _ensure_pcscd() -> None:
    subprocess.run([str(REPO / "scripts" / "ensure-pcscd.sh")], check=True, timeout=30)


def _start(cmd: list[str], ready: str, timeout: float = 60.0) -> tuple[subprocess.Popen[str], list[str]]:
    """Start ``cmd`` and read its stdout until a line starts with ``ready``. Raises AssertionError."""
    proc = subprocess.Popen(cmd, cwd=REPO, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip("\n"))
        if line.startswith(ready):
            return proc, lines
    _stop(proc)
    raise AssertionError(f"no {ready!r}: {lines} {proc.stderr.read() if proc.stderr else ''}")


def _stop(proc: subprocess.Popen[str]) -> tuple[int, str, str]:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        out, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate(timeout=5)
    return proc.returncode, out, err


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, list[str]]]:
    _ensure_pcscd()
    folder = tmp_path_factory.mktemp("bench")
    cmd = [sys.executable, "-m", "harness", "bench", "up", str(folder), "--vpcd-port", str(BENCH_PORT)]
    proc, lines = _start(cmd, "bench ready")
    yield folder, lines
    status, _out, err = _stop(proc)
    assert status == 0 and "Traceback" not in err, err[-2000:]
    assert not (folder / "bench.sock").exists()


@pytest.mark.timeout(180)
def test_drive_plays_juminhyo_at_kiosk_run_on_the_bench_and_a_page_is_printed(
    bench: tuple[Path, list[str]],
) -> None:
    folder, lines = bench
    config = folder / "kiosk.toml"
    assert lines[-2] == f"bench: kiosk configuration {config}" and lines[-1].startswith(
        "bench ready: hands on"
    )
    kiosk, opened = _start(
        [sys.executable, "-m", "kiosk", "run", "--config", str(config), "--headless"], "kiosk open"
    )
    try:
        assert f"start-up control: test-bench taps on {folder / 'kiosk.sock'} (mode 0600)" in opened
        assert stat.S_IMODE((folder / "kiosk.sock").stat().st_mode) == 0o600
        drive = subprocess.run(
            [
                *HARNESS,
                "drive",
                "--socket",
                str(folder / "kiosk.sock"),
                "--bench",
                str(folder / "bench.sock"),
                "juminhyo",
            ],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        status, out, err = _stop(kiosk)
    assert drive.returncode == 0, drive.stdout + drive.stderr
    assert "outcome: done message=take_certificate reason=completed staff=OK" in drive.stdout
    assert "printed pages: 2" in drive.stdout.splitlines()
    assert "[ 4] pin: pin ****" in drive.stdout and "1234" not in drive.stdout + out + err
    assert status == 0 and "screen done take_certificate" in out and not (folder / "kiosk.sock").exists()
    assert len(list((folder / "spool" / "tray").iterdir())) == 2


def test_kiosk_run_without_a_display_refuses_unless_told_to_render_off_screen(
    bench: tuple[Path, list[str]],
) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    run = subprocess.run(
        [sys.executable, "-m", "kiosk", "run", "--config", str(bench[0] / "kiosk.toml")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert run.returncode == 2 and run.stderr.count("\n") == 1
    assert run.stderr.startswith("kiosk: no display for the touchscreen") and "--offscreen" in run.stderr


def test_a_busy_or_missing_vpcd_reader_fails_at_once_with_its_reason(
    bench: tuple[Path, list[str]], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    card = MyNumberCard.from_image(bench[0] / "card.json")
    holder = VpcdSlot(card, FIRST_PORT)  # another harness holds "Virtual PCD 00 00" with its card in
    try:
        holder.insert()
        started = time.monotonic()
        assert main(["play", "juminhyo", "--reader", "pcsc"]) == 2
        assert time.monotonic() - started < 20  # at once, not after a step timeout
        err = capsys.readouterr().err
        assert "reader 'Virtual PCD 00 00' is busy: a card is already in it" in err and err.count("\n") == 1
    finally:
        holder.stop()
    with pytest.raises(ReaderBusyError, match=r"pcscd has no reader 'Virtual PCD 00 09' \(readers: "):
        check_reader(reader_name(FIRST_PORT + 9))

    def down() -> list[object]:
        raise TransportError("SCardEstablishContext: service not available")

    monkeypatch.setattr("harness.vpcd.list_readers", down)
    with pytest.raises(ReaderBusyError, match="pcscd does not answer"):
        check_reader(reader_name(FIRST_PORT))
