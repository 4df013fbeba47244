"""``firmware-sim vpcd`` always ends on SIGTERM. It used to set a ``threading.Event`` from the signal
handler while its main thread waited on that Event: when the signal landed on the bridge thread, the
handler ran as the main thread came back into the Event holding its lock, and the process hung for good
(seen in a test run: the card stayed in pcscd's reader and every later PC/SC test failed). The race
is too narrow to hit on demand; these runs check the way out, with the signal on either thread."""

from __future__ import annotations

import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO

import pytest
from signal_helpers import sigterm_on_a_side_thread

ROUNDS = 6


def _held_port() -> socket.socket:
    """A bound, non-listening port: connecting is refused, and no other test can take it meanwhile."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    return sock


def _pump(stream: IO[str], lines: queue.Queue[str]) -> None:
    for line in stream:
        lines.put(line)


@pytest.mark.timeout(240)
def test_sigterm_ends_it_every_time_while_it_retries(card_image: Path) -> None:
    held = _held_port()
    port = held.getsockname()[1]
    hung = 0
    try:
        for round_ in range(ROUNDS):
            cmd = [
                sys.executable,
                "-m",
                "firmware_sim.cli.main",
                "vpcd",
                str(card_image),
                "--port",
                str(port),
            ]
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            lines: queue.Queue[str] = queue.Queue()
            assert proc.stderr is not None
            threading.Thread(target=_pump, args=(proc.stderr, lines), daemon=True).start()
            try:
                line = lines.get(timeout=60)
                assert "is not listening; retrying" in line, line
                time.sleep(0.25)  # a few rounds of its wait loop
                if round_ % 2:
                    sigterm_on_a_side_thread(proc.pid)
                else:
                    proc.send_signal(signal.SIGTERM)
                try:
                    out, _ = proc.communicate(timeout=10)
                except subprocess.TimeoutExpired:
                    hung += 1
                    continue
                assert proc.returncode == 0
                assert out.endswith(f"removed {card_image} from vpcd 127.0.0.1:{port}\n")
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
    finally:
        held.close()
    assert hung == 0, f"{hung} of {ROUNDS} runs did not end on SIGTERM"
