"""``kiosk run --config`` under a service manager (the unit is Type=notify with a watchdog): a fake
``$NOTIFY_SOCKET`` receives READY=1 only after the start-up checks passed, WATCHDOG=1 pings fed by the
flow's own thread while it runs, STOPPING=1 on SIGTERM; a kiosk that cannot open never says READY."""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

import pytest
from real_kiosk_helpers import StoreDevices, run_until_open, write_config

pytestmark = [pytest.mark.pcsc, pytest.mark.slow]


def _collect(sock: socket.socket) -> list[dict[str, str]]:
    messages = []
    sock.settimeout(0.2)
    while True:
        try:
            data = sock.recv(4096).decode("utf-8")
        except TimeoutError:
            return messages
        messages.append(dict(line.split("=", 1) for line in data.split("\n")))


def _env(address: Path, watchdog_s: float) -> dict[str, str]:
    env = dict(os.environ)
    env.update(NOTIFY_SOCKET=str(address), WATCHDOG_USEC=str(int(watchdog_s * 1_000_000)))
    env.pop("WATCHDOG_PID", None)
    return env


def test_ready_after_the_checks_then_watchdog_pings_then_stopping(
    devices: StoreDevices, tmp_path: Path
) -> None:
    address = tmp_path / "notify"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as manager:
        manager.bind(str(address))
        config = write_config(devices, tmp_path)
        run = run_until_open(config, "--headless", env=_env(address, 1.0), settle=2.0)
        messages = _collect(manager)
    assert run.opened and run.status == 0, run.err
    kinds = [next(iter(m)) for m in messages]
    assert kinds.count("READY") == 1 and kinds[-1] == "STOPPING", messages
    ready = kinds.index("READY")
    assert "checks passed" in messages[ready]["STATUS"]
    pings = [k for k in kinds[ready:] if k == "WATCHDOG"]
    assert len(pings) >= 5, messages  # every quarter of the 1 s watchdog for 2 s, from the flow's ticks


def test_a_kiosk_that_cannot_open_never_says_ready(devices: StoreDevices, tmp_path: Path) -> None:
    address = tmp_path / "notify"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as manager:
        manager.bind(str(address))
        config = write_config(devices, tmp_path, uri='uri = "ipp://127.0.0.1:9/ipp/print"')
        started = time.monotonic()
        run = run_until_open(config, "--headless", env=_env(address, 1.0), timeout=40)
        messages = _collect(manager)
    assert not run.opened and run.status == 3, run.out + run.err
    assert time.monotonic() - started < 40
    assert all("READY" not in m for m in messages), messages
    (status,) = [m for m in messages if "STATUS" in m and m["STATUS"].startswith("cannot open")]
    assert "printer" in status["STATUS"]
