"""The journal's money records: a repeated cash event id is a replay for the same transaction and a
conflict (JournalConflict) for another one; the flow keeps the resident's money and flags it (M03)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from flow_fakes import build_kiosk

from kiosk.flow import events as ev
from kiosk.flow.view import Screen
from kiosk.journal.store import Journal
from kiosk.money import CreditSource, FaultKind, JournalConflict


def test_a_replayed_credit_for_the_same_transaction_is_counted_once(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite")
    journal.begin("A")
    journal.record_credit("run:coin:1", 100, CreditSource.COIN)
    journal.record_credit("run:coin:1", 100, CreditSource.COIN)  # the driver retrying a failed hook call
    assert journal.balance("A").inserted == 100


def test_the_same_credit_id_for_another_transaction_raises_and_records_nothing(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite")
    journal.begin("A")
    journal.record_credit("run:coin:1", 100, CreditSource.COIN)
    journal.finish("A", "completed", "OK")
    journal.begin("B")
    with pytest.raises(JournalConflict, match=r"run:coin:1.*transaction 'A', not 'B'") as caught:
        journal.record_credit("run:coin:1", 500, CreditSource.COIN)
    assert (caught.value.recorded_txn, caught.value.current_txn, caught.value.kind) == ("A", "B", "credit")
    assert journal.balance("A").inserted == 100 and journal.balance("B").inserted == 0


def test_a_payout_id_reused_with_other_figures_is_a_conflict(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite")
    journal.begin("A")
    journal.record_payout("run:payout:1", 300)
    journal.record_payout("run:payout:1", 300)  # replay
    with pytest.raises(JournalConflict):
        journal.record_payout("run:payout:1", 400)
    assert journal.balance("A").change == 300


def test_a_conflicting_coin_is_still_credited_to_the_resident_and_flagged_for_staff(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    k, _ = build_kiosk(tmp_path)
    k.to_pay()
    k.cash.insert(500, event_id="fixed:coin:1")  # first resident: fee 300, change 200
    first = k.flow.transaction_id
    assert first is not None and k.flow.view.screen is Screen.DONE
    k.post(ev.Finish())
    k.to_pay()
    with caplog.at_level(logging.ERROR, logger="kiosk.money"):
        k.cash.insert(500, event_id="fixed:coin:1")  # a restarted driver reusing its ids
    second = k.flow.transaction_id
    view = k.flow.view
    assert second is not None and second != first
    assert view.screen is Screen.DONE and view.outcome is not None and view.outcome.ok
    assert view.outcome.staff_code == "M03" and view.change == 200
    balance = k.journal.balance(second)
    assert balance.inserted == 500 and balance.settled  # the coin was not lost
    assert k.journal.balance(first).inserted == 500  # and the first resident's record is untouched
    ((kind, _device, detail),) = k.journal.faults(second)
    assert kind == FaultKind.ID_CONFLICT and "fixed:coin:1" in detail and first in detail
    record = k.journal.transaction(second)
    assert record is not None and (record.outcome, record.staff_code) == ("completed", "M03")
    assert any("M03" in r.getMessage() for r in caplog.records if r.levelno == logging.ERROR)
