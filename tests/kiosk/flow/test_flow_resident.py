"""What the flow owns for a resident at a real touchscreen: more time on a countdown, the cancel question
once the PIN was verified or money went in, the card chased at the end of every transaction that read it,
the change that came out kept on the outcome, and the call-staff screen that only staff end (or its long
timeout)."""

from __future__ import annotations

from pathlib import Path

from flow_fakes import PIN, FakePrinter, Kiosk, build_kiosk

from kiosk.flow import events as ev
from kiosk.flow.timeouts import Timeouts
from kiosk.flow.view import Screen
from kiosk.staff.diagnostics import Diagnostics


def test_more_time_restarts_the_countdown_on_screens_where_the_resident_acts(tmp_path: Path) -> None:
    k, _ = build_kiosk(tmp_path)
    k.to_pin()
    k.clock.now += 55
    k.post(ev.Tick())
    assert k.flow.view.countdown == 5 and k.flow.view.countdown_warning
    k.post(ev.MoreTime())
    assert k.flow.view.countdown is None and not k.flow.view.countdown_warning
    k.clock.now += 55
    k.post(ev.Tick())
    assert k.flow.view.screen is Screen.PIN and k.flow.view.countdown == 5  # a whole minute again
    k.clock.now += 6
    k.post(ev.Tick())
    assert k.flow.view.outcome is not None and k.flow.view.outcome.reason == "timeout"


def test_more_time_does_nothing_where_no_countdown_runs(tmp_path: Path) -> None:
    k, _ = build_kiosk(tmp_path)
    k.post(ev.MoreTime())  # the attract screen has no deadline
    assert k.flow.view.screen is Screen.ATTRACT and k.flow.view.countdown is None


def test_cancel_before_the_pin_is_immediate(tmp_path: Path) -> None:
    k, _ = build_kiosk(tmp_path)
    k.to_pin()
    k.post(ev.Cancel(ask=True))
    assert k.flow.view.screen is Screen.FAILED and k.flow.view.outcome is not None
    assert k.flow.view.outcome.reason == "cancelled"


def test_cancel_after_the_pin_asks_once_more(tmp_path: Path) -> None:
    k, _ = build_kiosk(tmp_path)
    k.to_pin()
    k.post(ev.PinEntered(PIN), ev.CardRemoved(), ev.ChooseType("inkan"))
    k.post(ev.Cancel(ask=True))
    assert k.flow.view.screen is Screen.COPIES and k.flow.view.cancel_asked
    k.post(ev.KeepGoing())
    assert k.flow.view.screen is Screen.COPIES and not k.flow.view.cancel_asked
    k.post(ev.ChooseCopies(1))
    assert k.flow.view.screen is Screen.CONFIRM and not k.flow.view.cancel_asked  # a new screen: no question
    k.post(ev.Cancel(ask=True), ev.Cancel(ask=True))  # a double tap on 取消 answers nothing by itself …
    assert k.flow.view.screen is Screen.FAILED  # … the second ask is the answer only once asked
    assert k.flow.view.outcome is not None and k.flow.view.outcome.reason == "cancelled"


def test_cancel_with_money_in_asks_and_the_answer_returns_it(tmp_path: Path) -> None:
    k, _ = build_kiosk(tmp_path)
    k.to_pay(type_="inkan")
    k.cash.insert(100)
    k.post(ev.Cancel(ask=True))
    assert k.flow.view.screen is Screen.PAY and k.flow.view.cancel_asked
    k.post(ev.Cancel())
    outcome = k.flow.view.outcome
    assert k.flow.view.screen is Screen.FAILED and outcome is not None and outcome.refunded == 100


def test_a_card_left_on_the_reader_is_chased_before_the_start_screen(tmp_path: Path) -> None:
    k, _ = build_kiosk(tmp_path)
    k.to_pin()
    k.post(ev.Cancel(ask=True))
    assert k.flow.view.screen is Screen.FAILED
    k.post(ev.Finish())
    view = k.flow.view
    assert view.screen is Screen.TAKE_CARD and view.sound_on and view.menu == () and view.outcome is None
    k.clock.now += 3600
    k.post(ev.Tick(), ev.Finish(), ev.Start())
    assert k.flow.view.screen is Screen.TAKE_CARD  # no timeout, no finish, no new resident until it is off
    k.post(ev.CardRemoved())
    assert k.flow.view.screen is Screen.ATTRACT


def test_an_outcome_timeout_chases_the_card_too(tmp_path: Path) -> None:
    k, _ = build_kiosk(tmp_path)
    k.to_pin()
    k.clock.now += 61
    k.post(ev.Tick())
    assert k.flow.view.screen is Screen.FAILED
    k.clock.now += 31
    k.post(ev.Tick())
    assert k.flow.view.screen is Screen.TAKE_CARD


def test_a_card_taken_before_the_end_is_not_chased(tmp_path: Path) -> None:
    k, _ = build_kiosk(tmp_path)
    k.to_pin()
    k.post(ev.Cancel(), ev.CardRemoved(), ev.Finish())
    assert k.flow.view.screen is Screen.ATTRACT


def test_a_jam_keeps_the_change_that_came_out_on_the_outcome(tmp_path: Path) -> None:
    k, _ = build_kiosk(tmp_path, printer=FakePrinter(jam_at_page=1))
    k.to_pay(type_="inkan")
    k.cash.insert(500)
    view = k.flow.view
    assert view.screen is Screen.FAILED and view.outcome is not None
    assert (view.outcome.refunded, view.change) == (view.fee, 500 - view.fee) == (300, 200)  # all 500 yen


def _calling_staff(tmp_path: Path) -> Kiosk:
    """A transaction that ends owing 150 yen change (an empty hopper): the call-staff screen, card taken."""
    k, _ = build_kiosk(tmp_path)
    k.cash.hopper = 50
    k.to_pay()
    k.cash.insert(500)
    view = k.flow.view
    assert view.screen is Screen.FAILED and view.message_key == "call_staff" and k.flow.calling_staff
    assert view.outcome is not None and view.outcome.refund_owed == 150
    return k


def test_the_call_staff_screen_outlasts_the_outcome_timeout_and_the_resident(tmp_path: Path) -> None:
    k = _calling_staff(tmp_path)
    k.clock.now += Timeouts().outcome + 1
    k.post(ev.Tick(), ev.Finish(resident=True), ev.MoreTime())  # 終了 from the touchscreen is refused
    assert k.flow.view.screen is Screen.FAILED and k.flow.calling_staff
    k.clock.now += Timeouts().call_staff - Timeouts().outcome - 5
    k.post(ev.Tick())
    view = k.flow.view  # no countdown, no "more time": there is nothing the resident can do with it
    assert view.screen is Screen.FAILED and view.countdown is None and not view.countdown_warning
    k.post(ev.Start())
    assert k.flow.view.screen is Screen.FAILED  # no next resident over it


def test_staff_clear_the_call_staff_screen_and_the_owed_money_stays_open(tmp_path: Path) -> None:
    k = _calling_staff(tmp_path)
    k.post(ev.StaffCleared())
    assert k.flow.view.screen is Screen.ATTRACT
    (item,) = Diagnostics(k.journal).open_items()
    assert (item.kind, item.yen, item.staff_code) == ("owed", 150, "M02")
    k.post(ev.StaffCleared())  # nothing to clear on the start screen
    assert k.flow.view.screen is Screen.ATTRACT


def test_the_call_staff_screen_ends_by_itself_after_its_long_timeout(tmp_path: Path) -> None:
    k = _calling_staff(tmp_path)
    k.clock.now += Timeouts().call_staff + 1
    k.post(ev.Tick())
    assert k.flow.view.screen is Screen.ATTRACT
    assert [i.yen for i in Diagnostics(k.journal).open_items()] == [150]  # the journal keeps the record


def test_staff_cannot_clear_another_outcome_and_it_keeps_its_short_timeout(tmp_path: Path) -> None:
    k, _ = build_kiosk(tmp_path)
    k.to_pin()
    k.post(ev.Cancel(), ev.CardRemoved())
    assert k.flow.view.screen is Screen.FAILED and not k.flow.calling_staff
    k.post(ev.StaffCleared())
    assert k.flow.view.screen is Screen.FAILED
    k.clock.now += Timeouts().outcome + 1
    k.post(ev.Tick())
    assert k.flow.view.screen is Screen.ATTRACT
