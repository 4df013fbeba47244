"""The stdin command loop shared by the simulators that sit on a pty (`firmware-sim cash`, `pn532`)."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable, Mapping
from typing import TextIO, TypeVar

Sim = TypeVar("Sim")


class CommandError(ValueError):
    """A control command line the simulator does not understand; answered with ``error: …``."""


def did(action: Callable[[], object], message: str) -> str:
    """Run ``action`` and answer ``message`` (for commands that only change the simulator)."""
    action()
    return message


def dispatch(commands: Mapping[str, Callable[[Sim, list[str]], str]], sim: Sim, line: str) -> str:
    """Run one command line through the ``commands`` table; "" for a blank line.

    Raises CommandError for an unknown command (and whatever the handler raises).
    """
    words = line.split()
    if not words:
        return ""
    handler = commands.get(words[0])
    if handler is None:
        raise CommandError(f"unknown command {words[0]!r} (try 'help')")
    return handler(sim, words[1:])


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
    stop = StopSignals()
    while not stop.seen_within(0.2):
        pass


class StopSignals:
    """SIGINT and SIGTERM, from when it is made, noted in a plain list that the main thread polls in
    short sleeps. Not a ``threading.Event``: the handler runs in the main thread, and one setting an Event
    the main thread is waiting on can deadlock on the Event's lock, or never run while the main thread
    sleeps in it (a signal the kernel handed to another thread)."""

    def __init__(self) -> None:
        self.seen: list[int] = []
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda signum, _frame: self.seen.append(signum))

    def seen_within(self, seconds: float) -> bool:
        """Whether a stop signal came, by now or within ``seconds`` (it returns at once when one comes
        to the main thread, within 0.1 s otherwise)."""
        until = time.monotonic() + seconds
        while not self.seen and (left := until - time.monotonic()) > 0:
            time.sleep(min(left, 0.1))
        return bool(self.seen)
