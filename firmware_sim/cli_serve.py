"""The stdin command loop shared by the simulators that sit on a pty (`firmware-sim cash`, `pn532`)."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from typing import TextIO


class CommandError(ValueError):
    """A control command line the simulator does not understand; answered with ``error: …``."""


def serve_commands(path: str, execute: Callable[[str], str], stdin: TextIO, stdout: TextIO) -> int:
    """Print the pty ``path``, then answer each stdin line with ``execute(line)`` until ``quit``.

    At end of input (stdin closed), keep serving until SIGINT/SIGTERM. Returns the exit status (0).
    """
    print(path, flush=True, file=stdout)
    for line in stdin:
        if line.strip() in ("quit", "exit"):
            return 0
        try:
            print(execute(line), flush=True, file=stdout)
        except CommandError as exc:
            print(f"error: {exc}", flush=True, file=stdout)
    wait_for_signal()
    return 0


def wait_for_signal() -> None:
    """Block until SIGINT or SIGTERM."""
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    done.wait()
