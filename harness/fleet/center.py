"""The one center a fleet shares: a local ``mock-relay serve`` started here, or a running one named by its
data directory (``running.json`` gives its URLs, ``admin-token`` the admin routes, ``center/`` the
terminal CA, ``jpki/`` the card PKI).

:class:`CenterHandle` issues terminal certificates and residents' cards from that directory, sets fault
rules over the admin HTTP routes, and after the run reads the center's ledger (``ledger.sqlite``), which is
the center's own record of what it issued.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from mock_relay.faults import FaultRule
from mock_relay.registry import codec
from mock_relay.registry.store import Registry
from mock_relay.server import read_running
from mock_relay.tls import CenterPki

log = logging.getLogger(__name__)

#: API processes of a center the fleet starts itself: one per core, up to two (each renders its own
#: documents; ``mock-relay serve --api-processes``, docs/center-protocol.md)
API_PROCESSES = min(2, os.cpu_count() or 1)


class CenterError(RuntimeError):
    """The center could not be started or reached."""


@dataclass(frozen=True)
class Terminal:
    """A terminal's certificate, key and the pinned center CA."""

    terminal_id: str
    cert: Path
    key: Path
    ca: Path


class CenterHandle:
    """One center by its data directory (``data``) and the URLs it wrote into ``running.json``."""

    def __init__(self, data: Path, process: subprocess.Popen[str] | None = None) -> None:
        running = read_running(data)
        if running is None:
            raise CenterError(f"no running center in {data} (no running.json)")
        self.data = data
        self.api_url = str(running["api_url"])
        self.admin_url = str(running["admin_url"])
        self._process = process
        self._token = (data / "admin-token").read_text().strip()

    @classmethod
    def start_local(cls, data: Path, clock: datetime, api_processes: int = API_PROCESSES) -> CenterHandle:
        """``mock-relay serve --api-processes N`` in child processes (their own interpreters: the center gets
        cores of its own) on a register where every municipality allows a same-day reissue, so residents
        can be drawn again and again. Raises CenterError when it does not start."""
        data.mkdir(parents=True, exist_ok=True)
        allow_same_day_reissue(data / "registry.sqlite")
        command = [sys.executable, "-m", "mock_relay.cli.main", "serve", "--data", str(data)]
        proc = subprocess.Popen(
            [*command, "--clock", clock.isoformat(), "--api-processes", str(api_processes)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line.startswith("listening on "):
            proc.kill()
            proc.wait()
            raise CenterError("mock-relay serve did not start")
        return cls(data, proc)

    def stop(self) -> None:
        """Stop the local center (a given center is left running)."""
        if self._process is not None:
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            if self._process.stdout is not None:
                self._process.stdout.close()
            self._process = None

    # --- terminals and cards -----------------------------------------------------------------------------
    def terminal(self, terminal_id: str, out: Path) -> Terminal:
        """Issue (or reuse) a terminal certificate under ``out``. Raises CenterPkiError."""
        if not (out / "terminal.pem").exists():
            CenterPki.open(self.data / "center").issue_terminal(terminal_id, out)
        return Terminal(terminal_id, out / "terminal.pem", out / "terminal.key", out / "center-ca.pem")

    def jpki_bundle(self) -> Path:
        """The JPKI user-authentication CA bundle the kiosk trusts."""
        return self.data / "jpki" / "auth-ca-bundle.pem"

    # --- admin ---------------------------------------------------------------------------------------------
    def _admin(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(  # noqa: S310 - the center's own admin listener
            self.admin_url + path,
            data=data,
            method=method,
            headers={"Authorization": f"Bearer {self._token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as reply:  # noqa: S310
                raw = reply.read()
        except OSError as exc:
            raise CenterError(f"admin {method} {path}: {exc}") from exc
        return json.loads(raw) if raw else None

    def add_fault(self, rule: FaultRule) -> int:
        """Install a fault rule; its id. Raises CenterError."""
        answer = self._admin("POST", "/admin/faults", {k: v for k, v in rule.to_json().items() if k != "id"})
        return int(answer["id"]) if isinstance(answer, dict) and "id" in answer else 0

    def remove_fault(self, rule_id: int) -> None:
        """Remove one fault rule (one with a count may have retired already). Raises CenterError."""
        try:
            self._admin("DELETE", f"/admin/faults/{rule_id}")
        except CenterError as exc:
            if "404" not in str(exc):
                raise

    def clear_faults(self) -> None:
        """Remove every fault rule. Raises CenterError."""
        self._admin("DELETE", "/admin/faults")

    # --- evidence ------------------------------------------------------------------------------------------
    def ledger_copy(self, out: Path) -> Path:
        """A consistent copy of the center's ledger (SQLite online backup). Raises sqlite3.Error."""
        src = sqlite3.connect(f"file:{self.data / 'ledger.sqlite'}?mode=ro", uri=True)
        dst = sqlite3.connect(out)
        try:
            src.backup(dst)
            dst.execute("PRAGMA journal_mode=DELETE")  # one file, no -wal/-shm beside it
        finally:
            src.close()
            dst.close()
        return out


def allow_same_day_reissue(registry_path: Path) -> None:
    """Seed the register if new, then let every municipality issue the same type twice a day (fleet
    residents come back many times). Raises sqlite3.Error."""
    registry = Registry(registry_path)
    try:
        with registry.transaction() as conn:
            for m in registry.municipalities():
                relaxed = dataclasses.replace(m, refuse_same_day_reissue=False)
                conn.execute(
                    "UPDATE municipalities SET data=? WHERE code=?",
                    (codec.dump_municipality(relaxed), m.code),
                )
    finally:
        registry.close()
