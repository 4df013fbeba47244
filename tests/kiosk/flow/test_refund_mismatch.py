"""The center's refund figure differs from the kiosk's: both figures are journaled for staff (M04 in the
staff code of the outcome and of the journal), in the flow and in crash recovery, not only logged."""

from __future__ import annotations

from pathlib import Path

from flow_fakes import FakeCenter, FakePrinter, build_kiosk
from test_flow_recovery import _to_paid

from kiosk.flow.recovery import recover
from kiosk.flow.steps import outcomes_from_journal
from kiosk.journal.store import Discrepancy, Journal


def test_a_disagreeing_center_refund_is_journaled_with_both_figures(tmp_path: Path) -> None:
    k, _ = build_kiosk(tmp_path, center=FakeCenter(refund_skew=100), printer=FakePrinter(jam_at_page=1))
    k.to_pay()
    k.cash.insert(500)
    view = k.flow.view
    assert view.outcome is not None and view.outcome.reason == "print_failed"
    assert view.outcome.staff_code == "PR1+M04" and view.outcome.refunded == 300  # the kiosk's own figure
    txn_id = k.flow.transaction_id
    assert txn_id is not None
    assert k.journal.discrepancies(txn_id) == [Discrepancy("refund", 400, 300, "M04")]
    record = k.journal.transaction(txn_id)
    assert record is not None and record.staff_code == "PR1+M04" and k.journal.balance(txn_id).settled


def test_an_agreeing_center_leaves_no_discrepancy(tmp_path: Path) -> None:
    k, _ = build_kiosk(tmp_path, printer=FakePrinter(jam_at_page=1))
    k.to_pay()
    k.cash.insert(500)
    txn_id = k.flow.transaction_id
    assert txn_id is not None and k.journal.discrepancies(txn_id) == []
    assert k.flow.view.outcome is not None and k.flow.view.outcome.staff_code == "PR1"


def test_recovery_journals_a_disagreeing_refund_from_the_report(tmp_path: Path) -> None:
    center = FakeCenter(refund_skew=50)
    journal, _runner, txn_id = _to_paid(tmp_path, center, copies=1)
    (doc,) = journal.transactions()[-1].documents
    journal.document_state(doc.document_id, "printing")  # crash: nothing confirmed out
    restarted = Journal(tmp_path / "journal.sqlite")
    (done,) = recover(restarted, center)
    assert (done.kiosk_refund_due, done.staff_code) == (300, "RC2+M04")
    assert restarted.discrepancies(txn_id) == [Discrepancy("refund", 350, 300, "M04")]
    record = restarted.transaction(txn_id)
    assert record is not None and record.staff_code == "RC2+M04"


def test_recovery_compares_an_already_reported_refund_too(tmp_path: Path) -> None:
    center = FakeCenter(refund_skew=20)
    journal, runner, txn_id = _to_paid(tmp_path, center, copies=1)
    (doc,) = journal.transactions()[-1].documents
    journal.document_state(doc.document_id, "printing")
    journal.document_state(doc.document_id, "failed", pages_printed=0, error="jam")
    runner.jobs.clear()
    record = journal.transaction(txn_id)
    assert record is not None and record.order_id is not None
    center.report_result(record.order_id, outcomes_from_journal(journal, txn_id))  # then the crash
    restarted = Journal(tmp_path / "journal.sqlite")
    (done,) = recover(restarted, center)  # the center already has the result: nothing is sent again
    assert done.action == "finished" and done.staff_code.endswith("+M04")
    assert restarted.discrepancies(txn_id) == [Discrepancy("refund", 320, 300, "M04")]
