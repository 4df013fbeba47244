"""The shared D-Bus/Avahi record: a stopped daemon is gone before the lock is given up, and a zombie is
not taken for a running daemon (else the next printer simulator starts without DNS-SD and ippeveprinter
exits at once)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from firmware_sim.printer.dnssd import _alive, _end

SLOW_TO_DIE = (
    "import signal, sys, time\n"
    "signal.signal(signal.SIGTERM, lambda *_: (time.sleep(0.5), sys.exit(0)))\n"
    "print('ready', flush=True)\n"
    "time.sleep(60)\n"
)


def test_ending_a_daemon_waits_until_it_is_gone() -> None:
    proc = subprocess.Popen([sys.executable, "-c", SLOW_TO_DIE], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
        started = time.monotonic()
        _end("slow daemon", proc.pid)
        assert time.monotonic() - started >= 0.4  # it took its half second to go
        assert not _alive(proc.pid)
        assert proc.wait(timeout=5) == 0  # it left by its SIGTERM handler, not by SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_a_daemon_that_ignores_sigterm_is_killed_after_the_grace() -> None:
    code = (
        "import signal, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "print('ready', flush=True)\n"
        "time.sleep(60)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
        _end("stubborn daemon", proc.pid, grace=0.3)
        assert not _alive(proc.pid)
        assert proc.wait(timeout=5) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_a_zombie_is_not_alive() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # exited, not reaped: a zombie still answers kill(pid, 0)
        with open(f"/proc/{proc.pid}/stat") as stat:
            if stat.read().rpartition(")")[2].split()[0] == "Z":
                break
        time.sleep(0.01)
    try:
        assert not _alive(proc.pid)
    finally:
        proc.wait()
    assert _alive(os.getpid())
