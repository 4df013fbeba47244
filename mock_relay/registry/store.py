"""The municipalities' resident register: SQLite (WAL), seeded with the synthetic data set on first use.

Public API (stable):
    Registry(db_path, *, seed=True, clock=None)
    .municipalities() -> tuple[Municipality, ...]        .municipality(code) -> Municipality | None
    .residents(municipality_code=None) -> tuple[Resident, ...]   .resident(resident_id) -> Resident | None
    .household(household_id) -> tuple[Resident, ...]     (all records, register order, removed ones included)
    .koseki_members(koseki_id) -> tuple[Resident, ...]
    .bind_card(resident_id, cert_serial_hash, auth_serial_hex) -> None
    .resident_for_cert(cert_serial_hash) -> Resident | None
    .record_issue(resident_id, cert_type, when) -> None
    .notes(resident, now=None) -> list[str]
    .close() -> None
One connection guarded by a lock, so a Registry may be shared by threads.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar

from mock_relay.model import JST, CertType, Municipality, Resident, ResidentStatus, SealStatus
from mock_relay.private import owner_only_database
from mock_relay.registry import codec, seed
from mock_relay.sqlite_tx import BackgroundCheckpoints, immediate_transaction

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS municipalities (code TEXT PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS residents (
    id TEXT PRIMARY KEY, ord INTEGER NOT NULL, municipality_code TEXT NOT NULL, household_id TEXT NOT NULL,
    koseki_id TEXT, data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS residents_household ON residents (household_id);
CREATE INDEX IF NOT EXISTS residents_koseki ON residents (koseki_id);
CREATE TABLE IF NOT EXISTS seals (
    resident_id TEXT PRIMARY KEY REFERENCES residents(id), status TEXT NOT NULL, number TEXT,
    registered_on TEXT, impression TEXT);
CREATE TABLE IF NOT EXISTS tax_records (
    resident_id TEXT NOT NULL REFERENCES residents(id), fiscal_year INTEGER NOT NULL,
    income_yen INTEGER NOT NULL, taxable INTEGER NOT NULL, tax_yen INTEGER NOT NULL,
    paid_yen INTEGER NOT NULL,
    PRIMARY KEY (resident_id, fiscal_year));
CREATE TABLE IF NOT EXISTS card_bindings (
    cert_serial_hash TEXT PRIMARY KEY, resident_id TEXT NOT NULL REFERENCES residents(id),
    auth_serial_hex TEXT NOT NULL, bound_at TEXT NOT NULL, form TEXT NOT NULL DEFAULT 'card');
CREATE TABLE IF NOT EXISTS issues (
    id INTEGER PRIMARY KEY AUTOINCREMENT, resident_id TEXT NOT NULL REFERENCES residents(id),
    cert_type TEXT NOT NULL, issued_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS issues_resident ON issues (resident_id, cert_type);
CREATE TABLE IF NOT EXISTS changes (seq INTEGER PRIMARY KEY AUTOINCREMENT, resident_id TEXT);
"""
_KEEP_CHANGES = 10000  # rows of the change log kept (a reader further behind forgets everything)
_T = TypeVar("_T")
_HASH_RE = re.compile(r"^[0-9a-f]{64}$")
_SERIAL_RE = re.compile(r"^[0-9A-Fa-f]{1,40}$")


class Registry:
    """SQLite-backed register; creates its schema and seeds the synthetic data set idempotently."""

    def __init__(
        self,
        db_path: Path | str,
        *,
        seed: bool = True,
        clock: Callable[[], datetime] | None = None,
        background_checkpoints: bool = False,
    ) -> None:
        """Open (create) the database at ``db_path``; with ``background_checkpoints`` (a serving center) its
        WAL checkpoints run in a thread of their own, not inside a COMMIT (``sqlite_tx``).

        Raises:
            sqlite3.Error: the file is not a database.
            OSError: the file cannot be created or its permissions set.
        """
        self._lock = threading.RLock()
        self._clock = clock or (lambda: datetime.now(JST))
        # Reads are cached (records are frozen) until a write: this connection's own commits clear the
        # cache, another connection's (another API process, a CLI on the same file) show in ``PRAGMA
        # data_version``. Each write logs what it changed in ``changes``: a resident's issue (every
        # transaction's result report) forgets only what holds that resident; anything else, or a write
        # that logged nothing, forgets everything.
        self._cache: dict[tuple[str, str | None], Any] = {}
        self._data_version = -1
        self._seen_change = -1
        self._checkpoints: BackgroundCheckpoints | None = None
        if str(db_path) != ":memory:":
            owner_only_database(Path(db_path))  # personal data: never readable by others
        self._conn = sqlite3.connect(str(db_path), check_same_thread=False, isolation_level=None, timeout=10)
        self._conn.row_factory = sqlite3.Row
        try:
            with self._lock:
                self._conn.execute("PRAGMA journal_mode=WAL")
                self._conn.execute("PRAGMA synchronous=NORMAL")
                self._conn.execute("PRAGMA foreign_keys=ON")
                if background_checkpoints and str(db_path) != ":memory:":
                    self._checkpoints = BackgroundCheckpoints.take_over(self._conn, Path(db_path))
                self._conn.executescript(_SCHEMA)
                columns = {r["name"] for r in self._conn.execute("PRAGMA table_info(card_bindings)")}
                if "form" not in columns:  # a register from before smartphones: every binding is a card
                    self._conn.execute(
                        "ALTER TABLE card_bindings ADD COLUMN form TEXT NOT NULL DEFAULT 'card'"
                    )
            if seed:
                self._seed(self._clock())
        except BaseException:
            if self._checkpoints is not None:
                self._checkpoints.stop()
            self._conn.close()
            raise

    # --- plumbing -------------------------------------------------------------------------------------
    @contextmanager
    def transaction(self, *, issue_of: str | None = None) -> Iterator[sqlite3.Connection]:
        """The connection inside BEGIN IMMEDIATE … COMMIT (ROLLBACK on error), under the lock. The change
        is logged for other connections' caches: as an issue to resident ``issue_of`` (the only change),
        else as "anything may have changed"."""
        with self._lock:
            try:
                with immediate_transaction(self._conn) as db:
                    yield db
                    cur = db.execute("INSERT INTO changes (resident_id) VALUES (?)", (issue_of,))
                    if cur.lastrowid is not None and cur.lastrowid % 1000 == 0:
                        db.execute("DELETE FROM changes WHERE seq <= ?", (cur.lastrowid - _KEEP_CHANGES,))
            except BaseException:
                self._cache.clear()
                raise
            if issue_of is None:
                self._cache.clear()
            else:
                self._forget_resident(issue_of)

    def _forget_resident(self, resident_id: str) -> None:
        """Drop every cached answer that holds ``resident_id``'s record."""
        for cache_key, value in list(self._cache.items()):
            records = value if isinstance(value, tuple) else (value,)
            if any(isinstance(r, Resident) and r.id == resident_id for r in records):
                del self._cache[cache_key]

    def _catch_up(self) -> None:
        """Apply what other connections changed since this one last looked (under the lock)."""
        rows = self._conn.execute(
            "SELECT seq, resident_id FROM changes WHERE seq > ? ORDER BY seq", (self._seen_change,)
        ).fetchall()
        first = self._conn.execute("SELECT MIN(seq) FROM changes").fetchone()[0]
        selective = (
            rows
            and self._seen_change >= 0
            and first is not None
            and first <= self._seen_change + 1
            and all(r["resident_id"] is not None for r in rows)
        )
        if selective:
            for r in rows:
                self._forget_resident(str(r["resident_id"]))
        else:  # another kind of change, a write that logged nothing, or too far behind
            self._cache.clear()
        if rows:
            self._seen_change = int(rows[-1]["seq"])
        elif self._seen_change < 0:
            last = self._conn.execute("SELECT MAX(seq) FROM changes").fetchone()[0]
            self._seen_change = int(last or 0)

    def _cached(self, kind: str, key: str | None, load: Callable[[], _T]) -> _T:
        """``load()``'s answer, kept until the register changes (by this object or another connection)."""
        with self._lock:
            version = int(self._conn.execute("PRAGMA data_version").fetchone()[0])
            if version != self._data_version:
                self._catch_up()
                self._data_version = version
            try:
                value: _T = self._cache[(kind, key)]
            except KeyError:
                value = self._cache[(kind, key)] = load()
            return value

    def _query(self, sql: str, params: tuple[object, ...] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return list(self._conn.execute(sql, params))

    def close(self) -> None:
        """Stop the background checkpoints, if any, and close the database connection."""
        if self._checkpoints is not None:
            self._checkpoints.stop()
        with self._lock:
            self._conn.close()

    def meta(self, key: str) -> str | None:
        """A value of the meta table (e.g. ``seed_version``)."""
        rows = self._query("SELECT value FROM meta WHERE key = ?", (key,))
        return str(rows[0]["value"]) if rows else None

    # --- the synthetic data set -----------------------------------------------------------------------
    def _seed(self, now: datetime) -> None:
        """Load the data set unless this version is already there; then make sure the "issued today"
        cases are. Idempotent: INSERT OR IGNORE in one transaction, marked by ``meta.seed_version``.

        Raises:
            sqlite3.Error: the database cannot be written.
        """
        if self.meta("seed_version") != seed.SEED_VERSION:
            with self.transaction() as conn:
                for m in seed.municipalities():
                    self.insert_municipality(conn, m)
                for ord_, r in enumerate(seed.residents()):
                    self.insert_resident(conn, ord_, r)
                conn.execute("INSERT OR REPLACE INTO meta VALUES ('seed_version', ?)", (seed.SEED_VERSION,))
            log.info("seeded the resident register (%s)", seed.SEED_VERSION)
        today = now.astimezone(JST).date()
        for rid, cert_type in seed.ISSUED_TODAY:
            resident = self.resident(rid)
            last = resident.last_issued.get(cert_type) if resident else None
            if resident is not None and (last is None or last.date() != today):
                self.record_issue(rid, cert_type, now)

    def insert_municipality(self, conn: sqlite3.Connection, municipality: Municipality) -> None:
        """Insert (or keep) one municipality inside ``transaction()``."""
        conn.execute(
            "INSERT OR IGNORE INTO municipalities (code, data) VALUES (?, ?)",
            (municipality.code, codec.dump_municipality(municipality)),
        )

    def insert_resident(self, conn: sqlite3.Connection, ord_: int, resident: Resident) -> None:
        """Insert (or keep) one resident with their seal and tax rows inside ``transaction()``."""
        koseki_id = resident.koseki.koseki_id if resident.koseki else None
        conn.execute(
            "INSERT OR IGNORE INTO residents (id, ord, municipality_code, household_id, koseki_id, data)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (
                resident.id,
                ord_,
                resident.municipality_code,
                resident.household_id,
                koseki_id,
                codec.dump_resident(resident),
            ),
        )
        seal = resident.seal
        conn.execute(
            "INSERT OR IGNORE INTO seals (resident_id, status, number, registered_on, impression)"
            " VALUES (?, ?, ?, ?, ?)",
            (resident.id, seal.status.value, seal.number, codec.iso(seal.registered_on), seal.impression),
        )
        for t in resident.tax:
            conn.execute(
                "INSERT OR IGNORE INTO tax_records VALUES (?, ?, ?, ?, ?, ?)",
                (resident.id, t.fiscal_year, t.income_yen, int(t.taxable), t.tax_yen, t.paid_yen),
            )

    # --- reads ----------------------------------------------------------------------------------------
    def municipalities(self) -> tuple[Municipality, ...]:
        """All municipalities, by code."""
        return self._cached("municipalities", None, self._municipalities)

    def _municipalities(self) -> tuple[Municipality, ...]:
        rows = self._query("SELECT data FROM municipalities ORDER BY code")
        return tuple(codec.load_municipality(r["data"]) for r in rows)

    def municipality(self, code: str) -> Municipality | None:
        """The municipality with 団体コード ``code`` or None."""
        return self._cached("municipality", code, lambda: self._municipality(code))

    def _municipality(self, code: str) -> Municipality | None:
        rows = self._query("SELECT data FROM municipalities WHERE code = ?", (code,))
        return codec.load_municipality(rows[0]["data"]) if rows else None

    def residents(self, municipality_code: str | None = None) -> tuple[Resident, ...]:
        """All residents (optionally of one municipality), register order."""
        return self._cached("residents", municipality_code, lambda: self._residents(municipality_code))

    def _residents(self, municipality_code: str | None) -> tuple[Resident, ...]:
        if municipality_code is None:
            rows = self._query("SELECT id, data FROM residents ORDER BY ord")
        else:
            sql = "SELECT id, data FROM residents WHERE municipality_code = ? ORDER BY ord"
            rows = self._query(sql, (municipality_code,))
        return tuple(self._load(r) for r in rows)

    def resident(self, resident_id: str) -> Resident | None:
        """The resident with ``resident_id`` or None."""
        return self._cached("resident", resident_id, lambda: self._resident(resident_id))

    def _resident(self, resident_id: str) -> Resident | None:
        rows = self._query("SELECT id, data FROM residents WHERE id = ?", (resident_id,))
        return self._load(rows[0]) if rows else None

    def household(self, household_id: str) -> tuple[Resident, ...]:
        """Every record of the household (removed ones too; rules filter), register order."""
        return self._cached("household", household_id, lambda: self._household(household_id))

    def _household(self, household_id: str) -> tuple[Resident, ...]:
        sql = "SELECT id, data FROM residents WHERE household_id = ? ORDER BY ord"
        rows = self._query(sql, (household_id,))
        return tuple(self._load(r) for r in rows)

    def koseki_members(self, koseki_id: str) -> tuple[Resident, ...]:
        """Everyone in the 戸籍 ``koseki_id``, register order."""
        return self._cached("koseki", koseki_id, lambda: self._koseki_members(koseki_id))

    def _koseki_members(self, koseki_id: str) -> tuple[Resident, ...]:
        rows = self._query("SELECT id, data FROM residents WHERE koseki_id = ? ORDER BY ord", (koseki_id,))
        return tuple(self._load(r) for r in rows)

    def _load(self, row: sqlite3.Row) -> Resident:
        rid = str(row["id"])
        seal_rows = self._query("SELECT * FROM seals WHERE resident_id = ?", (rid,))
        tax_rows = self._query("SELECT * FROM tax_records WHERE resident_id = ? ORDER BY fiscal_year", (rid,))
        issue_rows = self._query(
            "SELECT cert_type, MAX(issued_at) AS last FROM issues WHERE resident_id = ? GROUP BY cert_type",
            (rid,),
        )
        last = {
            CertType(r["cert_type"]): datetime.fromisoformat(r["last"]).astimezone(JST) for r in issue_rows
        }
        return codec.load_resident(
            row["data"],
            seal=codec.load_seal(seal_rows[0]) if seal_rows else None,
            tax=tuple(codec.load_tax(r) for r in tax_rows),
            last_issued=MappingProxyType(last),
        )

    # --- cards and issues -----------------------------------------------------------------------------
    def bind_card(
        self, resident_id: str, cert_serial_hash: str, auth_serial_hex: str, *, form: str = "card"
    ) -> None:
        """Map a user-authentication certificate (by serial hash) to a resident, with what holds it
        (``card``, ``android``, ``iphone``: J-LIS knows which certificates it issued to phones). Idempotent.

        Raises:
            KeyError: unknown resident.
            ValueError: malformed hash/serial, or the hash is already bound to another resident.
        """
        if not _HASH_RE.match(cert_serial_hash):
            raise ValueError("cert_serial_hash must be 64 lower-case hex digits")
        if not _SERIAL_RE.match(auth_serial_hex):
            raise ValueError("auth_serial_hex must be 1..40 hex digits")
        with self.transaction(issue_of=resident_id) as conn:
            if conn.execute("SELECT 1 FROM residents WHERE id = ?", (resident_id,)).fetchone() is None:
                raise KeyError(resident_id)
            row = conn.execute(
                "SELECT resident_id FROM card_bindings WHERE cert_serial_hash = ?", (cert_serial_hash,)
            ).fetchone()
            if row is not None:
                if row["resident_id"] != resident_id:
                    raise ValueError("this certificate is already bound to another resident")
                return
            conn.execute(
                "INSERT INTO card_bindings VALUES (?, ?, ?, ?, ?)",
                (
                    cert_serial_hash,
                    resident_id,
                    auth_serial_hex.upper(),
                    self._clock().astimezone(UTC).isoformat(),
                    form,
                ),
            )
        log.info("bound a card to resident %s", resident_id)

    def resident_for_cert(self, cert_serial_hash: str) -> Resident | None:
        """The resident bound to ``cert_serial_hash`` or None."""
        sql = "SELECT resident_id FROM card_bindings WHERE cert_serial_hash = ?"
        rows = self._cached("binding", cert_serial_hash, lambda: self._query(sql, (cert_serial_hash,)))
        return self.resident(str(rows[0]["resident_id"])) if rows else None

    def register_honseki(self, resident_id: str, usable_from: date) -> Resident:
        """Record a 本籍地 利用登録: the resident's 戸籍 can be issued at kiosks from ``usable_from``.

        Raises:
            KeyError: unknown resident.
            ValueError: the resident has no 戸籍 entry.
        """
        resident = self.resident(resident_id)
        if resident is None:
            raise KeyError(resident_id)
        if resident.koseki is None:
            raise ValueError(f"{resident_id} has no 戸籍")
        koseki = dataclasses.replace(resident.koseki, registration_date=usable_from)
        updated = dataclasses.replace(resident, koseki=koseki)
        with self.transaction() as conn:
            conn.execute(
                "UPDATE residents SET data = ? WHERE id = ?", (codec.dump_resident(updated), resident_id)
            )
        log.info("本籍地 利用登録 of %s, usable from %s", resident_id, usable_from.isoformat())
        return updated

    def form_of_cert(self, cert_serial_hash: str) -> str:
        """What holds the certificate bound under ``cert_serial_hash``: ``card`` (also for one not bound),
        ``android`` or ``iphone``."""
        sql = "SELECT form FROM card_bindings WHERE cert_serial_hash = ?"
        rows = self._cached("form", cert_serial_hash, lambda: self._query(sql, (cert_serial_hash,)))
        return str(rows[0]["form"]) if rows else "card"

    def record_issue(self, resident_id: str, cert_type: CertType, when: datetime) -> None:
        """Remember that ``cert_type`` was issued to ``resident_id`` at ``when`` (for ``issued_today``).

        Raises:
            KeyError: unknown resident.
            ValueError: ``when`` is naive.
        """
        if when.tzinfo is None:
            raise ValueError("when must be timezone-aware")
        with self.transaction(issue_of=resident_id) as conn:
            if conn.execute("SELECT 1 FROM residents WHERE id = ?", (resident_id,)).fetchone() is None:
                raise KeyError(resident_id)
            conn.execute(
                "INSERT INTO issues (resident_id, cert_type, issued_at) VALUES (?, ?, ?)",
                (resident_id, CertType(cert_type).value, when.astimezone(UTC).isoformat()),
            )

    def notes(self, resident: Resident, now: datetime | None = None) -> list[str]:
        """Short notes on the cases this resident exercises (listings), e.g. ["under 15", "支援措置"]."""
        today = (now or self._clock()).astimezone(JST).date()
        notes = codec.notes_for(resident, today, self._honseki_label(resident))
        others = [m for m in self.household(resident.household_id) if m.id != resident.id]
        if any(m.status is ResidentStatus.MOVED_OUT and (m.status_date or today) > today for m in others):
            notes.append("household move-out pending")
        return notes

    def _honseki_label(self, resident: Resident) -> str | None:
        if resident.koseki is None or resident.koseki.municipality_code == resident.municipality_code:
            return None
        other = self.municipality(resident.koseki.municipality_code)
        return other.name if other else f"{resident.koseki.municipality_code} (not participating)"


def issued_on(resident: Resident, cert_type: CertType, day: date) -> bool:
    """True when ``cert_type`` was last issued to ``resident`` on JST ``day``."""
    last = resident.last_issued.get(cert_type)
    return last is not None and last.astimezone(JST).date() == day


__all__ = ["Registry", "ResidentStatus", "SealStatus", "issued_on"]
