"""The flow, headless, with fakes at the seams: every step, every failure ends on an outcome."""

from __future__ import annotations

from pathlib import Path

from flow_fakes import PIN, FakeCard, FakeCenter, FakePrinter, build_kiosk

from kiosk.flow import events as ev
from kiosk.flow.view import Screen
from relay_client import CenterUnavailable, DocumentBindingError


def test_happy_path_walks_every_screen_and_settles_the_money(tmp_path: Path) -> None:
    k, _ = build_kiosk(tmp_path)
    k.to_pin()
    assert k.flow.view.screen is Screen.PIN and k.flow.view.tries_left == 3
    k.post(ev.PinEntered(PIN))
    assert k.flow.view.screen is Screen.REMOVE_CARD and k.card.powered_off == 1
    assert [m.type for m in k.flow.view.menu][:2] == ["juminhyo", "inkan"]
    k.post(ev.CardRemoved(), ev.ChooseType("juminhyo"))
    assert k.flow.view.screen is Screen.OPTIONS
    k.post(ev.ChooseOptions((("scope", "all"),)), ev.ChooseCopies(2))
    assert k.flow.view.screen is Screen.CONFIRM and k.flow.view.fee == 600
    k.post(ev.Confirm())
    assert k.flow.view.screen is Screen.PAY
    k.cash.insert(500)
    assert k.flow.view.amount_inserted == 500 and k.flow.view.screen is Screen.PAY
    k.cash.insert(500)
    view = k.flow.view
    assert view.screen is Screen.DONE and view.outcome is not None and view.outcome.ok
    assert view.change == 400 and view.pages_printed == view.pages_total == 2 and view.sound_on
    assert k.center.payments == [(1000, 400)]
    assert [o.printed for o in k.center.reports[0]] == [True, True]
    assert k.screens == [
        "route",
        "place_card",
        "reading",
        "pin",
        "verifying",
        "authenticating",
        "remove_card",
        "choose_type",
        "options",
        "copies",
        "confirm",
        "issuing",
        "pay",
        "finishing_payment",
        "printing",
        "reporting",
        "done",
    ]
    txn_id = k.flow.transaction_id
    assert txn_id is not None
    record = k.journal.transaction(txn_id)
    assert record is not None and record.finished and record.report_status == "reported"
    balance = k.journal.balance(txn_id)
    assert (balance.inserted, balance.change, balance.printed_fees) == (1000, 400, 600) and balance.settled
    k.post(ev.Finish())
    assert k.flow.view.screen is Screen.ATTRACT and k.flow.view.menu == () and k.flow.transaction_id is None


def test_every_center_call_carries_a_journaled_idempotency_key(tmp_path: Path) -> None:
    k, _ = build_kiosk(tmp_path)
    k.to_pay()
    k.cash.insert(500)
    keys = [key for _, key in k.center.calls]
    assert all(keys) and len(set(keys)) == len(keys)
    txn_id = k.flow.transaction_id
    assert txn_id is not None and k.journal.key(txn_id, "report") == k.center.calls[-1][1]


def test_wrong_pin_once_shows_tries_left_then_goes_on(tmp_path: Path) -> None:
    k, _ = build_kiosk(tmp_path)
    k.to_pin()
    k.post(ev.PinEntered("9999"))
    assert (
        k.flow.view.screen is Screen.PIN and k.flow.view.tries_left == 2 and not k.flow.view.last_try_warning
    )
    assert k.flow.view.message_key == "pin_incorrect"
    k.post(ev.PinEntered("0000"))
    assert k.flow.view.tries_left == 1 and k.flow.view.last_try_warning
    k.post(ev.PinEntered(PIN))
    assert k.flow.view.screen is Screen.REMOVE_CARD and k.card.verify_calls == 3


def test_wrong_pin_three_times_locks_and_ends_at_city_hall(tmp_path: Path) -> None:
    k, _ = build_kiosk(tmp_path)
    k.to_pin()
    for _ in range(3):
        k.post(ev.PinEntered("9999"))
    view = k.flow.view
    assert view.screen is Screen.FAILED and view.outcome is not None
    assert (view.outcome.reason, view.outcome.message_key, view.outcome.staff_code) == (
        "pin_locked",
        "go_to_city_hall",
        "P01",
    )
    assert k.card.verify_calls == 3 and k.card.powered_off >= 1
    assert not any(name == "open_session" for name, _ in k.center.calls)


def test_locked_card_never_gets_a_verify(tmp_path: Path) -> None:
    k, _ = build_kiosk(tmp_path, card=FakeCard(tries=0))
    k.to_pin()
    assert k.flow.view.outcome is not None and k.flow.view.outcome.reason == "pin_locked"
    assert k.card.verify_calls == 0


def test_card_removed_during_pin_aborts_whole_transaction(tmp_path: Path) -> None:
    k, _ = build_kiosk(tmp_path)
    k.to_pin()
    k.post(ev.CardRemoved())
    assert k.flow.view.outcome is not None and k.flow.view.outcome.reason == "card_removed"
    assert k.flow.view.outcome.message_key == "retry"
    k.post(ev.PinEntered(PIN))  # too late: ignored
    assert k.card.verify_calls == 0


def test_cancel_while_paying_returns_the_money_and_voids_the_session(tmp_path: Path) -> None:
    k, _ = build_kiosk(tmp_path)
    k.to_pay()
    k.cash.insert(100)
    k.post(ev.Cancel())
    outcome = k.flow.view.outcome
    assert outcome is not None and outcome.message_key == "take_your_money" and outcome.refunded == 100
    assert len(k.center.cancelled) == 1 and k.center.payments == [] and k.printer.jobs == []
    txn_id = k.journal.transactions()[-1].id
    balance = k.journal.balance(txn_id)
    assert balance.inserted == 100 and balance.refunded == 100 and balance.settled


def test_cancel_is_refused_once_printing_started(tmp_path: Path) -> None:
    k, runner = build_kiosk(tmp_path, manual=True)
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
    k.cash.insert(500)
    runner.release("payment")
    assert k.flow.view.screen is Screen.PRINTING and not k.flow.view.can_cancel
    k.post(ev.Cancel())
    assert k.flow.view.screen is Screen.PRINTING
    runner.release("print")
    runner.release("report")
    assert k.flow.view.screen is Screen.DONE


def test_timeout_shows_a_countdown_then_aborts(tmp_path: Path) -> None:
    k, _ = build_kiosk(tmp_path)
    k.to_pin()
    k.clock.now += 45
    k.post(ev.Tick())
    assert k.flow.view.countdown is None
    k.clock.now += 10
    k.post(ev.Tick())
    assert k.flow.view.countdown == 5 and k.flow.view.countdown_warning
    k.clock.now += 6
    k.post(ev.Tick())
    assert k.flow.view.outcome is not None and k.flow.view.outcome.reason == "timeout"
    k.clock.now += 31
    k.post(ev.Tick())
    assert k.flow.view.screen is Screen.TAKE_CARD  # the card is still on the reader: chased first
    k.post(ev.CardRemoved())
    assert k.flow.view.screen is Screen.ATTRACT


def test_center_down_mid_issue_aborts_before_any_money(tmp_path: Path) -> None:
    center = FakeCenter(fail={"issue_documents": CenterUnavailable("center_unavailable", retryable=True)})
    k, _ = build_kiosk(tmp_path, center=center)
    k.to_pay()
    outcome = k.flow.view.outcome
    assert outcome is not None and (outcome.message_key, outcome.staff_code) == ("retry", "S01")
    assert len(center.cancelled) == 1 and not k.cash.accepting


def test_document_binding_failure_names_the_field_for_staff(tmp_path: Path) -> None:
    center = FakeCenter(fail={"issue_documents": DocumentBindingError("session_id", "other session")})
    k, _ = build_kiosk(tmp_path, center=center)
    k.to_pay()
    outcome = k.flow.view.outcome
    assert outcome is not None and (outcome.message_key, outcome.staff_code) == ("call_staff", "D-session_id")


def test_printer_jam_at_page_two_refunds_unprinted_copies(tmp_path: Path) -> None:
    k, _ = build_kiosk(tmp_path, printer=FakePrinter(jam_at_page=2))
    k.to_pay(copies=3)
    k.cash.insert(500)
    k.cash.insert(500)
    outcome = k.flow.view.outcome
    assert outcome is not None and outcome.message_key == "take_your_money" and outcome.refunded == 600
    assert [o.printed for o in k.center.reports[0]] == [True, False, False]
    assert len(k.printer.jobs) == 2  # nothing after the fault
    txn_id = k.journal.transactions()[-1].id
    balance = k.journal.balance(txn_id)
    assert (balance.inserted, balance.change, balance.refunded, balance.printed_fees) == (1000, 100, 600, 300)
    assert balance.settled


def test_change_shortfall_is_owed_and_recorded_for_staff(tmp_path: Path) -> None:
    k, _ = build_kiosk(tmp_path)
    k.cash.hopper = 50
    k.to_pay()
    k.cash.insert(500)
    outcome = k.flow.view.outcome
    assert outcome is not None and outcome.message_key == "call_staff" and outcome.refund_owed == 150
    balance = k.journal.balance(k.journal.transactions()[-1].id)
    assert balance.refund_owed == 150
    assert balance.settled and k.printer.jobs  # the fee was covered: the certificate still prints


def test_late_result_of_an_aborted_transaction_is_dropped(tmp_path: Path) -> None:
    k, runner = build_kiosk(tmp_path, manual=True)
    assert runner is not None
    k.post(ev.Start(), ev.ChooseRoute(), ev.CardInserted())
    runner.release("read")
    k.post(ev.PinEntered(PIN))
    runner.release("verify")
    k.post(ev.Cancel())
    runner.release("cleanup")
    assert k.flow.view.screen is Screen.FAILED
    k.post(ev.Finish(), ev.CardRemoved(), ev.Start(), ev.ChooseRoute())
    runner.release("session")  # the first resident's session answer arrives late
    assert k.flow.view.screen is Screen.PLACE_CARD
    assert k.flow._txn is not None and k.flow._txn.session is None


def test_unavailable_type_and_bad_copies_are_refused_in_place(tmp_path: Path) -> None:
    k, _ = build_kiosk(tmp_path)
    k.to_pin()
    k.post(ev.PinEntered(PIN), ev.CardRemoved(), ev.ChooseType("koseki_zenbu"))
    assert k.flow.view.screen is Screen.CHOOSE_TYPE and k.flow.view.message_key == "not_available"
    k.post(ev.ChooseType("inkan"), ev.ChooseCopies(9))
    assert k.flow.view.screen is Screen.COPIES and k.flow.view.message_key == "copies_out_of_range"


def test_no_new_resident_while_a_given_up_print_job_is_not_confirmed_dead(tmp_path: Path) -> None:
    printer = FakePrinter()
    printer.unsettled_jobs = (7,)  # the kiosk gave up on job 7; the printer has not confirmed it dead
    k, _ = build_kiosk(tmp_path, printer=printer)
    k.post(ev.Start("ja"))
    outcome = k.flow.view.outcome
    assert k.flow.view.screen == Screen.FAILED and outcome is not None
    assert (outcome.staff_code, outcome.message_key) == ("PR3", "call_staff")
    assert k.journal.transactions() == []  # no transaction was begun
    printer.unsettled_jobs = ()  # confirmed (the heartbeat's or self-test's health check settles it)
    k.clock.now += 3600  # the failed screen times out, back to the start
    k.post(ev.Tick())
    assert k.flow.view.screen == Screen.ATTRACT
    k.post(ev.Start("ja"))
    assert k.flow.view.screen == Screen.ROUTE
