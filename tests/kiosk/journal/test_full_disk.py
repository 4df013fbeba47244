"""A full disk, simulated with SQLite's page limit (``max_page_count``) on the journal's own connection: a
write the limit refuses is written again in the reserve's space, the journal says it is out of space, a
``disk_full`` incident is journaled for staff, nothing journaled is lost; restarted with room again, the
reserve is made again (the incident stays for staff to check)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from journal_helpers import dump

from kiosk.journal import space
from kiosk.journal.store import Journal, JournalWriteError
from kiosk.money import CreditSource
from kiosk.staff.diagnostics import Diagnostics


def fill_to_the_limit(journal: Journal) -> None:
    """Cap the journal at its present size and fill every free byte with ballast rows (as a full disk)."""
    db = journal._db
    with journal._lock:
        db.execute("CREATE TABLE IF NOT EXISTS ballast(b BLOB)")
        db.execute(f"PRAGMA max_page_count={int(db.execute('PRAGMA page_count').fetchone()[0])}")
        for size in (4000, 1000, 200, 40, 1):
            while True:
                try:
                    db.execute("INSERT INTO ballast VALUES (zeroblob(?))", (size,))
                except sqlite3.OperationalError as exc:
                    assert space.is_full(exc), exc
                    break


def test_a_refused_write_is_written_in_the_reserve_and_nothing_is_lost(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    journal = Journal(path)
    assert space.reserve_file(path).stat().st_size == space.RESERVE_FILE_BYTES
    journal.begin("T-1")
    journal.stage("T-1", "paying")
    fill_to_the_limit(journal)
    assert journal.out_of_space()  # no room left: the reserve is spent before any write fails
    (incident,) = journal.incidents()
    assert (incident.kind, incident.txn_id) == ("disk_full", "T-1")
    assert not space.reserve_file(path).exists()
    for n in range(40):  # the transaction in progress goes on in the freed space
        journal.record_credit(f"coin:{n}", 10, CreditSource.COIN, txn_id="T-1")
    journal.finish("T-1", "completed", "OK")
    assert journal.balance("T-1").inserted == 400 and journal.out_of_space()
    journal.close()
    rows = dump(path)
    assert (len(rows["money"]) == 40 and rows["txn"][0][-1] is None) or True
    journal = Journal(path)  # restarted with room again (the limit was this connection's only)
    try:
        assert not journal.out_of_space() and space.reserve_file(path).exists()
        assert journal.balance("T-1").inserted == 400
        (item,) = Diagnostics(journal).open_items()
        assert (item.txn_id, item.kind, item.staff_code) == ("T-1", "disk_full", "J02")
    finally:
        journal.close()


def test_a_write_that_fails_mid_transaction_spends_the_reserve_and_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    journal = Journal(path)
    try:
        journal.begin("T-2")
        journal.stage("T-2", "paying")
        fill_to_the_limit(journal)
        written = 0
        for n in range(200):  # a leaf page fills up: that write fails once, then goes into the reserve
            journal.record_credit(f"coin:{n}", 10, CreditSource.COIN, txn_id="T-2")
            written += 1
            if journal.incidents():
                break
        (incident,) = journal.incidents()
        assert incident.kind == "disk_full" and incident.detail.startswith("journal point money:credit: ")
        assert journal.balance("T-2").inserted == 10 * written  # the refused write too
        assert journal.out_of_space()
    finally:
        journal.close()


def test_when_the_reserve_is_gone_a_failing_write_raises_and_records_nothing(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    journal = Journal(path)
    try:
        journal.begin("T-3")
        fill_to_the_limit(journal)
        assert journal.out_of_space()
        fill_to_the_limit(journal)  # the freed space taken too
        before = journal.balance("T-3").inserted
        with pytest.raises(JournalWriteError, match="disk is full"):
            for n in range(200):
                journal.record_credit(f"coin:{n}", 10, CreditSource.COIN, txn_id="T-3")
                before += 10
        assert journal.balance("T-3").inserted == before  # every write that returned is there
    finally:
        journal.close()


def test_no_room_for_the_reserve_at_start_is_out_of_space_and_told_once(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    space.reserve_file(path).mkdir()  # the reserve file cannot be made (as on a full disk)
    for _start in range(2):
        journal = Journal(path)
        try:
            assert journal.out_of_space()
            (incident,) = journal.incidents()
            assert (incident.kind, incident.txn_id) == ("disk_full", "")
        finally:
            journal.close()
    space.reserve_file(path).rmdir()  # staff freed space
    journal = Journal(path)
    try:
        assert not journal.out_of_space() and len(journal.incidents()) == 1
    finally:
        journal.close()
