"""A pseudo-terminal served by one thread: the device side of the simulators that sit on a serial line.

The driver under test opens ``path`` (or the optional stable symlink) with pyserial exactly as a real
port. Subclasses implement ``_serve`` (read ``self._master`` until ``self._stop`` is set) and say which
exception their callers expect (``error``).
"""

from __future__ import annotations

import os
import threading
import tty
from pathlib import Path


class PtyServer:
    """Opens a raw pty pair, keeps an optional symlink to its slave path, and serves it on a thread."""

    error: type[Exception] = OSError
    thread_name = "pty-sim"

    def __init__(self, link: Path | None = None) -> None:
        self._link = link
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._master = self._slave = -1
        self.path = ""

    def start(self) -> str:
        """Open the pty, serve, make the optional symlink; returns the slave path. Raises ``self.error``."""
        try:
            self._master, self._slave = os.openpty()
            tty.setraw(self._slave)  # no line discipline between the bytes and the driver
        except OSError as exc:
            raise self.error(f"cannot open a pseudo-terminal: {exc}") from exc
        self.path = os.ttyname(self._slave)
        if self._link is not None:
            if self._link.exists() and not self._link.is_symlink():
                self.stop()
                raise self.error(f"{self._link} exists and is not a symlink; not replacing it")
            self._link.unlink(missing_ok=True)
            self._link.symlink_to(self.path)
        self._thread = threading.Thread(target=self._serve, name=self.thread_name, daemon=True)
        self._thread.start()
        return self.path

    def stop(self) -> None:
        """Stop serving, close the pty, remove the symlink (idempotent)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
            self._thread = None
        for fd in (self._master, self._slave):
            if fd >= 0:
                os.close(fd)
        self._master = self._slave = -1
        if self._link is not None and self._link.is_symlink():
            self._link.unlink()

    def _serve(self) -> None:
        raise NotImplementedError
