"""PIN keypad: 4 digits, shown only as filled circles (drawn, never text); 訂正 clears, 確定 submits.

The digits live in a private list, never in a widget's text; they go to the flow once on 確定 and the
list is cleared then and whenever the screen is left.
"""

from __future__ import annotations

from typing import Any

from kivy.graphics import Color, Ellipse, Line
from kivy.metrics import dp
from kivy.properties import NumericProperty, StringProperty
from kivy.uix.widget import Widget

from kiosk.ui.bridge import UiState
from kiosk.ui.i18n import Translator
from kiosk.ui.theme import THEME
from kiosk.ui.widgets import KButton, KioskScreen, KSecondary, load_kv

PIN_LENGTH = 4


class PinDots(Widget):
    """Four circles; the first ``filled`` are solid. No digit is ever drawn."""

    filled = NumericProperty(0)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.bind(pos=self._draw, size=self._draw, filled=self._draw)

    def _draw(self, *_args: object) -> None:
        self.canvas.clear()
        d, gap = dp(36) * THEME.scale, dp(24) * THEME.scale
        left = self.center_x - (PIN_LENGTH * d + (PIN_LENGTH - 1) * gap) / 2
        with self.canvas:
            for i in range(PIN_LENGTH):
                x, y = left + i * (d + gap), self.center_y - d / 2
                Color(*THEME.fg)
                if i < self.filled:
                    Ellipse(pos=(x, y), size=(d, d))
                else:
                    Line(ellipse=(x, y, d, d), width=dp(2))


class PinKey(KButton):
    """A keypad key: ``THEME.key`` tall (12 mm or more, larger in large text), digits in title size."""


class PinClearKey(KSecondary):
    """訂正: a keypad key in the secondary colour."""


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

    def __init__(self, shell: Any, **kwargs: Any) -> None:
        super().__init__(shell, **kwargs)
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
