"""A SIGTERM always stops a process whose main thread waits for it, whichever thread the kernel hands the
signal to (a process-directed signal may land on any thread that does not block it)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from signal_helpers import sigterm_on_a_side_thread

REPO = Path(__file__).resolve().parents[3]

PROGRAM = """
import signal, sys, threading, time
from kiosk.app.stopping import wait_for_stop
stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())
side = threading.Thread(target=time.sleep, args=(60,), daemon=True)
side.start()
print("waiting", flush=True)
{wait}
print("stopped", flush=True)
"""


def _run(wait: str) -> bool:
    """Whether the program stops within 3 s of a SIGTERM delivered on its side thread."""
    proc = subprocess.Popen(
        [sys.executable, "-c", PROGRAM.format(wait=wait)], cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline() == "waiting\n"
        time.sleep(0.3)  # into its wait
        sigterm_on_a_side_thread(proc.pid)
        try:
            out, _ = proc.communicate(timeout=3)
        except subprocess.TimeoutExpired:
            return False
        return proc.returncode == 0 and out == "stopped\n"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.timeout(60)
def test_wait_for_stop_ends_on_a_signal_handed_to_another_thread() -> None:
    assert _run("wait_for_stop(stop)")


@pytest.mark.timeout(60)
def test_the_plain_event_wait_it_replaces_does_not() -> None:
    """Why it exists: the handler is due, but the main thread sleeps in the Event's lock and never runs it."""
    assert not _run("stop.wait()")
