"""``kiosk run --config FILE`` with its touchscreen (off screen here: no display), against the store's
devices as separate components (real pcscd + vpcd, the cash simulator on a pty, ippeveprinter, the mock
center over mTLS): the window comes up on the real flow and the process stops cleanly on SIGTERM."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from real_kiosk_helpers import StoreDevices, run_until_open, write_config

ROOT = Path(__file__).resolve().parents[3]
pytestmark = [pytest.mark.slow, pytest.mark.interop, pytest.mark.pcsc]


@pytest.mark.timeout(90)
def test_the_window_opens_on_real_devices_and_stops_on_sigterm(devices: StoreDevices, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}  # off screen
    # settle: the window's start-up and a few frames on the real flow before SIGTERM
    run = run_until_open(
        write_config(devices, tmp_path), "--size", "800x600", "--offscreen", env=env, settle=3.0
    )
    assert run.opened and run.status == 0, run.out + run.err[-3000:]
    text = run.out + run.err
    assert "touchscreen failed" not in text and "Traceback" not in text
    assert "touchscreen open: 800x600, first frame drawn" in text, text[-3000:]
    assert text.index("touchscreen open") < text.index("touchscreen closed") < text.index("kiosk stopped")


@pytest.mark.timeout(90)
def test_staff_self_test_on_the_store_devices(devices: StoreDevices, tmp_path: Path) -> None:
    """``kiosk diag --config FILE --self-test``: the kiosk is not running; the command opens the devices the
    config names, checks each (center health, printer, cash unit, a heartbeat) and says so, one line each."""
    path = write_config(devices, tmp_path)
    proc = subprocess.run(
        [sys.executable, "-m", "kiosk", "diag", "--config", str(path), "--self-test"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=80,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = [line.strip() for line in proc.stdout.splitlines()]
    assert lines[0] == "SELF-TEST", proc.stdout
    for device in ("center", "printer", "coin acceptor", "bill validator", "hopper 100 yen", "heartbeat"):
        assert any(line.startswith(f"{device}: ok: ") for line in lines), (device, proc.stdout)
    assert not any("FAILED" in line for line in lines), proc.stdout
