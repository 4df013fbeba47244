"""Crash recovery with fakes: the flow stops dead at a step (its jobs never come back), a new kiosk
process opens the same journal and finishes the transaction against the center's reconcile view."""

from __future__ import annotations

from pathlib import Path

from flow_fakes import PIN, FakeCenter, FakePrinter, ManualRunner, build_kiosk

from kiosk.flow import events as ev
from kiosk.flow.recovery import recover
from kiosk.journal.store import Journal


def _to_paid(tmp_path: Path, center: FakeCenter, copies: int) -> tuple[Journal, ManualRunner, str]:
    k, runner = build_kiosk(tmp_path, center=center, printer=FakePrinter(), manual=True)
    assert runner is not None
    k.post(ev.Start(), ev.ChooseRoute(), ev.CardInserted())
    runner.release("read")
    k.post(ev.PinEntered(PIN))
    for name in ("verify", "session", "authenticate"):
        runner.release(name)
    k.post(ev.CardRemoved(), ev.ChooseType("inkan"), ev.ChooseCopies(copies))
    runner.release("order")
    k.post(ev.Confirm())
    runner.release("issue")
    runner.release("accept")
    k.cash.insert(500)
    k.cash.insert(500)
    runner.release("payment")
    assert k.flow.transaction_id is not None
    return k.journal, runner, k.flow.transaction_id


def test_crash_mid_print_reports_failed_copies_and_owes_their_fees(tmp_path: Path) -> None:
    center = FakeCenter()
    journal, _runner, txn_id = _to_paid(tmp_path, center, copies=2)
    doc_ids = [d.document_id for d in journal.transactions()[-1].documents]
    journal.document_state(doc_ids[0], "printing")
    journal.document_state(doc_ids[0], "printed")
    journal.document_state(doc_ids[1], "printing")  # crash here: the print job never returns
    restarted = Journal(tmp_path / "journal.sqlite")
    (done,) = recover(restarted, center)
    assert done.action == "reported" and done.refund_owed == 300 and done.kiosk_refund_due == 300
    assert [o.printed for o in center.reports[0]] == [True, False]
    assert center.calls[-1] == ("report_result", restarted.key(txn_id, "report"))
    balance = restarted.balance(txn_id)
    assert balance.settled and (balance.inserted, balance.change, balance.printed_fees) == (1000, 400, 300)
    assert recover(restarted, center) == []  # finished: nothing to do the second time


def test_report_after_crash_reuses_the_journaled_key(tmp_path: Path) -> None:
    center = FakeCenter()
    journal, runner, txn_id = _to_paid(tmp_path, center, copies=1)
    runner.release("print")
    runner.jobs.clear()  # crash before the report job ran
    key = journal.key(txn_id, "report")
    restarted = Journal(tmp_path / "journal.sqlite")
    recover(restarted, center)
    assert ("report_result", key) in center.calls
    assert [o.printed for o in center.reports[0]] == [True]
    record = restarted.transaction(txn_id)
    assert record is not None and record.finished and restarted.balance(txn_id).settled


def test_crash_while_paying_cancels_the_session_and_owes_the_money(tmp_path: Path) -> None:
    center = FakeCenter()
    k, runner = build_kiosk(tmp_path, center=center, manual=True)
    assert runner is not None
    k.post(ev.Start(), ev.ChooseRoute(), ev.CardInserted())
    runner.release("read")
    k.post(ev.PinEntered(PIN))
    for name in ("verify", "session", "authenticate"):
        runner.release(name)
    k.post(ev.CardRemoved(), ev.ChooseType("inkan"), ev.ChooseCopies(1))
    runner.release("order")
    k.post(ev.Confirm())
    runner.release("issue")
    runner.release("accept")
    k.cash.insert(100)  # crash now
    txn_id = k.flow.transaction_id
    assert txn_id is not None
    restarted = Journal(tmp_path / "journal.sqlite")
    (done,) = recover(restarted, center)
    assert done.action == "cancelled" and done.refund_owed == 100 and len(center.cancelled) == 1
    assert restarted.balance(txn_id).settled and center.reports == []


def test_recovery_waits_when_the_center_is_down(tmp_path: Path) -> None:
    from relay_client import CenterUnavailable

    center = FakeCenter()
    _journal, _runner, txn_id = _to_paid(tmp_path, center, copies=1)
    center.fail["reconcile"] = CenterUnavailable("center_unavailable", retryable=True)
    assert recover(Journal(tmp_path / "journal.sqlite"), center) == []
    record = Journal(tmp_path / "journal.sqlite").transaction(txn_id)
    assert record is not None and not record.finished


def test_crash_after_page_one_of_two_reports_exactly_one_page_and_owes_the_fee(tmp_path: Path) -> None:
    center = FakeCenter(pages=2)
    journal, _runner, txn_id = _to_paid(tmp_path, center, copies=1)
    (doc,) = journal.transactions()[-1].documents
    journal.document_state(doc.document_id, "printing")
    journal.page_printed(doc.document_id, 1)  # crash here: page 2 never confirmed
    restarted = Journal(tmp_path / "journal.sqlite")
    (done,) = recover(restarted, center)
    (outcome,) = center.reports[0]
    assert (outcome.printed, outcome.pages_printed) == (False, 1)
    record = restarted.transaction(txn_id)
    assert record is not None and [(d.state, d.pages_printed) for d in record.documents] == [("failed", 1)]
    assert done.refund_owed == 300 and restarted.balance(txn_id).settled


def test_crash_after_the_last_page_counts_the_copy_as_printed(tmp_path: Path) -> None:
    center = FakeCenter(pages=2)
    journal, _runner, txn_id = _to_paid(tmp_path, center, copies=1)
    (doc,) = journal.transactions()[-1].documents
    journal.document_state(doc.document_id, "printing")
    journal.page_printed(doc.document_id, 1)
    journal.page_printed(doc.document_id, 2)  # crash here, before the copy's final state
    restarted = Journal(tmp_path / "journal.sqlite")
    (done,) = recover(restarted, center)
    assert [o.printed for o in center.reports[0]] == [True]
    assert done.refund_owed == 0 and done.kiosk_refund_due == 0
    balance = restarted.balance(txn_id)
    assert balance.settled and (balance.inserted, balance.change, balance.printed_fees) == (1000, 700, 300)


def test_every_confirmed_page_is_a_journal_point_before_the_final_state(tmp_path: Path) -> None:
    center = FakeCenter(pages=3)
    printer = FakePrinter(jam_at_page=3)
    k, _ = build_kiosk(tmp_path, center=center, printer=printer)
    seen: list[int | None] = []
    page_printed = k.journal.page_printed

    def spy(document_id: str, pages: int) -> None:
        page_printed(document_id, pages)
        record = k.journal.transaction(k.flow.transaction_id or "")
        assert record is not None and record.documents[0].state == "printing"  # not final yet
        seen.append(record.documents[0].pages_printed)

    k.journal.page_printed = spy  # type: ignore[method-assign]
    k.to_pay()
    k.cash.insert(500)
    assert seen == [1, 2]
    txn_id = k.flow.transaction_id
    assert txn_id is not None
    record = k.journal.transaction(txn_id)
    assert record is not None and [(d.state, d.pages_printed) for d in record.documents] == [("failed", 2)]


def test_a_honseki_registration_finishes_and_one_cut_short_is_not_cancelled(tmp_path: Path) -> None:
    center = FakeCenter()
    k, runner = build_kiosk(tmp_path, center=center, manual=True)
    assert runner is not None
    k.post(ev.Start(), ev.ChooseRoute("honseki_registration"), ev.CardInserted())
    runner.release("read")
    k.post(ev.PinEntered(PIN))
    for name in ("verify", "session", "authenticate"):
        runner.release(name)
    k.post(ev.CardRemoved(), ev.Confirm())
    txn_id = k.flow.transaction_id
    assert txn_id is not None
    runner.release("register")
    assert ("register_honseki", k.journal.key(txn_id, "honseki_registration")) in center.calls
    record = k.journal.transaction(txn_id)
    assert record is not None and (record.finished, record.outcome) == (True, "honseki_registered")
    # a kiosk that died after the center registered, before the result screen: finished, never cancelled
    k.journal.begin("T-cut")
    k.journal.stage("T-cut", "session", session_id="S-cut")
    k.journal.stage("T-cut", "honseki_registered")
    restarted = Journal(tmp_path / "journal.sqlite")
    (done,) = recover(restarted, center)
    assert (done.txn_id, done.action) == ("T-cut", "finished") and center.cancelled == []
