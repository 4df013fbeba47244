"""A full disk through the real flow (fakes at the seams): filled to its limit (SQLite's page limit on the
journal's connection, every free byte taken) on the start screen, the kiosk starts no resident (call
staff, J02) and takes no money; filled on the pay screen with coins in, the transaction in progress
(10-yen coins, then a 500-yen coin) finishes in the reserve's space with the books balanced and nothing
journaled lost, then no new resident starts; filled before paying, the transaction ends before the
acceptors open. Staff see the incident."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from flow_fakes import build_kiosk

from kiosk.flow import events as ev
from kiosk.flow.view import Screen
from kiosk.journal.store import Journal
from kiosk.staff.diagnostics import Diagnostics


def _small_pages(tmp_path: Path) -> None:
    """The journal with 512-byte pages: each table's pages fill after a few rows, so a transaction's
    writes need new pages soon after the disk is full."""
    db = sqlite3.connect(tmp_path / "journal.sqlite")
    db.execute("PRAGMA page_size=512")
    db.execute("VACUUM")
    db.close()


def _fill(journal: Journal) -> None:
    """Cap the journal at its present size and fill every free byte with ballast (as a full disk)."""
    db = journal._db
    with journal._lock:
        db.execute("CREATE TABLE IF NOT EXISTS ballast(b BLOB)")
        db.execute(f"PRAGMA max_page_count={int(db.execute('PRAGMA page_count').fetchone()[0])}")
        for size in (4000, 400, 40, 1):
            while True:
                try:
                    db.execute("INSERT INTO ballast VALUES (zeroblob(?))", (size,))
                except sqlite3.OperationalError:
                    break


def _rows(journal: Journal, table: str) -> set[tuple[object, ...]]:
    return set(journal._db.execute(f"SELECT * FROM {table}").fetchall())


def test_on_the_start_screen_no_resident_starts(tmp_path: Path) -> None:
    k, _ = build_kiosk(tmp_path)
    _fill(k.journal)
    k.post(ev.Start("ja"))
    view = k.flow.view
    assert view.screen is Screen.FAILED and view.outcome is not None
    assert (view.outcome.reason, view.outcome.staff_code, view.message_key) == (
        "journal_full",
        "J02",
        "call_staff",
    )
    assert k.journal.transactions() == [] and k.cash.due == 0 and not k.cash.accepting
    diag = Diagnostics(k.journal)
    (item,) = diag.open_items()
    assert (item.txn_id, item.kind, item.staff_code) == ("", "disk_full", "J02")
    k.post(ev.Finish())
    assert k.flow.view.screen is Screen.ATTRACT
    k.post(ev.Start("ja"))  # still out of space: still out of service
    assert k.flow.view.screen is Screen.FAILED and k.journal.transactions() == []
    assert diag.check("", item.item, staff_id="017").kind == "checked"  # staff saw it
    assert diag.open_items() == []


def test_on_the_pay_screen_the_transaction_finishes_and_nothing_is_lost(tmp_path: Path) -> None:
    _small_pages(tmp_path)
    k, _ = build_kiosk(tmp_path)
    k.to_pay()
    assert k.flow.view.screen is Screen.PAY
    txn = k.flow.transaction_id
    assert txn is not None
    k.cash.insert(100)
    before = {t: _rows(k.journal, t) for t in ("txn", "money", "document", "idem", "cash_till")}
    _fill(k.journal)
    for _coin in range(19):  # 10-yen coins: the money table's page fills, a credit is refused once
        k.cash.insert(10)
        assert k.flow.view.screen is Screen.PAY
    k.cash.insert(500)  # the fee (300) is covered: change, the payment, the copy, the report
    view = k.flow.view
    assert view.screen is Screen.DONE and view.outcome is not None, view
    assert (view.outcome.reason, view.outcome.staff_code) == ("completed", "OK")
    (incident,) = k.journal.incidents()
    assert (incident.kind, incident.txn_id) == ("disk_full", txn)  # a write of this transaction was refused
    assert incident.detail.startswith("journal point money:credit: database or disk is full")
    balance = k.journal.balance(txn)
    assert (balance.inserted, balance.change, balance.printed_fees, balance.refund_owed) == (790, 490, 300, 0)
    assert Diagnostics(k.journal).books(txn).balanced
    record = k.journal.transaction(txn)
    assert record is not None and record.finished and record.report_status == "reported"
    for table in ("money", "document", "idem"):  # every record journaled before the disk filled is there
        assert {r[0] for r in before[table]} <= {r[0] for r in _rows(k.journal, table)}, table
    assert len(_rows(k.journal, "money")) == 1 + 19 + 1 + 1  # every coin and the change
    assert k.center.payments == [(790, 490)]
    k.post(ev.Finish())
    k.post(ev.Start("ja"))  # and no next resident
    assert k.flow.view.screen is Screen.FAILED and k.flow.view.outcome is not None
    assert k.flow.view.outcome.staff_code == "J02"
    assert [t.id for t in k.journal.transactions()] == [txn]
    assert {i.kind for i in Diagnostics(k.journal).open_items()} == {"disk_full"}


def test_before_paying_the_transaction_ends_before_the_acceptors_open(tmp_path: Path) -> None:
    k, _ = build_kiosk(tmp_path)
    k.to_pin()
    k.post(ev.PinEntered("1234"), ev.CardRemoved(), ev.ChooseType("inkan"), ev.ChooseCopies(1))
    assert k.flow.view.screen is Screen.CONFIRM
    txn = k.flow.transaction_id
    assert txn is not None
    _fill(k.journal)
    k.post(ev.Confirm())
    view = k.flow.view
    assert view.screen is Screen.FAILED and view.outcome is not None
    assert view.outcome.staff_code == "J02" and k.cash.due == 0  # the acceptors were never opened
    assert k.journal.balance(txn).inserted == 0 and k.center.cancelled  # the session is cancelled
    record = k.journal.transaction(txn)
    assert record is not None and record.finished and record.staff_code == "J02"
