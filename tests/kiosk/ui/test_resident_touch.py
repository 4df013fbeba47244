"""The touchscreen against real fingers (off screen, Kivy's own input dispatch): no tap-through from a
double tap, forward and destructive buttons never in one place on consecutive screens, pressed buttons
look pressed, the cancel question, more time, a short PIN, a refusal the resident can act on, every yen
that came out, the card chase. The real window under Xvfb with X events: tests/kiosk/desktop/."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

from kivy.tests.common import UnitTestTouch
from ui_helpers import FakeFlow, TouchTest

from harness.ui.samples import MENU, sample_states
from kiosk.ui.app import TAP_GUARD, build_shell
from kiosk.ui.bridge import UiMenuItem, UiOutcome, UiState
from kiosk.ui.i18n import Translator
from kiosk.ui.theme import THEME

JA, EN = Translator("ja"), Translator("en")
SAMPLES = sample_states()


def rect(widget: Any) -> tuple[float, float, float, float]:
    x, y = widget.to_window(widget.x, widget.y)
    return x, y, x + widget.width, y + widget.height


def overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


class ResidentTouchTest(TouchTest):
    def setUp(self) -> None:
        super().setUp()
        self.Window.size = (800, 600)
        self.flow = FakeFlow()
        self.shell = build_shell(on_intent=self.flow)
        self.flow.shell = self.shell
        self.Window.add_widget(self.shell)
        self.advance_frames(1)

    def tearDown(self, fake: bool = False) -> None:
        self.shell.sound.stop_reminder()
        super().tearDown(fake)

    def show(self, state: UiState, frames: int = 2) -> None:
        self.shell.show(state)
        self.advance_frames(frames)

    def settle(self) -> None:
        """Wait out the guard, as a resident reading the new screen does."""
        time.sleep(self.shell.tap_guard + 0.05)

    def test_a_tap_right_after_a_screen_appears_is_ignored(self) -> None:
        assert self.shell.tap_guard == TAP_GUARD >= 0.6  # double taps land 100-600 ms apart
        self.show(SAMPLES["confirm"])
        self.settle()
        self.tap(self.shell.current.ids.ok_button)
        assert self.flow.kinds() == ["confirm"]
        self.show(SAMPLES["pay"])  # the flow moved on; the second tap of a double tap arrives
        self.tap(self.shell.current.ids.cancel)
        assert self.flow.kinds() == ["confirm"] and self.shell.swallowed == 1
        self.settle()
        self.tap(self.shell.current.ids.cancel)  # a deliberate tap, later, counts
        assert self.flow.kinds() == ["confirm", "cancel"]

    def test_a_touch_that_began_on_the_previous_screen_does_nothing_on_the_next(self) -> None:
        self.shell.tap_guard = 0.0
        self.show(SAMPLES["options"])
        button = self.shell.current.ids.next_button
        touch = UnitTestTouch(*button.to_window(*button.center))
        touch.touch_down()
        self.show(SAMPLES["copies"])  # the screen changed under the finger (a timeout, the card …)
        touch.touch_up()
        self.advance_frames(1)
        assert self.flow.kinds() == []

    def test_forward_and_destructive_buttons_never_share_a_place_on_consecutive_screens(self) -> None:
        wait = replace(SAMPLES["wait"], wait_title="wait_issuing")
        error = replace(SAMPLES["error"], screen="error")
        steps = [  # (screen, its button) then (the next screen, a button that must not be there)
            ("options", "next_button", SAMPLES["copies"], "cancel"),
            ("options", "cancel", SAMPLES["cancel_ask"], "cancel"),
            ("copies", "next_button", SAMPLES["confirm"], "cancel"),
            ("copies", "next_button", SAMPLES["confirm"], "back"),
            ("confirm", "ok_button", wait, "cancel"),
            ("confirm", "ok_button", SAMPLES["pay"], "cancel"),
            ("pay", "cancel", SAMPLES["cancel_ask"], "cancel"),
            ("pay", "cancel", error, "finish"),
            ("cancel_ask", "cancel", error, "finish"),
            ("route", "cancel", error, "finish"),
            ("pin", "cancel", error, "finish"),
        ]
        for first, button, then, other in steps:
            self.show(SAMPLES[first])
            if first == "options":
                self.shell.current.ids.back = self._child_text(self.shell.current, JA("back"))
            here = rect(self.shell.current.ids[button])
            self.show(then)
            widget = self.shell.current.ids.get(other) or self._child_text(self.shell.current, JA(other))
            assert not overlap(here, rect(widget)), (first, button, then.screen, other)
        self.show(SAMPLES["options"])
        back = rect(self._child_text(self.shell.current, JA("back")))
        self.show(SAMPLES["choose_type"])
        assert not overlap(back, rect(self.shell.current.ids.cancel))  # 戻る never lands on 取消

    def _child_text(self, root: Any, text: str) -> Any:
        from ui_helpers import walk

        return next(w for w in walk(root) if getattr(w, "text", None) == text)

    def test_a_pressed_button_looks_pressed(self) -> None:
        self.shell.tap_guard = 0.0
        self.show(SAMPLES["confirm"])
        for button, normal in (
            (self.shell.current.ids.ok_button, THEME.accent),
            (self.shell.current.ids.cancel, THEME.secondary),
        ):
            touch = UnitTestTouch(*button.to_window(*button.center))
            touch.touch_down()
            self.advance_frames(1)
            assert button.state == "down" and list(button.background_color) != list(normal)
            touch.touch_up()
            time.sleep(0.1)  # Kivy keeps the pressed state a moment (min_state_time)
            self.advance_frames(2)
            assert button.state == "normal" and list(button.background_color) == list(normal)

    def test_the_cancel_question_and_its_answers(self) -> None:
        self.shell.tap_guard = 0.0
        self.show(replace(SAMPLES["pay"], language="en", cancel_asked=True))
        screen = self.shell.current
        assert self.shell.ids.manager.current == "cancel_ask"
        assert screen.title_text == EN("cancel_ask_title") and screen.hint_text == EN("cancel_ask_money")
        self.tap(screen.ids.keep)
        self.tap(screen.ids.cancel)
        assert self.flow.kinds() == ["keep_going", "cancel_confirmed"]
        self.show(replace(SAMPLES["copies"], cancel_asked=True))
        assert self.shell.current.hint_text == JA("cancel_ask_restart")  # no money in: start again

    def test_more_time_button_and_any_touch_while_the_countdown_warns(self) -> None:
        self.shell.tap_guard = 0.0
        self.show(replace(SAMPLES["copies"], countdown=30))
        assert self.shell.ids.more_time.disabled and self.shell.ids.more_time.opacity == 0
        self.show(replace(SAMPLES["copies"], countdown=8, countdown_warning=True))
        assert not self.shell.ids.more_time.disabled and self.shell.more_time_text == JA("more_time")
        self.tap(self.shell.ids.more_time)
        assert "more_time" in self.flow.kinds()
        self.flow.intents.clear()
        self.tap(self.shell.current.ids.more)  # a tap anywhere asks for more time too, and still works
        assert self.flow.kinds() == ["more_time"] and self.shell.current.copies == 3

    def test_ok_with_a_short_pin_says_four_digits_are_needed(self) -> None:
        self.shell.tap_guard = 0.0
        self.show(replace(UiState(), screen="pin", tries_left=3, language="en"))
        screen = self.shell.current
        for key in ("1", "2", "ok"):
            self.tap(screen.key(key))
        assert screen.message_text == EN("pin_too_short") and screen.entered == 2
        assert "pin" not in self.flow.kinds()

    def test_a_greyed_out_certificate_says_what_the_resident_can_do(self) -> None:
        issued = UiMenuItem("inkan", 300, False, 3, unavailable_key="unavail_issued_today")
        self.show(replace(SAMPLES["choose_type"], menu=(MENU[0], issued)))
        from ui_helpers import walk

        button = next(w for w in walk(self.shell.current) if getattr(w, "cert_type", None) == "inkan")
        assert button.disabled and JA("unavail_issued_today") in button.text
        assert JA("type_unavailable") not in button.text

    def test_the_outcome_screens_say_every_yen_that_came_out(self) -> None:
        jam = UiOutcome("outcome_take_your_money", "PR1", refunded=200)
        self.show(replace(UiState(), screen="error", outcome=jam, change=300))
        money = self.shell.current.money_text
        assert JA("refunded") in money and "200" in money and JA("pay_change") in money and "300" in money
        self.show(replace(SAMPLES["done"], change=600))
        assert "600" in self.shell.current.change_text

    def test_a_card_left_on_the_reader_is_chased_with_the_reminder(self) -> None:
        self.show(replace(UiState(), screen="remove_card", chase_card=True))
        assert self.shell.ids.manager.current == "remove_card"
        assert self.shell.current.hint_text == JA("take_card_hint") and self.shell.sound.reminding
        self.show(UiState())
        assert not self.shell.sound.reminding
