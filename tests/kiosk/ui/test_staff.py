"""Staff mode on an off-screen window: the 3 s press on the header title opens the passcode keypad only on
the attract screen (and on the call-staff screen); a wrong passcode is refused (three close staff mode); the
right one shows the open item (change owed, M02), which is settled by taps (staff number + confirm,
journaled); 終了 returns to the resident's screen; the passcode's digits are never in the widget tree; the
flow's views do not override it. Through the real flow: the call-staff screen waits for staff past the
outcome timeout, the resident cannot end it, staff clear it from the board."""

from __future__ import annotations

import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from kivy.clock import Clock
from kivy.tests.common import UnitTestTouch
from ui_helpers import FakeFlow, TouchTest, texts

from kiosk.flow import events as ev
from kiosk.flow.timeouts import Timeouts
from kiosk.flow.view import Screen
from kiosk.journal.store import Journal
from kiosk.staff.diagnostics import DeviceStatus, Diagnostics, StaffAccess
from kiosk.staff.passcode import PasscodeGuard, PasscodeVerifier
from kiosk.ui.app import build_shell
from kiosk.ui.bridge import UiOutcome, UiState, from_view, to_flow_event
from kiosk.ui.catalogs import STAFF_DOMAIN
from kiosk.ui.i18n import Translator
from kiosk.ui.screens.staff import HOLD_SECONDS, StaffScreen, device_name, device_text

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "flow"))
from flow_fakes import build_kiosk

PASSCODE = "2468"
VERIFIER = PasscodeVerifier.for_passcode(PASSCODE)  # scrypt once for the module
ST = Translator("ja", domain=STAFF_DOMAIN)


def owed_journal(path: Path) -> Journal:
    """A finished transaction that owes 300 yen change (as the no_change scenario leaves it)."""
    journal = Journal(path)
    journal.begin("T-0001")
    journal.stage("T-0001", "ordered", order_id="O-1", fee=200, cert_type="inkan")
    journal.stage("T-0001", "paying")
    journal.record_credit("E-1", 500, "coin")  # type: ignore[arg-type]
    journal.add_document("T-0001", "D-1", 0, 0, 200, 1)
    journal.document_state("D-1", "printed", pages_printed=1)
    journal.refund_owed("T-0001", 300)
    journal.finish("T-0001", "change_shortfall", "M02")
    return journal


class FakeSelfTest:
    """The self-test's results without devices (the SimKiosk tests run the real one)."""

    def run(self) -> list[DeviceStatus]:
        center = DeviceStatus("center", True, "ok, version 1.0.0")
        return [center, DeviceStatus("printer", False, "paper out")]


class StaffShellTest(TouchTest):
    """A shell with staff mode over a journal that owes 300 yen, and the hands to use it."""

    def setUp(self) -> None:
        super().setUp()
        self.Window.size = (800, 600)
        self.tmp = Path(tempfile.mkdtemp(prefix="staff-ui-"))
        self.journal = owed_journal(self.tmp / "journal.sqlite")
        self.flow = FakeFlow()
        access = StaffAccess(Diagnostics(self.journal, self_tester=FakeSelfTest()), VERIFIER)
        self.shell = build_shell(on_intent=self.flow, staff=access)
        self.shell.tap_guard = 0.0  # taps come right after each show (the guard: test_resident_touch.py)
        self.flow.shell = self.shell
        self.shell.staff_press.seconds = 0.05  # one test holds for the real 3 s
        self.staff: StaffScreen = self.shell.screens["staff"]
        self.Window.add_widget(self.shell)
        self.advance_frames(1)

    def tearDown(self, fake: bool = False) -> None:
        self.shell.sound.stop_reminder()
        self.journal.close()
        super().tearDown(fake)

    def hold_title(self, seconds: float) -> None:
        title = self.shell.ids.title
        touch = UnitTestTouch(*title.to_window(*title.center))
        touch.touch_down()
        # Held for ``seconds`` of Kivy's clock, not of the wall: on a loaded machine one frame may take
        # longer than the whole hold, and the press's timer fires only on a clock tick past it.
        start = Clock.get_time()  # the last tick's time; the press's timer counts from it
        while Clock.get_time() - start < seconds:
            self.advance_frames(1)
            time.sleep(0.02)
        self.advance_frames(1)
        touch.touch_up()
        self.advance_frames(2)

    def passcode(self, code: str) -> None:
        for digit in code:
            self.tap(self.staff.passcode_keys[digit])
        self.tap(self.staff.passcode_keys["ok"])

    def open_board(self) -> None:
        self.hold_title(0.2)
        self.passcode(PASSCODE)
        assert self.staff.page == "board"


class StaffTest(StaffShellTest):
    def test_a_3_second_press_on_the_title_opens_the_passcode_keypad(self) -> None:
        self.shell.staff_press.seconds = HOLD_SECONDS
        self.hold_title(1.0)  # released early: nothing
        assert self.shell.ids.manager.current == "attract"
        self.hold_title(HOLD_SECONDS + 0.3)
        assert self.shell.ids.manager.current == "staff" and self.staff.page == "passcode"
        assert self.staff.prompt_text == ST("staff_passcode_prompt")

    def test_the_press_does_nothing_outside_the_attract_screen(self) -> None:
        for screen in ("route", "pin", "pay", "printing"):
            self.shell.show(replace(UiState(), screen=screen))
            self.hold_title(0.2)
            assert self.shell.ids.manager.current == screen and not self.shell.staff_open
        self.shell.show(UiState())
        self.shell.open_language()  # the language list is on the attract view, but not the attract screen
        self.hold_title(0.2)
        assert self.shell.ids.manager.current == "language"

    def test_a_wrong_passcode_is_refused_and_three_close_staff_mode(self) -> None:
        self.hold_title(0.2)
        self.passcode("1357")
        assert self.staff.page == "passcode" and self.staff.passcode_message == ST(
            "staff_passcode_wrong", n=2
        )
        assert self.staff.dots_text == ""
        self.passcode("0000")
        self.passcode("13579")
        assert self.shell.ids.manager.current == "attract" and not self.shell.staff_open

    def test_the_right_passcode_shows_the_item_and_taps_settle_it(self) -> None:
        self.open_board()
        shown = texts(self.staff)
        assert any("T-0001" in t and "300" in t and "M02" in t for t in shown), shown
        assert any("T-0001 印鑑登録証明書 1通 200円" in t for t in shown), shown  # the type, by its name
        assert ST("staff_open_items", n=1) in shown and ST("staff_hoppers") in shown
        self.tap(self.staff.item_buttons[("T-0001", "owed")])
        assert self.staff.page == "settle" and self.staff.confirm_text == ST(
            "staff_confirm_settle", yen="300"
        )
        self.tap(self.staff.ids.confirm)  # no staff number yet
        assert self.staff.settle_message == ST("staff_need_id") and self.journal.staff_actions() == []
        for digit in "017":
            self.tap(self.staff.staff_keys[digit])
        assert self.staff.staff_id_text == ST("staff_id_value", staff="017")
        self.tap(self.staff.ids.confirm)
        (action,) = self.journal.staff_actions()
        assert (action.txn_id, action.kind, action.yen, action.staff_id) == ("T-0001", "settled", 300, "017")
        assert self.staff.page == "board" and self.staff.item_buttons == {}
        assert ST("staff_open_items", n=0) in texts(self.staff)

    def test_a_refusal_is_shown_on_the_settle_page(self) -> None:
        self.open_board()
        self.tap(self.staff.item_buttons[("T-0001", "owed")])
        self.journal.begin("T-0002")  # a resident started meanwhile (another window of time)
        self.tap(self.staff.staff_keys["5"])
        self.tap(self.staff.staff_keys["ok"])
        busy = ST("staff_refused", reason=ST("staff_why_busy"))
        assert self.staff.page == "settle" and self.staff.settle_message == busy  # in the staff's language
        assert "お客様の取引中" in busy and self.journal.staff_actions() == []

    def test_exit_returns_to_attract_and_forgets_what_was_typed(self) -> None:
        self.open_board()
        self.tap(self.staff.ids.language)
        assert self.staff.exit_text == "Exit"
        self.tap(self.staff.ids.exit)
        assert self.shell.ids.manager.current == "attract" and not self.shell.staff_open
        self.hold_title(0.2)
        assert self.staff.page == "passcode" and self.staff.dots_text == ""
        self.tap(self.staff.ids.passcode_exit)
        assert self.shell.ids.manager.current == "attract"
        assert self.flow.intents == []  # nothing reached the resident flow

    def test_the_passcode_digits_are_never_in_the_widget_tree(self) -> None:
        self.hold_title(0.2)
        for digit in PASSCODE:
            self.tap(self.staff.passcode_keys[digit])
        assert self.staff.dots_text == "****"
        assert not any(PASSCODE in t for t in texts(self.Window))
        self.tap(self.staff.passcode_keys["ok"])
        assert not any(PASSCODE in t for t in texts(self.Window))
        assert self.staff._digits == []

    def test_the_press_opens_staff_mode_on_the_call_staff_screen_only_among_outcomes(self) -> None:
        retry = UiOutcome("outcome_retry", "T01")
        self.shell.show(replace(UiState(), screen="error", outcome=retry))
        self.hold_title(0.2)
        assert self.shell.ids.manager.current == "error" and not self.shell.staff_open
        call = UiOutcome("outcome_call_staff", "M02", refund_owed=300)
        self.shell.show(replace(UiState(), screen="error", outcome=call))
        self.open_board()
        shown = texts(self.staff)
        assert ST("staff_calling", code="M02") in shown and ST("staff_calling_owed", yen="300") in shown
        self.tap(self.staff.ids.exit)  # 終了 without clearing: the call-staff screen again, still calling
        assert self.shell.ids.manager.current == "error" and self.flow.intents == []
        self.open_board()
        assert self.staff.clear_call_button is not None
        self.tap(self.staff.clear_call_button)
        assert self.flow.intents == [("clear_call", None)] and not self.shell.staff_open

    def test_the_flow_views_do_not_override_staff_mode(self) -> None:
        self.open_board()
        self.shell.show(UiState())  # the flow publishes its attract view again
        self.advance_frames(1)
        assert self.shell.ids.manager.current == "staff" and self.staff.page == "board"

    def wait_for_text(self, wanted: str, timeout: float = 5.0) -> list[str]:
        deadline = time.monotonic() + timeout
        while wanted not in (shown := texts(self.staff)) and time.monotonic() < deadline:
            self.advance_frames(1)
            time.sleep(0.02)
        return shown

    def test_the_self_test_button_shows_the_results_on_the_board(self) -> None:
        self.open_board()
        assert self.staff.ids.self_test.text == ST("staff_self_test") == "自己診断"
        self.tap(self.staff.ids.self_test)
        shown = self.wait_for_text(ST("staff_self_test_results"))
        assert ST("staff_device_ok", device="交付センター") in shown, shown
        assert not any(
            "version 1.0.0" in line for line in shown
        )  # one language: the driver's English not shown
        assert ST("staff_device_failed", device="プリンター", detail="paper out") in shown
        assert self.staff.board_message == ""

    def test_the_self_test_is_refused_while_a_resident_is_served(self) -> None:
        self.open_board()
        self.journal.begin("T-0002")
        self.tap(self.staff.ids.self_test)
        busy = ST("staff_refused", reason=ST("staff_why_busy"))
        deadline = time.monotonic() + 5
        while self.staff.board_message != busy and time.monotonic() < deadline:
            self.advance_frames(1)
            time.sleep(0.02)
        assert self.staff.board_message == busy
        assert ST("staff_self_test_results") not in texts(self.staff)

    def test_guessing_across_entries_meets_a_back_off_then_a_lockout(self) -> None:
        """Three wrong codes close staff mode; holding the title again gives no fresh tries."""
        now = [1000.0]
        self.staff.guard = PasscodeGuard(VERIFIER, clock=lambda: now[0], journal=self.journal)
        self.hold_title(0.2)
        for code in ("1111", "2222", "3333"):
            self.passcode(code)
        assert self.shell.ids.manager.current == "attract"
        self.hold_title(0.2)  # a fresh entry …
        self.passcode("4444")  # … but the fourth wrong code in a row starts a back-off
        assert self.staff.passcode_message == ST("staff_passcode_wait", s=30)
        self.passcode(PASSCODE)  # not even checked meanwhile
        wait = ST("staff_passcode_wait", s=30)
        assert self.staff.page == "passcode" and self.staff.passcode_message == wait
        self.staff.leave()
        now[0] += 5
        self.hold_title(0.2)
        assert self.staff.passcode_message == ST("staff_passcode_wait", s=25)  # said on entry
        now[0] += 25
        self.passcode(PASSCODE)
        assert self.staff.page == "board" and self.staff.guard.failures == 0
        self.tap(self.staff.ids.exit)
        for _ in range(10):  # a guesser with all the time in the world
            self.hold_title(0.2)
            for code in ("5555", "6666", "7777"):
                wait = self.staff.guard.wait_left()
                if wait is None:
                    break
                now[0] += wait
                self.passcode(code)
            if self.staff.guard.locked_out:
                break
            self.staff.leave()
        assert self.staff.guard.locked_out
        locked = ST("staff_passcode_locked", code="S01")
        assert self.staff.passcode_message == locked and "S01" in locked
        now[0] += 86_400
        self.passcode(PASSCODE)
        assert self.staff.page == "passcode" and self.staff.passcode_message == locked
        assert any(d == "staff passcode" and "S01" in detail for _k, d, detail in self.journal.faults(""))


class CallStaffTest(StaffShellTest):
    """The call-staff screen on the real flow (kiosk.flow.Flow on fakes at its ports): change owed."""

    def setUp(self) -> None:
        super().setUp()
        self.kiosk, _ = build_kiosk(self.tmp / "flow")
        self.shell.on_intent = lambda kind, value: self.kiosk.flow.post(to_flow_event(kind, value))
        self.kiosk.flow.subscribe(lambda view: self.shell.show(from_view(view)))
        self.staff.access = StaffAccess(Diagnostics(self.kiosk.journal), VERIFIER)
        self.kiosk.cash.hopper = 50  # 150 yen of the change cannot be paid out
        self.kiosk.to_pay()
        self.kiosk.cash.insert(500)
        self.advance_frames(2)

    def tearDown(self, fake: bool = False) -> None:
        self.kiosk.journal.close()
        super().tearDown(fake)

    def test_it_outlasts_the_outcome_timeout_the_resident_cannot_end_it_staff_clear_it(self) -> None:
        flow = self.kiosk.flow
        screen = self.shell.current
        assert self.shell.ids.manager.current == "error" and self.shell.calling_staff
        assert screen.message_text == "店員をお呼びください" and "150円" in screen.money_text
        self.tap(screen.ids.finish)  # no button there: a tap where it would be does nothing
        self.shell.send("finish")  # and a 終了 reaching the flow is refused
        self.kiosk.clock.now += Timeouts().outcome + 60
        self.kiosk.post(ev.Tick())
        self.advance_frames(2)
        assert flow.view.screen is Screen.FAILED and self.shell.ids.manager.current == "error"
        assert self.shell.countdown_text == ""  # no countdown: nothing the resident can do with time
        self.open_board()
        shown = texts(self.staff)
        assert ST("staff_calling", code="M02") in shown and ST("staff_calling_owed", yen="150") in shown
        self.tap(self.staff.clear_call_button)
        self.advance_frames(2)
        assert flow.view.screen is Screen.ATTRACT and self.shell.ids.manager.current == "attract"
        assert not self.shell.staff_open
        (item,) = Diagnostics(self.kiosk.journal).open_items()  # the owed change is still for staff to settle
        assert (item.kind, item.yen) == ("owed", 150)

    def test_after_its_long_timeout_it_returns_to_the_start_screen_by_itself(self) -> None:
        self.kiosk.clock.now += Timeouts().call_staff + 1
        self.kiosk.post(ev.Tick())
        self.advance_frames(2)
        assert self.shell.ids.manager.current == "attract" and not self.shell.calling_staff
        assert [i.yen for i in Diagnostics(self.kiosk.journal).open_items()] == [150]


def test_devices_are_named_in_the_staff_language() -> None:
    assert device_name(ST, "reader") == "カードリーダー"
    assert device_name(ST, "hopper 100 yen") == "釣銭ホッパー 100円"
    en = Translator("en", domain=STAFF_DOMAIN)
    assert device_name(en, "bill validator") == "bill validator"
    assert device_name(en, "center") == "issuance center"
    assert device_name(ST, "scanner") == "scanner"  # a name the drivers do not use stays as it is
    line = device_text(ST, DeviceStatus("printer", False, "media-jam"))
    assert line.startswith("プリンター") and "media-jam" in line
