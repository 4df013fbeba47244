"""What the center's API processes share when there are several (``mock-relay serve --api-processes N``):
the operator controls (fault rules, the clock, maintenance windows) and each terminal's count of open
connections, in one small SQLite file, ``<data>/controls.sqlite`` (owner-only, WAL).

The ledger and the register are SQLite files already, opened by every process. What was process memory
in a single-process center is here:

- ``SharedFaults``, ``SharedClock``, ``SharedMaintenance`` behave as ``Faults``, ``CenterClock`` and
  ``Maintenance`` (mock_relay.faults), whichever process the admin routes reached. Each process keeps the
  last state it read and compares a change counter before using it: 8 bytes of ``<data>/controls.version``,
  mapped into every process's memory, that a writer increments after its commit while holding the file's
  lock (so increments are never lost and never seen before the data). A read costs well under a
  microsecond, and a change made through any process is seen by the next request in every process.
  Taking a fault rule with a count is one write transaction, so a ``count=1`` fault fires once in the
  whole center.
- ``SharedConnectionBudget`` counts connections per (listener, client, process); a connection is admitted
  in one write transaction only while the sum over every process is below the limit. The rows of a
  process are cleared when it starts and when it stops.
"""

from __future__ import annotations

import fcntl
import json
import mmap
import os
import sqlite3
import struct
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from mock_relay.faults import JST, CenterClock, FaultError, FaultRule, Faults, Maintenance
from mock_relay.private import owner_only_database, owner_only_file
from mock_relay.sqlite_tx import immediate_transaction

CONTROLS_FILE = "controls.sqlite"
VERSION_FILE = "controls.version"
_T = TypeVar("_T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS controls (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS connections (
  listener TEXT NOT NULL, client TEXT NOT NULL, pid INTEGER NOT NULL, held INTEGER NOT NULL,
  PRIMARY KEY (listener, client, pid));
"""


class SharedControls:
    """The controls file of one data directory, opened by one process."""

    def __init__(self, data_dir: Path) -> None:
        """Open (creating) ``<data_dir>/controls.sqlite``. Raises sqlite3.Error, OSError."""
        path = Path(data_dir) / CONTROLS_FILE
        owner_only_database(path)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=10)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        version_path = owner_only_file(Path(data_dir) / VERSION_FILE)
        self._version_fd = os.open(version_path, os.O_RDWR)
        if os.fstat(self._version_fd).st_size < 8:
            os.ftruncate(self._version_fd, 8)
        self._counter = mmap.mmap(self._version_fd, 8)
        self._version = -1
        self._values: dict[str, Any] = {}

    def close(self) -> None:
        """Close the connection and the counter."""
        with self._lock:
            self._db.close()
            self._counter.close()
            os.close(self._version_fd)

    def _changed(self) -> None:
        """Count a committed change (the caller holds the counter file's lock)."""
        self._counter[:8] = struct.pack("<Q", struct.unpack("<Q", self._counter[:8])[0] + 1)

    def reset(self) -> None:
        """Forget every control and connection count (the primary, at start: a restart clears them)."""
        with self.transaction(counted=True) as db:
            db.execute("DELETE FROM controls")
            db.execute("DELETE FROM connections")

    @contextmanager
    def transaction(self, *, counted: bool = False) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE … COMMIT under this object's lock; the cached values are dropped. ``counted``:
        a change of the controls, counted for every process's cache after the commit."""
        with self._lock:
            if counted:
                fcntl.flock(self._version_fd, fcntl.LOCK_EX)
            try:
                try:
                    with immediate_transaction(self._db) as db:
                        yield db
                finally:
                    self._values.clear()
                if counted:
                    self._changed()
            finally:
                if counted:
                    fcntl.flock(self._version_fd, fcntl.LOCK_UN)

    def get(self, name: str, default: Any) -> Any:
        """The JSON value of control ``name`` as last committed by any process (``default`` if unset)."""
        with self._lock:
            version = struct.unpack("<Q", self._counter[:8])[0]
            if version != self._version:
                self._values.clear()
                self._version = version
            if name not in self._values:
                row = self._db.execute("SELECT value FROM controls WHERE name=?", (name,)).fetchone()
                self._values[name] = default if row is None else json.loads(row[0])
            return self._values[name]

    def update(self, name: str, default: Any, change: Callable[[Any], tuple[Any, _T]]) -> _T:
        """Replace control ``name`` by ``change(current)[0]`` atomically; returns ``change(current)[1]``."""
        with self.transaction(counted=True) as db:
            row = db.execute("SELECT value FROM controls WHERE name=?", (name,)).fetchone()
            new, result = change(default if row is None else json.loads(row[0]))
            db.execute(
                "INSERT INTO controls (name, value) VALUES (?, ?)"
                " ON CONFLICT(name) DO UPDATE SET value=excluded.value",
                (name, json.dumps(new)),
            )
            return result


# --- faults ---------------------------------------------------------------------------------------------
def _rules(value: Any) -> list[FaultRule]:
    return [FaultRule(**r) for r in value]


class SharedFaults(Faults):
    """``Faults`` kept in the controls file: the same rules in every API process."""

    def __init__(self, controls: SharedControls) -> None:
        super().__init__()
        self._controls = controls

    def add(self, rule: FaultRule) -> FaultRule:
        """Install a rule; returns it with its id (unique across processes). Raises FaultError."""
        rule = rule.validate()

        def change(state: dict[str, Any]) -> tuple[dict[str, Any], FaultRule]:
            numbered = FaultRule(**{**rule.to_json(), "id": state["next_id"]})
            return {"next_id": state["next_id"] + 1, "rules": [*state["rules"], numbered.to_json()]}, numbered

        return self._controls.update("faults", _NO_FAULTS, change)

    def clear(self) -> None:
        """Remove every rule."""
        self._controls.update("faults", _NO_FAULTS, lambda s: ({**s, "rules": []}, None))

    def remove(self, rule_id: int) -> bool:
        """Remove one rule by id; False if there was none."""

        def change(state: dict[str, Any]) -> tuple[dict[str, Any], bool]:
            kept = [r for r in state["rules"] if r["id"] != rule_id]
            return {**state, "rules": kept}, len(kept) != len(state["rules"])

        return self._controls.update("faults", _NO_FAULTS, change)

    def rules(self) -> tuple[FaultRule, ...]:
        """The installed rules."""
        return tuple(_rules(self._controls.get("faults", _NO_FAULTS)["rules"]))

    def take(self, route: str, terminal: str | None, *, ocsp: bool = False) -> tuple[FaultRule, ...]:
        """The rules matching (route, terminal), each consumed once across every process."""
        if not _matching(self.rules(), route, terminal, ocsp):  # the usual case: no write
            return ()

        def change(state: dict[str, Any]) -> tuple[dict[str, Any], tuple[FaultRule, ...]]:
            local = Faults()
            local._rules = _rules(state["rules"])
            hit = local.take(route, terminal, ocsp=ocsp)
            return {**state, "rules": [r.to_json() for r in local.rules()]}, hit

        return self._controls.update("faults", _NO_FAULTS, change)


_NO_FAULTS: dict[str, Any] = {"next_id": 1, "rules": []}


def _matching(rules: tuple[FaultRule, ...], route: str, terminal: str | None, ocsp: bool) -> bool:
    return any(
        (r.kind == "ocsp_down") == ocsp
        and (ocsp or r.route in (None, route))
        and (ocsp or r.terminal in (None, terminal))
        for r in rules
    )


# --- clock and maintenance ------------------------------------------------------------------------------
class SharedClock(CenterClock):
    """``CenterClock`` kept in the controls file (an offset from real time, or a frozen instant)."""

    def __init__(self, controls: SharedControls, start: datetime | None = None) -> None:
        self._controls = controls
        super().__init__(start)

    def _state(self) -> tuple[timedelta, datetime | None]:
        value = self._controls.get("clock", {"offset_s": 0.0, "frozen": None})
        frozen = None if value["frozen"] is None else datetime.fromisoformat(value["frozen"])
        return timedelta(seconds=value["offset_s"]), frozen

    def now(self) -> datetime:
        """Aware datetime in JST."""
        offset, frozen = self._state()
        return frozen if frozen is not None else datetime.now(JST) + offset

    def set(self, at: datetime | None, *, frozen: bool = False) -> None:
        """Jump to ``at`` (then run on) or freeze there; None = real time. Raises FaultError if naive."""
        if at is not None and at.tzinfo is None:
            raise FaultError("the clock needs a time with an offset, e.g. 2026-12-01T10:00:00+09:00")
        if at is None:
            value: dict[str, Any] = {"offset_s": 0.0, "frozen": None}
        elif frozen:
            value = {"offset_s": 0.0, "frozen": at.astimezone(JST).isoformat()}
        else:
            value = {"offset_s": (at - datetime.now(JST)).total_seconds(), "frozen": None}
        self._controls.update("clock", None, lambda _: (value, None))

    def describe(self) -> dict[str, Any]:
        """JSON form: now, whether frozen, offset seconds."""
        offset, frozen = self._state()
        return {
            "now": self.now().isoformat(),
            "frozen": frozen is not None,
            "offset_s": offset.total_seconds(),
        }


class SharedMaintenance(Maintenance):
    """``Maintenance`` kept in the controls file."""

    def __init__(self, controls: SharedControls) -> None:
        super().__init__()
        self._controls = controls

    def _windows_now(self) -> list[tuple[datetime, datetime]]:
        return [
            (datetime.fromisoformat(s), datetime.fromisoformat(e))
            for s, e in self._controls.get("maintenance", [])
        ]

    def add(self, start: datetime, end: datetime) -> None:
        """Add a window. Raises FaultError if naive or empty."""
        if start.tzinfo is None or end.tzinfo is None or end <= start:
            raise FaultError("a maintenance window needs aware start < end")
        window = [start.isoformat(), end.isoformat()]
        self._controls.update("maintenance", [], lambda w: ([*w, window], None))

    def clear(self) -> None:
        """Remove every window."""
        self._controls.update("maintenance", [], lambda _: ([], None))

    def active(self, now: datetime) -> bool:
        """True if ``now`` falls inside a window."""
        return any(s <= now < e for s, e in self._windows_now())

    def windows(self) -> list[dict[str, str]]:
        """JSON form."""
        return [{"start": s.isoformat(), "end": e.isoformat()} for s, e in self._windows_now()]


# --- connections ----------------------------------------------------------------------------------------
class SharedConnectionBudget:
    """How many connections each client holds on one listener, summed over every API process."""

    def __init__(self, controls: SharedControls, listener: str, limit: int | None) -> None:
        self._controls = controls
        self._listener = listener
        self.limit = limit
        self._pid = os.getpid()
        with controls.transaction() as db:  # a process that held this pid before left its counts
            db.execute("DELETE FROM connections WHERE listener=? AND pid=?", (listener, self._pid))

    def admit(self, client: str) -> bool:
        """Count a new connection of ``client``; False (not counted) when it already holds the limit."""
        with self._controls.transaction() as db:
            if self.limit is not None:
                held = db.execute(
                    "SELECT COALESCE(SUM(held), 0) FROM connections WHERE listener=? AND client=?",
                    (self._listener, client),
                ).fetchone()[0]
                if held >= self.limit:
                    return False
            db.execute(
                "INSERT INTO connections (listener, client, pid, held) VALUES (?, ?, ?, 1)"
                " ON CONFLICT(listener, client, pid) DO UPDATE SET held = held + 1",
                (self._listener, client, self._pid),
            )
            return True

    def release(self, client: str) -> None:
        """A counted connection of ``client`` closed."""
        with self._controls.transaction() as db:
            db.execute(
                "UPDATE connections SET held = held - 1 WHERE listener=? AND client=? AND pid=?",
                (self._listener, client, self._pid),
            )
            db.execute("DELETE FROM connections WHERE held <= 0")

    def held(self, client: str) -> int:
        """Connections ``client`` holds now, in every process."""
        with self._controls.transaction() as db:
            row = db.execute(
                "SELECT COALESCE(SUM(held), 0) FROM connections WHERE listener=? AND client=?",
                (self._listener, client),
            ).fetchone()
            return int(row[0])

    def forget(self) -> None:
        """This process stops: its connections are no longer counted."""
        with self._controls.transaction() as db:
            db.execute("DELETE FROM connections WHERE listener=? AND pid=?", (self._listener, self._pid))
