"""The cash unit's polling thread (split from ``cash.py``): call ``poll`` every ``interval`` seconds.

A journal failure stops the loop for good (counting money that cannot be journaled would lose it);
a link outage is reported once per outage, not every poll.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from kiosk.devices.cash.cctalk import CcTalkError
from kiosk.money import JournalError

OUTAGE_POLLS = 3  # failed polls in a row that make an outage


class PollLoop:
    """``poll()`` on a daemon thread; ``on_journal_error`` ends it, ``on_outage`` reports a dead link."""

    def __init__(
        self,
        poll: Callable[[], object],
        interval: float,
        on_journal_error: Callable[[JournalError], None],
        on_outage: Callable[[CcTalkError], None],
    ) -> None:
        self._poll, self._interval = poll, interval
        self._on_journal_error, self._on_outage = on_journal_error, on_outage
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.last_error: Exception | None = None

    def start(self) -> None:
        """Start the thread (no-op when it runs). Never raises."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="cash-poll", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread and wait for it (up to 5 s). Never raises."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
        self._thread = None

    def _run(self) -> None:
        failures = 0
        while not self._stop.wait(self._interval):
            try:
                self._poll()
                failures = 0
            except JournalError as exc:
                self.last_error = exc
                self._on_journal_error(exc)
                return
            except CcTalkError as exc:
                failures += 1
                self.last_error = exc
                if failures == OUTAGE_POLLS:
                    self._on_outage(exc)
