"""TCP ports for the printer simulators, which cannot be told to take port 0.

ippeveprinter and cupsd are given a port number. :func:`free_port` asks the kernel for one that is free
now, but another process on the machine (another test's printer, a center, a browser) may take it before
the simulator binds it. The simulator then fails to bind and exits, while the earlier owner answers on
the port. A readiness check that only asks "does something answer there?" would send this kiosk's pages
to a stranger's printer. :func:`owns_listening_port` asks the kernel who is listening (Linux ``/proc``).
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

__all__ = ["free_port", "owns_listening_port", "someone_listens"]

_LISTEN = "0A"  # TCP_LISTEN in /proc/net/tcp's "st" column


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago; see :func:`owns_listening_port`."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _listening_inodes(port: int) -> set[str]:
    """Socket inodes listening on ``port`` (any address, IPv4 or IPv6)."""
    found: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) < 10 or fields[3] != _LISTEN:
                continue
            if int(fields[1].rsplit(":", 1)[1], 16) == port:
                found.add(fields[9])
    return found


def someone_listens(port: int) -> bool:
    """Whether any process listens on TCP ``port`` (any address); where ``/proc`` cannot say, False."""
    return bool(_listening_inodes(port))


def owns_listening_port(pid: int, port: int) -> bool:
    """Whether process ``pid`` holds a socket listening on TCP ``port``.

    False when it does not (yet), when another process holds the port, or when ``pid`` is gone. Where
    ``/proc`` cannot say (not Linux), True: the caller's own readiness check is all there is.
    """
    if not Path("/proc/net/tcp").exists():
        return True
    inodes = _listening_inodes(port)
    if not inodes:
        return False
    fd_dir = f"/proc/{pid}/fd"
    try:
        names = os.listdir(fd_dir)
    except OSError:
        return False
    for name in names:
        try:
            target = os.readlink(f"{fd_dir}/{name}")
        except OSError:
            continue
        if target.startswith("socket:[") and target[8:-1] in inodes:
            return True
    return False
