"""Shared widgets: text styles, the big button, option toggles, the step indicator, and the base class every
screen derives from."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kivy.lang import Builder
from kivy.metrics import dp
from kivy.properties import BooleanProperty, NumericProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.button import Button
from kivy.uix.label import Label
from kivy.uix.screenmanager import Screen
from kivy.uix.togglebutton import ToggleButton

from kiosk.ui.bridge import UiState
from kiosk.ui.i18n import Translator

HERE = Path(__file__).resolve().parent


def load_kv(source: str | Path) -> None:
    """Load a kv file once (kv lays out and binds; logic stays in Python): ``source`` is the .kv file, or a
    module's ``__file__`` whose sibling ``<stem>.kv`` is meant. Raises OSError."""
    path = str(Path(source).with_suffix(".kv"))
    if path not in Builder.files:
        Builder.load_file(path)


class KTitle(Label):
    """A screen's heading."""


class KText(Label):
    """Body text that wraps to the width."""


class KWarn(KText):
    """A warning line (PIN tries, countdown)."""


class KValue(Label):
    """One line of a label / value table (pay, confirm): no wrap inside a row's cell."""


class KButton(Button):
    """A primary touch target, never smaller than the theme's 12 mm."""


class KSecondary(KButton):
    """A secondary action (back, cancel)."""


class KHeaderButton(Button):
    """A header control (larger text, more time): as wide as its words, one line."""


class KToggle(ToggleButton):
    """An option value: selected shows yellow with a drawn mark (never colour alone)."""


class StepLabel(Label):
    """One step of the step indicator; ``current`` is highlighted with a mark, ``passed`` dimmed."""

    current = BooleanProperty(False)
    passed = BooleanProperty(False)


class StepBar(BoxLayout):
    """The step indicator: the transaction's steps in order, the current one highlighted."""

    index = NumericProperty(-1)

    def show(self, names: list[str], index: int | None) -> None:
        """Show ``names`` with step ``index`` current (None: hide the bar). Never raises."""
        if index is None:
            self.index, self.opacity, self.height = -1, 0, 0
            return
        self.opacity, self.index = 1, index
        if len(self.children) != len(names):
            self.clear_widgets()
            for _ in names:
                label = StepLabel()
                label.bind(texture_size=self._fit)
                self.add_widget(label)
        for i, (label, name) in enumerate(zip(reversed(self.children), names, strict=True)):
            label.text = f"{i + 1} {name}"
            label.current, label.passed = i == index, i < index
        self._fit()

    def _fit(self, *_args: object) -> None:
        tallest = max((c.texture_size[1] for c in self.children), default=0)
        self.height = tallest + dp(14) if self.opacity else 0


class KioskScreen(Screen):
    """A thin view over ``UiState``: ``render`` copies text in; taps call ``send`` with an intent."""

    def __init__(self, shell: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.shell = shell

    def render(self, state: UiState, tr: Translator) -> None:
        """Show ``state`` in the translator's language. Never raises for a well-formed state."""

    def clear(self) -> None:
        """Forget anything typed on this screen (called whenever the screen is left)."""

    def send(self, kind: str, value: object = None) -> None:
        """Hand an intent to the shell (which passes it to the flow), only while this screen is on display: a
        release that arrives after the screen changed (a press held across the change) says nothing."""
        if self.shell.ids.manager.current != self.name:
            return
        self.shell.send(kind, value)


load_kv(__file__)
