"""The warm-up (#13, kiosk.ui.warmup): while the start screen idles, the screens a resident meets next are
laid out and their texts drawn; a touch pauses it at once; it never changes what the resident sees."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from fit_helpers import fit_problems, settle
from kivy.core.text import Label as CoreLabel
from kivy.tests.common import UnitTestTouch
from kivy.uix.label import Label
from ui_helpers import FakeFlow, TouchTest, walk

from harness.ui.gallery import render_sample
from harness.ui.samples import MENU, sample_states
from kiosk.ui.app import build_shell
from kiosk.ui.i18n import LANGUAGES, Translator
from kiosk.ui.theme import THEME
from kiosk.ui.warmup import ORDER, WarmUp
from kiosk.ui.widgets import STEP_TEXTURES

SAMPLES = sample_states("ja")


def unmeasured(screen: Any) -> list[str]:
    """Texts on ``screen`` that Kivy has not measured (and so would measure and draw at the next frame)."""
    return [
        f"{type(w).__name__} {w.text[:30]!r}"
        for w in walk(screen)
        if isinstance(w, Label) and w.text.strip() and (w._trigger_texture.is_triggered or w.texture is None)
    ]


def stale(screen: Any) -> list[str]:
    """Labels whose drawn text is not their text (a text the warm-up took over and never gave back)."""
    return [
        f"{type(w).__name__} {w.text[:30]!r} drawn as {w._label.text[:30]!r}"
        for w in walk(screen)
        if isinstance(w, Label) and w.text.strip() and w._label.text != w.text and not w.markup
    ]


class WarmUpTest(TouchTest):
    def setUp(self) -> None:
        super().setUp()
        self.Window.size = (800, 600)
        THEME.large = False
        self.flow = FakeFlow()
        self.shell = build_shell(on_intent=self.flow)
        self.shell.tap_guard = 0.0
        self.flow.shell = self.shell
        self.Window.add_widget(self.shell)
        self.warmup: WarmUp = self.shell.warmup
        self.warmup.quiet = 0.0  # no one at the kiosk: the tests do not wait for a quiet spell
        self.warmup.stop()
        self.warmup.idle()

    def tearDown(self, fake: bool = False) -> None:
        self.shell.sound.stop_reminder()
        THEME.large = False
        super().tearDown(fake)

    def frames_until(self, done: Any, limit: int = 600, draw: bool = True) -> None:
        """Frames (drawn, or with ``draw`` False only their clock work: faster) until ``done()``."""
        for _ in range(limit):
            if done():
                return
            if draw:
                self.advance_frames(1)
            else:
                settle(1)
        raise AssertionError(f"not done after {limit} frames")

    def test_after_the_warm_up_every_screen_is_built_and_its_text_drawn(self) -> None:
        cold = build_shell(warm_up=False)
        assert cold.warmup is None and unmeasured(cold.screens["route"]) == []  # never rendered: no text yet
        self.frames_until(lambda: self.warmup.warm)
        manager = self.shell.ids.manager
        assert manager.current == "attract"
        for name in ORDER:
            screen = self.shell.screens[name]
            assert tuple(screen.size) == tuple(manager.size), name
            assert unmeasured(screen) == [], name
            assert any(isinstance(w, Label) and w.texture_size[0] > 1 for w in walk(screen)), name
        language = self.shell.screens["language"]
        assert sorted(b.language for b in language.ids.grid.children) == sorted(LANGUAGES)
        assert len(self.shell.screens["choose_type"].ids.grid.children) == 4
        # a screen shown now has nothing left to measure: its first visit costs what any visit costs
        self.shell.show(SAMPLES["route"])
        assert unmeasured(self.shell.current) == []

    def test_a_touch_mid_warm_up_is_handled_at_once_and_the_warm_up_gives_way(self) -> None:
        self.frames_until(lambda: self.warmup.slices >= 3)
        assert not self.warmup.warm and self.warmup.running
        self.warmup.quiet = 60.0  # the resident stays: the warm-up must not resume under their finger
        slices = self.warmup.slices
        self.tap(self.shell.current.ids.start)  # touch down, up and one frame
        assert self.flow.kinds() == ["start"]
        assert not self.warmup.running and self.warmup.slices <= slices + 1
        self.shell.show(SAMPLES["route"])
        self.advance_frames(3)
        assert self.warmup.slices <= slices + 1 and not self.warmup.running
        assert stale(self.shell.current) == [] and unmeasured(self.shell.current) == []
        assert fit_problems(self.shell, "ja", (800, 600)) == []

    def test_a_screen_the_warm_up_was_part_way_through_is_shown_whole(self) -> None:
        """Paused in the middle of each screen in turn (texts taken from Kivy's clock and not yet drawn), the
        screen then shown draws every text of its own, and fits."""
        self.warmup.budget = 0.0  # one step a slice: a pause can land between any two texts
        untried = list(ORDER)
        for _ in range(5000):
            if not untried:
                break
            settle(1)  # a frame's clock work (a slice), without drawing it: faster
            name = next((n for n in untried if self.warmup._held.get(n)), None)
            if name is None:
                continue
            self.warmup.touched()
            render_sample(self.shell, name, SAMPLES[name], "ja")
            settle()
            assert stale(self.shell) == [], name
            assert unmeasured(self.shell.current) == [], name
            assert fit_problems(self.shell, "ja", (800, 600)) == [], name
            untried.remove(name)
            render_sample(self.shell, "attract", SAMPLES["attract"], "ja")  # the warm-up starts over
        assert untried == []

    def test_the_warm_up_never_changes_what_a_resident_sees(self) -> None:
        self.tap(self.shell.current.ids.language)
        english = next(b for b in walk(self.shell.current) if getattr(b, "language", None) == "en")
        self.tap(english)
        self.tap(self.shell.ids.large_text)
        self.warmup.quiet = 0.0
        self.frames_until(lambda: self.warmup.warm)
        attract = self.shell.current
        assert self.shell.ids.manager.current == "attract" and self.shell.language == "en" and THEME.large
        assert self.shell.header_text == "Government services" and attract.start_text == Translator("en")(
            "attract_start"
        )
        assert self.flow.intents == [] and not self.shell.sound.reminding
        # the next screens show the resident's state, not the warm-up's
        options = replace(
            SAMPLES["options"], language="en", options=(("honseki", "false"), ("scope", "selected"))
        )
        self.shell.show(options)
        toggles = [t for t in walk(self.shell.current) if getattr(t, "option", None)]
        chosen = {t.option for t in toggles if t.state == "down"}
        assert chosen == {("honseki", "false"), ("scope", "selected")}
        self.shell.show(replace(SAMPLES["choose_type"], language="en"))
        tiles = [t for t in walk(self.shell.current) if getattr(t, "cert_type", "")]
        assert sorted(t.cert_type for t in tiles) == sorted(m.type for m in MENU)
        assert [t.cert_type for t in tiles if t.disabled] == ["shotoku_kazei"]  # the resident's, not all open
        # a transaction ends: the next resident gets Japanese and normal text, warm-up or not
        self.shell.show(SAMPLES["attract"])
        self.frames_until(lambda: self.warmup.warm)
        assert self.shell.language == "ja" and not THEME.large and self.shell.header_text == "行政サービス"
        assert self.shell.ids.manager.current == "attract" and self.shell.current.start_text == "はじめる"
        assert self.warmup.menu[0].type == MENU[0].type and all(m.available for m in self.warmup.menu)

    def test_no_warm_up_away_from_the_start_screen(self) -> None:
        self.shell.show(SAMPLES["pin"])
        slices = self.warmup.slices
        self.advance_frames(5)
        assert self.warmup.slices == slices and not self.warmup.running
        assert self.shell.screens["pin"].entered == 0

    def test_the_step_indicator_finds_its_texts_drawn(self) -> None:
        STEP_TEXTURES.clear()
        self.frames_until(lambda: self.warmup.warm)
        drawn = len(STEP_TEXTURES)
        assert drawn >= 2 * 6  # every step, current and not
        assert self.shell.ids.steps.opacity == 0  # the shell's own indicator stays hidden on the start screen
        for name in ("place_card", "pin", "choose_type", "confirm", "pay", "printing"):
            self.shell.show(SAMPLES[name])
            settle()
            assert len(STEP_TEXTURES) == drawn, name  # no step text drawn anew on the visit

    def test_larger_text_on_the_start_screen_redraws_only_what_is_shown(self) -> None:
        """The tap on larger text (or a language in another font) is drawn without every warm screen's text
        being redrawn in the same frame; each screen, when shown, has its text at the new size."""
        self.frames_until(lambda: self.warmup.warm)
        self.warmup.quiet = 60.0  # the resident is still there
        button = self.shell.ids.large_text
        touch = UnitTestTouch(*button.to_window(*button.center))
        touch.touch_down()
        touch.touch_up()  # the frame that draws this tap has not run yet
        assert THEME.large
        hidden = [s for n, s in self.shell.screens.items() if n != "attract"]
        assert sum(len(unmeasured(s)) for s in hidden) == 0  # none left to Kivy's clock for that frame
        assert unmeasured(self.shell.current) != []  # what is shown is redrawn in it
        self.advance_frames(1)
        for name in ("route", "pin", "confirm"):
            self.shell.show(SAMPLES[name])
            settle()
            assert stale(self.shell.current) == [] and unmeasured(self.shell.current) == [], name
            font_sizes = {w.font_size for w in walk(self.shell.current) if isinstance(w, Label) and w.text}
            assert THEME.fs_body in font_sizes, name
            assert fit_problems(self.shell, "ja", (800, 600)) == [], name

    def test_larger_text_measures_and_lays_out_no_hidden_screen_in_its_frame(self) -> None:
        """The frame that draws the tap on larger text measures no text of a screen not shown, not even one
        whose width the new sizes change (the PIN keypad grows with the keys): those screens' layouts wait
        too. Each is laid out at the new sizes, and fits, when it is next shown."""
        self.frames_until(lambda: self.warmup.warm)
        self.warmup.quiet = 60.0  # the resident is still there
        hidden = [s for n, s in self.shell.screens.items() if n != "attract"]
        labels = [w for s in hidden for w in walk(s) if isinstance(w, Label) and w.text.strip()]
        measured = {id(w): w._label._cached_lines for w in labels}  # a new list each time Kivy measures
        self.tap(self.shell.ids.large_text)  # touch down, up and the frame that draws it
        assert THEME.large
        again = [
            f"{w.parent.__class__.__name__} {w.text[:20]!r}"
            for w in labels
            if w._label._cached_lines is not measured[id(w)]
        ]
        assert again == []
        for name in ("pin", "pay", "choose_type"):
            self.shell.show(SAMPLES[name])
            settle()
            assert stale(self.shell.current) == [] and unmeasured(self.shell.current) == [], name
            assert fit_problems(self.shell, "ja", (800, 600)) == [], name
            if name == "pin":
                keys = [w for w in walk(self.shell.current) if type(w).__name__ == "PinKey"]
                assert keys and min(k.height for k in keys) >= THEME.key - 0.5
                assert {k.font_size for k in keys if len(k.text) == 1} == {THEME.fs_title}

    def test_larger_text_measures_each_pin_key_once(self) -> None:
        """The keypad's width follows the key size: the theme sets it before the text sizes, so a key's text
        is measured once, at its new width, not first at the old width and again after the layout."""
        self.shell.show(SAMPLES["pin"])
        settle()
        keys = [w for w in walk(self.shell.current) if type(w).__name__ == "PinKey"]
        measured: list[str] = []
        for key in keys:
            render = key._label.render

            def counted(real: bool = False, _render: Any = render, _text: str = key.text) -> Any:
                if not real:
                    measured.append(_text)
                return _render(real)

            key._label.render = counted
        for large in (True, False):
            measured.clear()
            THEME.large = large
            settle()
            assert len(keys) >= 10 and sorted(measured) == sorted(k.text for k in keys), large

    def test_the_warm_up_opens_the_faces_of_larger_text_ahead(self) -> None:
        """The first tap on larger text opens no font face (Kivy's SDL2 text provider keeps one per font id:
        file and size): the warm-up opened the larger sizes' faces of the shell's font, and in larger text,
        the normal sizes'."""
        from kivy.core.text.text_sdl2 import LabelSDL2

        if not issubclass(CoreLabel, LabelSDL2):
            self.skipTest("another text provider")
        asked: set[str] = set()
        font_id = LabelSDL2._get_font_id

        def recorded(label: Any) -> str:
            asked.add(font_id(label))
            return str(font_id(label))

        LabelSDL2._get_font_id = recorded  # type: ignore[method-assign]
        try:
            self.frames_until(lambda: self.warmup.warm)
            self.warmup.quiet = 60.0  # the resident is still there
            for large in (True, False):
                opened = set(asked)
                larger_text_sizes = {f"{size}|" for size in THEME.text_sizes(large)}
                assert {i.split("|")[0] + "|" for i in opened} >= larger_text_sizes
                self.tap(self.shell.ids.large_text)  # down, up and the frame that draws it
                assert THEME.large is large
                # every face the texts on display use now was opened before the tap (this shell's texts:
                # shells of tests before this one may still be alive in this process, and redraw theirs)
                used = {
                    font_id(w._label) for w in walk(self.shell) if isinstance(w, Label) and w.text.strip()
                }
                assert used and used - opened == set(), large
                self.warmup.quiet = 0.0
                self.warmup.touched()  # the resident's finger is gone: warm up again, no wait
                self.frames_until(lambda: self.warmup.warm)  # warm for this size, the other's faces too
                self.warmup.quiet = 60.0
        finally:
            LabelSDL2._get_font_id = font_id  # type: ignore[method-assign]

    def test_a_new_window_size_is_warmed_again(self) -> None:
        self.frames_until(lambda: self.warmup.warm)
        self.Window.size = (600, 1024)
        try:
            self.advance_frames(2)
            assert not self.warmup.warm
            self.frames_until(lambda: self.warmup.warm)
            manager = self.shell.ids.manager
            assert all(tuple(self.shell.screens[n].size) == tuple(manager.size) for n in ORDER)
        finally:
            self.Window.size = (800, 600)
