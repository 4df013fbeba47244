"""Crash injection for the crash tests: a journal observer that SIGKILLs the kiosk's own process right
after the N-th journal point is durable (``kiosk-harness play --crash-at N``). The product journal only
calls its ``on_point`` observer; killing is the harness's business."""

from __future__ import annotations

import logging
import os
import signal
from collections.abc import Callable

log = logging.getLogger(__name__)


def kill_at(point_number: int) -> Callable[[int, str], None]:
    """An ``on_point`` observer that SIGKILLs this process after journal point ``point_number``."""
    if point_number < 1:
        raise ValueError(f"--crash-at takes a journal point number from 1, not {point_number}")

    def observe(number: int, name: str) -> None:
        if number == point_number:
            log.warning("crash test: SIGKILL at journal point %d (%s)", number, name)
            os.kill(os.getpid(), signal.SIGKILL)

    return observe
