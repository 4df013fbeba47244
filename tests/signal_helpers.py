"""Signals as the kernel may deliver them: a process-directed signal lands on any thread that does not
block it, so a test hands one to a thread other than the main one (tgkill) to show what then happens."""

from __future__ import annotations

import ctypes
import platform
import signal
from pathlib import Path

_SYS_TGKILL = {"x86_64": 234, "aarch64": 131}[platform.machine()]


def sigterm_on_a_side_thread(pid: int) -> None:
    """SIGTERM to process ``pid``, delivered on one of its threads other than the main one. The main
    thread runs the Python handler only at its next check. Raises OSError (no such thread, tgkill
    failed), StopIteration (the process has one thread only)."""
    side = next(int(t.name) for t in sorted(Path(f"/proc/{pid}/task").iterdir()) if int(t.name) != pid)
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.syscall(_SYS_TGKILL, pid, side, signal.SIGTERM) != 0:
        raise OSError(ctypes.get_errno(), "tgkill")
