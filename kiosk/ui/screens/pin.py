"""PIN keypad: 4 digits, shown only as filled circles (drawn, never text); 訂正 clears, 確定 submits.

The digits live in a private list, never in a widget's text; they go to the flow once on 確定 and the
list is cleared then and whenever the screen is left.
"""

from __future__ import annotations

from typing import Any

from kivy.graphics import Color, Ellipse, Line
from kivy.metrics import dp
from kivy.properties import BooleanProperty, NumericProperty, StringProperty
from kivy.uix.widget import Widget

from kiosk.ui.bridge import UiState
from kiosk.ui.i18n import Translator
from kiosk.ui.theme import THEME
from kiosk.ui.widgets import KButton, KioskScreen, KSecondary, load_kv

PIN_LENGTH = 4


class PinDots(Widget):
    """Four circles; the first ``filled`` are solid. No digit is ever drawn."""

    filled = NumericProperty(0)
    grow = NumericProperty(1.0)  # larger on a stacked (portrait) screen

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.bind(pos=self._draw, size=self._draw, filled=self._draw, grow=self._draw)

    def _draw(self, *_args: object) -> None:
        self.canvas.clear()
        d, gap = dp(36) * THEME.scale * self.grow, dp(24) * THEME.scale * self.grow
        left = self.center_x - (PIN_LENGTH * d + (PIN_LENGTH - 1) * gap) / 2
        with self.canvas:
            for i in range(PIN_LENGTH):
                x, y = left + i * (d + gap), self.center_y - d / 2
                Color(*THEME.fg)
                if i < self.filled:
                    Ellipse(pos=(x, y), size=(d, d))
                else:
                    # miter joints, a step every ~1.5 px of the ring: Kivy's defaults (a round joint at each
                    # of ~180 steps) draw ~2,000 triangles a ring, which a software renderer feels every frame
                    Line(ellipse=(x, y, d, d, 0, 360, int(max(72, d * 2))), width=dp(2), joint="miter")


class KeypadRow:
    """A keypad key's height: ``THEME.key`` at least; ``row`` when the screen asks for taller keys."""

    row = NumericProperty(0)


class PinKey(KeypadRow, KButton):
    """A keypad key: ``THEME.key`` tall (12 mm or more, larger in large text), digits in title size; taller
    on a stacked (portrait) keypad, digits in display size."""


class PinClearKey(KeypadRow, KSecondary):
    """訂正: a keypad key in the secondary colour."""


WIDE = 1.15  # wider than tall by this much: prompt and keypad side by side; else stacked
STACKED_SHARE = 0.4  # a stacked keypad may take this much of the window's height
STACKED_MAX = 1.3  # ... with keys up to this many times their side-by-side height (large text fits too)


def stacked_row(stacked: bool, window_height: float) -> float:
    """The keys' height on a stacked keypad (0 when side by side): taller keys in the room a portrait screen
    has below the prompt, by the window's height alone (never by what the screen shows around them, so that
    a warning or a countdown does not change them), larger again in large text. Never raises."""
    if not stacked:
        return 0.0
    normal = THEME.key_normal()
    boost = min(STACKED_MAX, max(1.0, (window_height * STACKED_SHARE - 3 * dp(8)) / (4 * normal)))
    return float(THEME.key * boost)


FULL_TRIES = 3  # a card's PIN tries when nothing went wrong: nothing to warn about


def pin_warning(state: UiState, tr: Translator) -> str:
    """The one warning the PIN screen shows: a wrong PIN merged with what is left; before any mistake,
    nothing (no alarming count) unless the card already has fewer tries. Never raises."""
    left = state.tries_left
    if state.message == "msg_pin_incorrect":
        if state.last_try_warning or left == 1:
            return tr("pin_wrong_last")
        return tr.plural("pin_wrong_tries", left) if left is not None else tr("msg_pin_incorrect")
    if state.last_try_warning:
        return tr("pin_last_try")
    if left is not None and left < FULL_TRIES:
        return tr.plural("pin_tries_left", left)
    return tr(state.message) if state.message else ""


class PinScreen(KioskScreen):
    title_text = StringProperty("")
    message_text = StringProperty("")  # one warning at a time: a wrong PIN and what is left merged
    cancel_text = StringProperty("")
    filled = NumericProperty(0)
    stacked = BooleanProperty(False)  # taller than wide: the prompt above the keypad
    key_row = NumericProperty(0)  # the keys' height when stacked (``stacked_row``); 0 side by side

    def __init__(self, shell: Any, **kwargs: Any) -> None:
        super().__init__(shell, **kwargs)
        self.bind(size=self._fit_keypad)
        shell.bind(height=self._fit_keypad)
        THEME.bind(key=self._fit_keypad)
        self._digits: list[str] = []
        self._too_short = ""
        self._keys: dict[str, KButton] = {}
        for label in ("1", "2", "3", "4", "5", "6", "7", "8", "9", "clear", "0", "ok"):
            key = PinClearKey() if label == "clear" else PinKey()
            key.bind(on_release=lambda _b, k=label: self.press(k))
            self._keys[label] = key
            self.ids.keypad.add_widget(key)
        for digit in "0123456789":
            self._keys[digit].text = digit  # the key's own face, not what was typed

    def _fit_keypad(self, *_args: object) -> None:
        self.stacked = not self.width > self.height * WIDE
        self.key_row = stacked_row(self.stacked, self.shell.height)
        for key in self._keys.values():
            key.row = self.key_row  # type: ignore[attr-defined]

    def render(self, state: UiState, tr: Translator) -> None:
        self.title_text, self.cancel_text = tr("pin_title"), tr("cancel")
        self._keys["clear"].text, self._keys["ok"].text = tr("pin_correct"), tr("pin_confirm")
        self.message_text = pin_warning(state, tr)
        self._too_short = tr("pin_too_short")
        self.clear()

    def press(self, key: str) -> None:
        """A keypad tap: a digit (up to 4), ``clear`` (訂正) or ``ok`` (確定 with 4 digits; with fewer it says
        that 4 are needed)."""
        if key == "clear":
            self.clear()
        elif key == "ok":
            if len(self._digits) == PIN_LENGTH:
                pin = "".join(self._digits)
                self.clear()
                self.send("pin", pin)
            else:  # 確定 too early: say so (the digits typed stay)
                self.message_text = self._too_short
        elif len(self._digits) < PIN_LENGTH:
            self._digits.append(key)
        self.filled = len(self._digits)
        self.shell.click()

    def key(self, label: str) -> KButton:
        """The keypad key for a digit, ``clear`` (訂正) or ``ok`` (確定). Raises KeyError."""
        return self._keys[label]

    @property
    def entered(self) -> int:
        """How many digits are typed (never the digits)."""
        return len(self._digits)

    def cancel(self) -> None:
        self.clear()
        self.send("cancel")

    def clear(self) -> None:
        self._digits.clear()
        self.filled = 0

    def on_leave(self, *_args: object) -> None:
        self.clear()


load_kv(__file__)
