"""Upgrades keep the books: a newer kiosk migrates an older journal in place, in one transaction, keeping
every open item (money owed, results not yet reported, copies caught mid-print, the till), and recovers
them with the books balanced; an older kiosk refuses a newer journal with one line and leaves it as it
was. The fixtures are rebuilt by build_fixtures.py."""

from __future__ import annotations

import hashlib
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from build_fixtures import CURRENT, CURRENT_ORDERS, CURRENT_VERSION, PREVIOUS, PREVIOUS_VERSION, V1, V1_ORDERS
from journal_helpers import FixtureCenter, columns, copy_fixture, dump, user_version

from kiosk.app.cli import main
from kiosk.app.config import load_config
from kiosk.app.run import EXIT_DEVICES, _open_and_serve
from kiosk.flow.recovery import recover
from kiosk.journal import schema
from kiosk.journal.store import Journal, JournalTooNew, JournalWriteError
from kiosk.staff.diagnostics import Diagnostics, OpenItem

ROOT = Path(__file__).resolve().parents[3]
NEXT = CURRENT_VERSION + 1


def _add_note(db: sqlite3.Connection) -> None:
    """The next schema version, as a test registers it: a column on txn and a table."""
    db.execute("ALTER TABLE txn ADD COLUMN note TEXT")
    db.execute("CREATE TABLE IF NOT EXISTS note_log(txn_id TEXT NOT NULL, note TEXT NOT NULL)")


def _items(diag: Diagnostics) -> set[tuple[str, str, int]]:
    return {(i.txn_id, i.item, i.yen) for i in diag.open_items()}


def _balanced(journal: Journal) -> None:
    diag = Diagnostics(journal)
    for txn in journal.transactions():
        assert diag.books(txn.id).balanced, (txn.id, diag.books(txn.id))


def test_this_release_writes_the_schema_the_fixture_is_named_for() -> None:
    assert schema.latest() == CURRENT_VERSION, "a new schema version: add a fixture of the previous one"
    assert user_version(CURRENT) == CURRENT_VERSION and user_version(V1) == 0
    assert user_version(PREVIOUS) == PREVIOUS_VERSION == CURRENT_VERSION - 1


def test_the_previous_release_s_journal_migrates_keeping_every_record(tmp_path: Path) -> None:
    """Schema 8 → 9: every record as it was, the staff passcode guard's row not yet written."""
    path = copy_fixture(PREVIOUS.name, tmp_path)
    before = dump(path)
    journal = Journal(path)
    try:
        assert (journal.schema_found, journal.schema) == (PREVIOUS_VERSION, CURRENT_VERSION)
        after = dump(path)
        assert after.pop("staff_passcode") == [] and after == before
        assert journal.passcode_state() is None
        assert _items(Diagnostics(journal)) == {("T-OWED", "owed", 200)}
        assert journal.cash_state().taking == "T-PAYING"
    finally:
        journal.close()


def test_the_next_version_migrates_this_release_s_journal_and_recovers_its_open_items(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = copy_fixture(CURRENT.name, tmp_path)
    before = dump(path)
    keys = {(t, n): k for t, n, k in before["idem"]}
    monkeypatch.setitem(schema.MIGRATIONS, NEXT, _add_note)
    journal = Journal(path)
    try:
        assert (journal.schema_found, journal.schema) == (CURRENT_VERSION, NEXT)
        assert "note" in columns(path, "txn")
        after = dump(path)
        after["txn"] = sorted((row[:-1] for row in after["txn"]), key=repr)  # the new column, NULL
        assert after.pop("note_log") == []
        assert after == before  # every record, as it was
        diag = Diagnostics(journal)
        assert _items(diag) == {("T-OWED", "owed", 200)}
        assert journal.cash_state().taking == "T-PAYING"
        center = FixtureCenter(dict(CURRENT_ORDERS))
        done = {r.txn_id: r for r in recover(journal, center)}
        assert {t: (r.action, r.refund_owed, r.staff_code) for t, r in done.items()} == {
            "T-REPORT": ("reported", 0, "RC1"),
            "T-PRINT": ("reported", 300, "RC2"),  # copy 2 stopped at page 1 of 2: its fee is owed back
            "T-PAYING": ("cancelled", 100, "RC2"),
        }
        outcomes, key = center.reports["O-REPORT"]
        assert key == keys[("T-REPORT", "report")]  # the same idempotency key as before the upgrade
        assert [(o.document_id, o.printed) for o in outcomes] == [("D-REPORT-0", True)]
        outcomes, _key = center.reports["O-PRINT"]
        assert [(o.document_id, o.printed, o.pages_printed) for o in outcomes] == [
            ("D-PRINT-0", True, None),
            ("D-PRINT-1", False, 1),
        ]
        assert center.cancelled == [("S-PAYING", journal.key("T-PAYING", "cancel"))]
        assert journal.transactions(unfinished_only=True) == [] and journal.cash_state().taking == ""
        _balanced(journal)
        assert _items(diag) == {
            ("T-OWED", "owed", 200),
            ("T-PRINT", "owed", 300),
            ("T-PRINT", "print:D-PRINT-1", 1),
            ("T-PAYING", "owed", 100),
        }
        assert [(s.slot.address, s.stock) for s in diag.hopper_stock()][:1] == [(3, 50 - 5 - 2)]
    finally:
        journal.close()


def test_the_first_journal_migrates_forward_and_recovers(tmp_path: Path) -> None:
    path = copy_fixture(V1.name, tmp_path)
    before = dump(path)
    journal = Journal(path)
    try:
        assert (journal.schema_found, journal.schema) == (0, CURRENT_VERSION)
        assert user_version(path) == CURRENT_VERSION
        for table, rows in before.items():
            names = columns(path, table)[: len(rows[0])] if rows else []
            assert (
                sorted(
                    journal._db.execute(f"SELECT {', '.join(names) or '*'} FROM {table}").fetchall(), key=repr
                )
                == rows
            ), table
        (owed,) = [t for t in journal.transactions() if t.finished]
        assert (owed.id, owed.cert_type, owed.refund_owed) == ("T1-OWED", None, 200)
        center = FixtureCenter(dict(V1_ORDERS))
        done = {r.txn_id: (r.action, r.refund_owed) for r in recover(journal, center)}
        assert done == {"T1-PRINT": ("reported", 300), "T1-REPORT": ("reported", 0)}
        assert center.reports["O-1-REPORT"][1] == "T1-REPORT:report"  # the key the old kiosk made
        _balanced(journal)
        assert _items(Diagnostics(journal)) == {
            ("T1-OWED", "owed", 200),
            ("T1-PRINT", "owed", 300),
            ("T1-PRINT", "print:D1-PRINT", 1),
        }
        journal.begin("T-NEW")  # and it goes on as a journal of this release
        journal.stage("T-NEW", "paying")
        assert journal.cash_state().taking == "T-NEW"
    finally:
        journal.close()


def test_a_crash_mid_migration_leaves_the_old_version_intact(tmp_path: Path) -> None:
    path = copy_fixture(CURRENT.name, tmp_path)
    Journal(path).close()  # as the running release left it (its reserve made)
    before = dump(path)
    child = (
        "import os, sys\n"
        "from pathlib import Path\n"
        "from kiosk.journal import schema\n"
        "from kiosk.journal.store import Journal\n"
        "def crash(db):\n"
        "    db.execute('ALTER TABLE txn ADD COLUMN note TEXT')\n"
        "    db.execute('CREATE TABLE note_log(x)')\n"
        "    db.execute('UPDATE txn SET refund_owed = 0')\n"
        "    os._exit(9)\n"
        f"schema.MIGRATIONS[{NEXT}] = crash\n"
        "Journal(Path(sys.argv[1]))\n"
    )
    run = subprocess.run([sys.executable, "-c", child, str(path)], cwd=ROOT, capture_output=True, timeout=60)
    assert run.returncode == 9, run.stderr
    assert user_version(path) == CURRENT_VERSION
    assert "note" not in columns(path, "txn") and "note_log" not in dump(path)
    assert dump(path) == before
    journal = Journal(path)  # this release opens it as it was
    try:
        assert journal.schema == CURRENT_VERSION and journal.transaction("T-OWED").refund_owed == 200  # type: ignore[union-attr]
    finally:
        journal.close()


def test_a_failing_migration_changes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = copy_fixture(CURRENT.name, tmp_path)
    Journal(path).close()
    before = dump(path)

    def broken(db: sqlite3.Connection) -> None:
        _add_note(db)
        db.execute("INSERT INTO no_such_table VALUES (1)")

    monkeypatch.setitem(schema.MIGRATIONS, NEXT, broken)
    with pytest.raises(JournalWriteError, match=f"migration to schema {NEXT} failed: no such table"):
        Journal(path)
    assert user_version(path) == CURRENT_VERSION and dump(path) == before


def _newer(tmp_path: Path) -> tuple[Path, str]:
    path = copy_fixture(CURRENT.name, tmp_path / "var")
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version={NEXT}")
    db.commit()
    db.close()
    return path, hashlib.sha256(path.read_bytes()).hexdigest()


def _untouched(path: Path, digest: str) -> None:
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest
    written = {p.name for p in path.parent.iterdir()} - {"journal.sqlite", "journal.sqlite.lock"}
    assert written == set()  # no log, no reserve: nothing beside it either


def test_an_older_kiosk_refuses_a_newer_journal_and_leaves_it_as_it_was(tmp_path: Path) -> None:
    path, digest = _newer(tmp_path)
    with pytest.raises(JournalTooNew) as caught:
        Journal(path)
    assert str(caught.value) == (
        f"journal {path}: journal schema {NEXT} is newer than this kiosk ({CURRENT_VERSION}):"
        " upgrade the kiosk"
    )
    _untouched(path, digest)


def test_kiosk_diag_says_so_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path, digest = _newer(tmp_path)
    assert main(["diag", "--journal", str(path)]) == 2
    out = capsys.readouterr()
    assert out.out == ""
    assert out.err == (
        f"kiosk: journal {path}: journal schema {NEXT} is newer than this kiosk ({CURRENT_VERSION}):"
        " upgrade the kiosk\n"
    )
    _untouched(path, digest)


def test_kiosk_run_refuses_it_with_exit_3(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path, digest = _newer(tmp_path)
    toml = tmp_path / "kiosk.toml"
    toml.write_text(
        'journal = "var/journal.sqlite"\n[center]\nurl = "https://127.0.0.1:1"\n'
        'terminal_cert = "t.pem"\nterminal_key = "t.key"\nca = "ca.pem"\n'
        '[jpki]\nca_bundle = "ca.pem"\n[cash]\nport = "/dev/null"\n[printer]\nuri = "ipp://127.0.0.1/ipp/print"\n',
        encoding="utf-8",
    )
    config = load_config(toml, check_certificates=False)
    assert config.journal == path
    assert _open_and_serve(config, True, threading.Event()) == EXIT_DEVICES == 3
    err = capsys.readouterr().err
    assert err == (
        f"kiosk: cannot open: journal {path}: journal schema {NEXT} is newer than this kiosk"
        f" ({CURRENT_VERSION}): upgrade the kiosk\n"
    )
    _untouched(path, digest)


def test_open_items_name_their_kind(tmp_path: Path) -> None:
    """The fixture's open item is the kind staff settle (a guard on what the other tests compare)."""
    journal = Journal(copy_fixture(CURRENT.name, tmp_path))
    try:
        (item,) = Diagnostics(journal).open_items()
        assert isinstance(item, OpenItem) and (item.kind, item.staff_code, item.money) == (
            "owed",
            "M02",
            True,
        )
    finally:
        journal.close()
