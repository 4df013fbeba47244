"""Where the kiosk's log lines go and how they look (no kivy, no device library).

Under systemd the kiosk's stderr is connected to the system journal, and systemd says so in
``$JOURNAL_STREAM`` (``device:inode`` of that stream). Then each line is ``<N>logger: message``: no time
stamp (journald adds its own) and the sd-daemon priority prefix (``<3>`` error, ``<4>`` warning, ``<6>``
info, ``<7>`` debug) that journald turns into the entry's PRIORITY, so ``journalctl -u myna-kiosk -p
warning`` shows only what needs a look. Anywhere else (a terminal, a test, a file) a line carries its own
time stamp and level name.

``kiosk run`` logs at INFO into the journal (the field log's lines: ``kiosk.flow.fieldlog``); at a
terminal it prints its report and logs warnings, INFO with ``-v``; the other ``kiosk`` commands log
warnings, INFO with ``-v``.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping
from typing import TextIO

__all__ = ["JournalFormatter", "configure_logging", "journal_priority", "under_journal"]

PLAIN_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def journal_priority(level: int) -> int:
    """The syslog priority journald files a Python log level under: 2 critical, 3 error, 4 warning,
    6 info, 7 debug (and below). Never raises."""
    if level >= logging.CRITICAL:
        return 2
    if level >= logging.ERROR:
        return 3
    if level >= logging.WARNING:
        return 4
    if level >= logging.INFO:
        return 6
    return 7


class JournalFormatter(logging.Formatter):
    """``<priority>logger: message``; a traceback's lines follow on their own lines, each with the same
    prefix (journald reads every line of a stream as an entry of its own)."""

    def format(self, record: logging.LogRecord) -> str:
        prefix = f"<{journal_priority(record.levelno)}>"
        text = f"{record.name}: {record.getMessage()}"
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return "\n".join(prefix + line for line in text.splitlines() or [""])


def under_journal(stream: TextIO, env: Mapping[str, str]) -> bool:
    """True when ``stream`` is the journal stream systemd named in ``$JOURNAL_STREAM`` (its device and
    inode match; a stream redirected elsewhere by a child process is not). Never raises."""
    named = env.get("JOURNAL_STREAM", "")
    device, _, inode = named.partition(":")
    if not (device.isdigit() and inode.isdigit()):
        return False
    try:
        st = os.fstat(stream.fileno())
    except (OSError, ValueError, AttributeError):  # a StringIO or a closed stream
        return False
    return (st.st_dev, st.st_ino) == (int(device), int(inode))


class _KioskHandler(logging.StreamHandler[TextIO]):
    """The handler ``configure_logging`` installs (so that a second call replaces it)."""


def configure_logging(
    level: int,
    *,
    stream: TextIO | None = None,
    env: Mapping[str, str] | None = None,
    force: bool = False,
) -> logging.Handler | None:
    """Send the root logger's lines at ``level`` and above to ``stream`` (stderr), in the journal's form
    when it is the journal stream, else with a time stamp; replaces what an earlier call installed. Like
    ``logging.basicConfig``, it leaves a root logger that someone else gave handlers (a test runner)
    alone unless ``force``; then it returns None. Returns the handler. Never raises."""
    root = logging.getLogger()
    ours = [h for h in root.handlers if isinstance(h, _KioskHandler)]
    if not force and len(ours) != len(root.handlers):
        return None
    out = stream if stream is not None else sys.stderr
    handler = _KioskHandler(out)
    journal = under_journal(out, os.environ if env is None else env)
    handler.setFormatter(JournalFormatter() if journal else logging.Formatter(PLAIN_FORMAT))
    for old in ours:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    return handler
