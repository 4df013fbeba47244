"""Waiting in the main thread for a stop request that a signal handler makes.

Python runs signal handlers in the main thread, between two bytecodes. A main thread blocked in
``stop.wait()`` therefore has two ways to never stop: a signal the kernel delivered to another thread
only marks the handler as due, and the main thread, asleep in the Event's lock, never reaches a bytecode
to run it; and a handler that runs just as the main thread comes back into the Event, holding its lock,
blocks on that lock for good (seen in ``firmware-sim vpcd``). Short sleeps have neither problem: a sleep
is cut by a signal delivered to the main thread and ends on its own otherwise, and the main thread then
holds no lock when the handler runs.
"""

from __future__ import annotations

import threading
import time

__all__ = ["wait_for_stop"]

POLL = 0.2


def wait_for_stop(stop: threading.Event, poll: float = POLL) -> None:
    """Block (the main thread) until ``stop`` is set, by a signal handler or by any other thread."""
    while not stop.is_set():
        time.sleep(poll)
