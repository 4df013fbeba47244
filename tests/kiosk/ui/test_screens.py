"""The real screens on an off-screen window (SDL2 on llvmpipe): every screen in every language, touch-driven
PIN entry against a flow faked at the seam, countdown, cancel, the locked screen, touch target sizes."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from kivy.core.text import Label as CoreLabel
from kivy.metrics import mm
from kivy.tests.common import GraphicUnitTest
from kivy.uix.button import Button
from ui_helpers import FakeFlow, TouchTest, texts, walk

from harness.ui.gallery import render_sample
from harness.ui.samples import sample_states
from kiosk.flow.view import Outcome, Screen, ViewState
from kiosk.ui.app import build_shell
from kiosk.ui.bridge import SCREENS, UiOutcome, UiState, from_view
from kiosk.ui.i18n import LANGUAGES, Translator
from kiosk.ui.theme import THEME


def distinct_colours(widget: Any) -> int:
    pixels = widget.export_as_image().texture.pixels
    return len({pixels[i : i + 4] for i in range(0, len(pixels), 4 * 97)})


def glyph_pixels(text: str, font: str) -> bytes:
    label = CoreLabel(text=text, font_name=font, font_size=32)
    label.refresh()
    return bytes(label.texture.pixels)


class ScreenTest(TouchTest):
    def setUp(self) -> None:
        super().setUp()
        self.Window.size = (800, 600)
        self.flow = FakeFlow()
        self.shell = build_shell(on_intent=self.flow)
        self.shell.tap_guard = 0.0  # taps come right after each show (the guard: test_resident_touch.py)
        self.flow.shell = self.shell
        self.Window.add_widget(self.shell)
        THEME.large = False
        self.advance_frames(1)

    def tearDown(self, fake: bool = False) -> None:
        self.shell.sound.stop_reminder()
        THEME.large = False
        super().tearDown(fake)

    def show(self, state: UiState, frames: int = 1) -> None:
        self.shell.show(state)
        self.advance_frames(frames)

    def test_every_screen_renders_in_every_language(self) -> None:
        keys = {k for k in Translator("ja")._catalog._catalog if isinstance(k, str)} - {""}  # type: ignore[attr-defined]
        for language in LANGUAGES:
            for name, state in sample_states(language).items():
                render_sample(self.shell, name, state, language)
                self.advance_frames(1)
                assert self.shell.ids.manager.current == name
                if language in ("ja", "ko"):  # drawn, not blank (the fit test lays every language out)
                    assert distinct_colours(self.shell) > 3, (name, language)
                shown = [*texts(self.shell.current), self.shell.header_text]
                assert not keys & set(shown), (name, language, keys & set(shown))
                if state.screen == "attract":
                    assert self.shell.language == language  # the gallery's pictures are in their language
        assert set(sample_states()) == set(SCREENS)

    def test_cjk_text_renders_as_glyphs_not_boxes(self) -> None:
        box = glyph_pixels("\ue000\ue001", "KioskJa")  # private use: the font's missing-glyph box
        assert glyph_pixels("行政", "KioskJa") != box
        assert glyph_pixels("\ue000\ue001", "KioskCjk") != glyph_pixels("한국", "KioskCjk")
        assert glyph_pixels("行政", "KioskJa") != glyph_pixels("政行", "KioskJa")

    def test_pin_wrong_then_right_by_touch(self) -> None:
        self.show(replace(UiState(), screen="pin", tries_left=3))
        screen = self.shell.current
        keys = screen._keys
        for digit in "1111":
            self.tap(keys[digit])
        assert screen.filled == 4
        self.tap(keys["ok"])
        assert self.flow.intents[-1] == ("pin", "1111")
        assert screen.entered == 0 and screen.filled == 0
        assert screen.message_text == Translator("ja").plural("pin_wrong_tries", 2)  # one merged warning
        for digit in "12":
            self.tap(keys[digit])
        self.tap(keys["clear"])
        assert screen.entered == 0
        for digit in "1234":
            self.tap(keys[digit])
        self.tap(keys["ok"])
        assert self.flow.intents[-1] == ("pin", "1234")
        assert self.shell.ids.manager.current == "remove_card"
        assert screen.entered == 0
        assert not any("1234" in t or "1111" in t for t in texts(self.Window))
        assert "error" in self.shell.sound.played and "click" in self.shell.sound.played

    def test_ok_needs_four_digits_and_last_try_warns(self) -> None:
        self.flow.tries = 2
        self.show(replace(UiState(), screen="pin", tries_left=2))
        screen = self.shell.current
        for digit in "123":
            self.tap(screen._keys[digit])
        self.tap(screen._keys["ok"])
        assert "pin" not in self.flow.kinds()
        for digit in "99":
            self.tap(screen._keys[digit])
        assert screen.entered == 4  # at most four digits
        self.tap(screen._keys["ok"])
        assert screen.message_text == Translator("ja")("pin_wrong_last")
        self.tap(screen._keys["5"])
        self.show(replace(self.shell.state, screen="attract"))
        assert screen.entered == 0  # leaving clears the keypad

    def test_countdown_is_shown_and_warns(self) -> None:
        self.show(replace(UiState(), screen="route", countdown=30))
        assert self.shell.countdown_text == "残り30秒" and not self.shell.notice_text
        self.show(replace(UiState(), screen="route", countdown=5, countdown_warning=True, language="en"))
        assert self.shell.countdown_text == "5\u00a0seconds left"
        assert self.shell.notice_text == "Time is almost up"
        assert list(self.shell.ids.countdown.color) == list(THEME.warn)
        self.show(replace(UiState(), screen="route"))
        assert self.shell.countdown_text == ""

    def test_cancel_sends_cancel(self) -> None:
        for name in ("route", "place_card", "pay"):
            self.show(replace(sample_states()[name]))
            self.tap(self.shell.current.ids.cancel)
            assert self.flow.intents[-1] == ("cancel", None), name

    def test_start_carries_the_chosen_language(self) -> None:
        self.show(UiState())
        self.tap(self.shell.current.ids.language)
        assert self.shell.ids.manager.current == "language"
        korean = next(b for b in walk(self.shell.current) if getattr(b, "language", None) == "ko")
        self.tap(korean)
        assert self.shell.ids.manager.current == "attract" and self.shell.header_text == "행정 서비스"
        self.tap(self.shell.current.ids.start)
        assert self.flow.intents[-1] == ("start", "ko")

    def test_locked_screen_from_the_flow_view(self) -> None:
        view = ViewState(  # the flow's own view state (the bridge is typed on it)
            screen=Screen.FAILED,
            language="en",
            message_key="go_to_city_hall",
            tries_left=0,
            outcome=Outcome("go_to_city_hall", "pin_locked", "P01"),
        )
        self.show(from_view(view))
        screen = self.shell.current
        assert self.shell.ids.manager.current == "locked"
        assert screen.title_text == "Your PIN is locked" and screen.code_text == "Error code P01"
        assert "city hall" in screen.where_text
        self.tap(screen.ids.finish)
        assert self.flow.intents[-1] == ("finish", None)

    def test_done_repeats_the_reminder_until_stopped(self) -> None:
        self.show(sample_states()["done"])
        assert self.shell.sound.reminding
        self.tap(self.shell.current.ids.stop)
        assert not self.shell.sound.reminding and "finish" not in self.flow.kinds()  # 音声停止 only silences
        self.show(sample_states()["done"])  # the flow republishes (a countdown): the reminder stays off
        assert not self.shell.sound.reminding
        self.tap(self.shell.current.ids.finish)
        assert self.flow.intents[-1] == ("finish", None)

    def test_touch_targets_are_at_least_12mm_and_large_text_grows(self) -> None:
        least = mm(12) - 1
        for language in ("ja", "en"):
            for state in sample_states(language).values():
                self.show(state, frames=2)
                for button in (w for w in walk(self.shell) if isinstance(w, Button) and w.opacity > 0):
                    assert button.height >= least and button.width >= least, (state.screen, button.text)
        body = THEME.fs_body
        self.tap(self.shell.ids.large_text)
        assert THEME.large and THEME.fs_body > body

    def test_error_outcome_shows_refund_and_staff_code(self) -> None:
        outcome = UiOutcome("outcome_call_staff", "PR2", refunded=200, refund_owed=200)
        self.show(replace(UiState(), screen="error", language="en", outcome=outcome))
        screen = self.shell.current
        assert screen.message_text == "Please call a staff member" and screen.code_text == "Error code PR2"
        assert "Refund: ¥200" in screen.money_text and "Not yet returned: ¥200" in screen.money_text

    def test_error_screen_says_what_happened_above_what_to_do(self) -> None:
        view = ViewState(
            screen=Screen.FAILED,
            language="ja",
            outcome=Outcome("take_your_money", "print_failed", "PR1", 400),
        )
        self.show(from_view(view))
        screen = self.shell.current
        cause, message = screen.ids.cause, screen.ids.message
        assert (cause.text, message.text) == ("証明書を印刷できませんでした", "お金をお取りください")
        assert cause.y > message.y and cause.height > 0  # read first: above the instruction, not hidden
        self.show(replace(from_view(view), outcome=UiOutcome("outcome_call_staff", "S02")))
        assert screen.cause_text == "" and screen.ids.cause.height == 0


class AppSeamTest(GraphicUnitTest):  # type: ignore[misc]
    def test_app_renders_published_views_and_posts_events(self) -> None:
        from kiosk.flow import events as ev
        from kiosk.flow.view import Screen, ViewState
        from kiosk.ui.app import KioskApp

        class Flow:
            def __init__(self) -> None:
                self.observers: list[Any] = []
                self.posted: list[object] = []

            def subscribe(self, observer: Any) -> None:
                self.observers.append(observer)

            def post(self, event: object) -> None:
                self.posted.append(event)

        flow = Flow()
        app = KioskApp(flow)
        shell = app.build()
        self.addCleanup(app.guard.detach, self.Window)
        self.Window.add_widget(shell)
        flow.observers[0](ViewState(screen=Screen.ROUTE, language="vi", countdown=9))
        self.advance_frames(2)  # the view arrives through Clock, on the UI thread
        assert shell.ids.manager.current == "route" and shell.countdown_text == "Còn 9\u00a0giây"
        shell.current.ids.honseki.dispatch("on_release")
        assert flow.posted == [ev.ChooseRoute(route="honseki")]
        shell.sound.stop_reminder()
