"""A private CUPS scheduler (Debian's ``cups``) for tests: ``cupsd -f`` with its own configuration,
listening on 127.0.0.1, with IPP Everywhere queues in front of simulated printers.

Why not in pytest's ``tmp_path``: cupsd runs its filters and backends as an unprivileged user (``lp``
when started as root; it refuses ``User root``), and they must read the spool, the PPDs and the
configuration, while pytest's base temporary directory is private to its owner. So the server lives
in its own world-traversable temporary directory, removed by :meth:`CupsServer.remove`.
"""

from __future__ import annotations

import contextlib
import grp
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType

from firmware_sim.printer.dnssd import PrinterSimError
from firmware_sim.printer.groups import end_group
from firmware_sim.printer.ports import free_port, owns_listening_port, someone_listens

__all__ = ["CUPSD", "CupsServer"]

CUPSD = "/usr/sbin/cupsd"
_PORT_TRIES = 5  # fresh ports tried when another process took the one chosen
_CONF = """Listen 127.0.0.1:{port}
Listen {root}/cups.sock
LogLevel info
MaxLogSize 0
Browsing No
WebInterface No
DefaultAuthType None
JobRetryInterval 1
<Location />
  Order allow,deny
  Allow all
</Location>
<Location /admin>
  Order allow,deny
  Allow all
</Location>
<Policy default>
  <Limit All>
    Order deny,allow
  </Limit>
</Policy>
"""
_FILES = """ServerRoot {root}/etc
RequestRoot {root}/spool
CacheDir {root}/cache
StateDir {root}/state
TempDir {root}/tmp
ErrorLog {root}/log/error_log
AccessLog {root}/log/access_log
PageLog {root}/log/page_log
User {user}
Group {group}
SystemGroup {system_group}
"""


def _identity() -> tuple[str, str, str]:
    """(User, Group, SystemGroup) for cups-files.conf: lp when root (cupsd refuses root), else us."""
    if os.geteuid() == 0:
        return "lp", "lp", "root"
    user = pwd.getpwuid(os.geteuid()).pw_name
    group = grp.getgrgid(os.getegid()).gr_name
    return user, group, group


class CupsServer:
    """One private cupsd on ``127.0.0.1:<port>``; a context manager (stops and removes everything)."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="myna-cupsd-"))
        self.root.chmod(0o755)
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self._started = False  # once started, the port stays (queue URIs name it)
        user, group, system_group = _identity()
        for sub in ("etc/ppd", "etc/ssl", "spool", "cache", "state", "tmp", "log"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        self._write_conf()
        (self.root / "etc/cups-files.conf").write_text(
            _FILES.format(root=self.root, user=user, group=group, system_group=system_group)
        )

    def _write_conf(self) -> None:
        (self.root / "etc/cupsd.conf").write_text(_CONF.format(port=self.port, root=self.root))

    @property
    def server(self) -> str:
        return f"127.0.0.1:{self.port}"

    def queue_uri(self, name: str) -> str:
        return f"ipp://127.0.0.1:{self.port}/printers/{name}"

    def start(self, timeout: float = 15.0) -> CupsServer:
        """Start cupsd in the foreground (own process group) and wait until it answers on its port. On
        the first start, if another process took the port chosen, start again on a fresh one; a restart
        keeps the port its queues' URIs name.

        Raises PrinterSimError (cupsd missing, exited, silent, or its port held by another process)."""
        if not Path(CUPSD).exists():
            raise PrinterSimError(f"{CUPSD} is missing (Debian packages cups-daemon, cups)")
        for attempt in range(_PORT_TRIES):
            if self._launch(timeout):
                self._started = True
                return self
            if self._started or attempt == _PORT_TRIES - 1:
                raise PrinterSimError(f"cupsd: port {self.port} is held by another process")
            self.port = free_port()
            self._write_conf()
        raise AssertionError("unreachable")

    def _launch(self, timeout: float) -> bool:
        """Run cupsd until it answers on its own port (True) or another process is seen holding it
        (False, cupsd stopped). Raises PrinterSimError."""
        log = (self.root / "log" / "cupsd.out").open("ab")
        self.process = process = subprocess.Popen(
            [
                CUPSD,
                "-f",
                "-c",
                str(self.root / "etc/cupsd.conf"),
                "-s",
                str(self.root / "etc/cups-files.conf"),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        until = time.monotonic() + timeout
        while time.monotonic() < until:
            if process.poll() is not None:
                self.process = None
                raise PrinterSimError(f"cupsd exited with {process.returncode}: {self.log_tail()}")
            # cupsd keeps running on its local socket when it cannot bind the TCP port: whoever answers
            # there must be this cupsd, not the process that took the port.
            if owns_listening_port(process.pid, self.port):
                try:
                    with urllib.request.urlopen(f"http://{self.server}/", timeout=1):
                        return True
                except urllib.error.HTTPError:
                    return True  # it answers (403/404 without the web interface)
                except (OSError, urllib.error.URLError):
                    pass
            elif someone_listens(self.port) and not owns_listening_port(process.pid, self.port):
                self.stop()
                return False
            time.sleep(0.05)
        self.stop()
        raise PrinterSimError(f"cupsd did not answer on {self.server} within {timeout:.0f} s")

    def log_tail(self, chars: int = 800) -> str:
        path = self.root / "log" / "error_log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""

    def _tool(self, *args: str) -> str:
        """Run a CUPS command-line tool against this server. Raises PrinterSimError."""
        done = subprocess.run(
            [*args[:1], "-h", self.server, *args[1:]],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env={**os.environ, "CUPS_SERVER": self.server},
        )
        if done.returncode != 0:
            raise PrinterSimError(f"{' '.join(args)}: {done.stderr.strip() or done.stdout.strip()}")
        return done.stdout

    def add_queue(self, name: str, device_uri: str) -> str:
        """An IPP Everywhere queue in front of ``device_uri`` (``lpadmin -m everywhere -E``); its URI."""
        self._tool("lpadmin", "-p", name, "-v", device_uri, "-m", "everywhere", "-E")
        return self.queue_uri(name)

    def remove_queue(self, name: str) -> None:
        with contextlib.suppress(PrinterSimError):
            self._tool("lpadmin", "-x", name)

    def pause(self, name: str) -> None:
        """``cupsdisable``: the queue stops (printer-state stopped, reason paused)."""
        self._tool("cupsdisable", name)

    def resume(self, name: str) -> None:
        self._tool("cupsenable", name)

    def stop(self) -> None:
        """SIGTERM cupsd (SIGKILL after 10 s) and whatever it left running in its group; safe twice."""
        if self.process is None:
            return
        end_group(self.process, signal.SIGTERM, grace=10.0)  # a backend or filter still in the group too
        self.process = None

    def remove(self) -> None:
        """Stop cupsd and delete its directory."""
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> CupsServer:
        return self.start() if self.process is None else self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.remove()
