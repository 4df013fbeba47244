"""systemd's service notification protocol (sd_notify), spoken without a new dependency: each message is one
datagram of ``KEY=value`` lines sent to the unix socket named by ``$NOTIFY_SOCKET`` (a leading ``@`` means
the abstract namespace). The kiosk says ``READY=1`` only once its start-up checks passed, feeds the
watchdog (``WATCHDOG=1``) from the flow's own thread so that a hung flow stops the pings and systemd
restarts it (``WatchdogSec=`` in the unit), reports a one-line ``STATUS=`` and ``STOPPING=1``.

Outside systemd (no ``$NOTIFY_SOCKET``) every call does nothing. Sending never raises: a notification
that cannot be delivered is logged once and dropped, the kiosk goes on."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Mapping

log = logging.getLogger(__name__)


class SystemdNotifier:
    """Notifications to the service manager. Thread-safe; every method returns whether it was sent."""

    def __init__(
        self, environ: Mapping[str, str] | None = None, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        env = os.environ if environ is None else environ
        self.address = _address(env.get("NOTIFY_SOCKET", ""))
        self.watchdog_interval = _watchdog_interval(env)
        self._clock = clock
        self._last_ping: float | None = None
        self._lock = threading.Lock()
        self._warned = False

    @property
    def enabled(self) -> bool:
        """Whether a service manager listens (``$NOTIFY_SOCKET`` is set)."""
        return self.address is not None

    def ready(self, status: str) -> bool:
        """The kiosk is open: its start-up checks passed."""
        return self.send("READY=1", f"STATUS={_one_line(status)}", f"MAINPID={os.getpid()}")

    def status(self, text: str) -> bool:
        """A one-line status for ``systemctl status``."""
        return self.send(f"STATUS={_one_line(text)}")

    def stopping(self, status: str = "stopping") -> bool:
        """The kiosk is stopping on request."""
        return self.send("STOPPING=1", f"STATUS={_one_line(status)}")

    def watchdog(self) -> bool:
        """Feed the watchdog; sent at most every quarter of the watchdog interval (the unit's
        ``WatchdogSec=``), nothing when the unit has no watchdog."""
        if self.watchdog_interval is None:
            return False
        now = self._clock()
        with self._lock:
            if self._last_ping is not None and now - self._last_ping < self.watchdog_interval / 4:
                return False
            self._last_ping = now
        return self.send("WATCHDOG=1")

    def send(self, *fields: str) -> bool:
        """Send ``fields`` as one notification. Never raises."""
        if self.address is None:
            return False
        message = "\n".join(fields).encode("utf-8")
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
                sock.sendto(message, self.address)
        except OSError as exc:
            if not self._warned:
                log.warning("systemd notification not delivered to %r: %s", self.address, exc)
                self._warned = True
            return False
        return True


def _address(raw: str) -> str | None:
    if not raw:
        return None
    if raw.startswith("@"):
        return "\0" + raw[1:]
    return raw if raw.startswith("/") else None


def _watchdog_interval(env: Mapping[str, str]) -> float | None:
    """``$WATCHDOG_USEC`` in seconds, when it is meant for this process (``$WATCHDOG_PID`` unset or ours)."""
    usec, pid = env.get("WATCHDOG_USEC", ""), env.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) == 0:
        return None
    if pid and (not pid.isdigit() or int(pid) != os.getpid()):
        return None
    return int(usec) / 1_000_000


def _one_line(text: str) -> str:
    return " ".join(text.split())[:200]
