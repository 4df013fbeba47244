"""Ending a simulator's process group without signalling a stranger's.

ippeveprinter and cupsd are started in sessions of their own (``start_new_session``), so that stopping one
also ends what it left running in its group (a print engine, a backend or filter). A group is signalled by
its number, which is the leader's process id, and process ids come round again: on a machine whose
``pid_max`` is 32768 a test suite goes through all of them in about two minutes. Once our leader has been
reaped, its number stays reserved only while a member of its group is alive. If none is, the number may
already lead somebody else's group (another test's printer or cupsd), and ``killpg`` would end that one.
:func:`end_group` signals the group only while the number is provably still ours.
"""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

__all__ = ["end_group", "signal_group"]


def signal_group(process: subprocess.Popen[bytes], sig: signal.Signals) -> bool:
    """Send ``sig`` to the group ``process`` leads, if that group can still be ours; whether it was sent.

    While the leader is not reaped (running, or a zombie), its number is ours. Once reaped, a process that
    has the number now is somebody else's, and then our group is empty (the kernel does not hand out a
    number that a live group still carries): nothing is sent.
    """
    if process.returncode is not None and Path(f"/proc/{process.pid}").exists():
        return False
    try:
        os.killpg(process.pid, sig)
    except (ProcessLookupError, PermissionError):  # no such group, or a stranger's after all
        return False
    return True


def end_group(process: subprocess.Popen[bytes], sig: signal.Signals, grace: float) -> None:
    """Send ``sig`` to the group, wait ``grace`` seconds for the leader (SIGKILL after), then SIGKILL
    whatever is left in the group. The leader is reaped when this returns."""
    signal_group(process, sig)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        signal_group(process, signal.SIGKILL)
        process.wait(timeout=5)
    # The leader is reaped now: its group is signalled only if no other process has taken its number.
    signal_group(process, signal.SIGKILL)
