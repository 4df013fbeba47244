"""Options: what the certificate shows (世帯全員/一部, 本籍 …); one toggle row per option offered. The chosen
value is yellow, bold, framed and marked with a filled circle (never colour alone).

The rows are kept while the same options are offered (only their texts and states change), and what the
resident chose stays chosen while the screen shows (a countdown repaints it); entering the screen starts
from the flow's choice."""

from __future__ import annotations

from typing import Any

from kivy.properties import StringProperty
from kivy.uix.boxlayout import BoxLayout

from kiosk.ui.bridge import UiState
from kiosk.ui.i18n import Translator, option_value
from kiosk.ui.theme import THEME
from kiosk.ui.widgets import KioskScreen, KText, KToggle, load_kv

Offered = tuple[tuple[str, tuple[str, ...]], ...]


class OptionsScreen(KioskScreen):
    title_text = StringProperty("")
    message_text = StringProperty("")
    cancel_text = StringProperty("")
    back_text = StringProperty("")
    next_text = StringProperty("")

    def __init__(self, shell: Any, **kwargs: Any) -> None:
        super().__init__(shell, **kwargs)
        self._chosen: dict[str, str] = {}
        self._offered: Offered | None = None  # the options the rows were made for
        self._entered = False  # render ran since the screen was last left
        self._labels: list[tuple[KText, str]] = []
        self._toggles: list[KToggle] = []

    def render(self, state: UiState, tr: Translator) -> None:
        self.title_text, self.cancel_text = tr("options_title"), tr("cancel")
        self.back_text, self.next_text = tr("back"), tr("next")
        self.message_text = tr(state.message) if state.message else ""
        item = state.chosen_item()
        offered = item.options if item else ()
        if not self._entered or offered != self._offered:
            self._chosen = {name: values[0] for name, values in offered if values}
            self._chosen.update({k: v for k, v in state.options if k in self._chosen})
        self._entered = True
        if offered != self._offered:
            self._build(offered)
        for label, name in self._labels:
            label.text = tr("opt_" + name)
        for toggle in self._toggles:
            name, value = toggle.option
            toggle.text = option_value(tr, value, name)
            toggle.state = "down" if self._chosen.get(name) == value else "normal"

    def _build(self, offered: Offered) -> None:
        rows = self.ids.rows
        rows.clear_widgets()
        self._offered, self._labels, self._toggles = offered, [], []
        for name, values in offered:
            label = KText(halign="left")
            self._labels.append((label, name))
            rows.add_widget(label)
            rows.add_widget(self._row(name, values))

    def _row(self, name: str, values: tuple[str, ...]) -> BoxLayout:
        row = BoxLayout(spacing=THEME.gap, size_hint_y=None)
        for value in values:
            toggle = KToggle(group=f"opt-{name}", allow_no_selection=False)
            toggle.option = (name, value)  # what a finger (or a test) looks for
            toggle.bind(on_release=lambda _b, n=name, v=value: self._chosen.__setitem__(n, v))
            toggle.bind(height=lambda *_a, r=row: self._fit_row(r))
            self._toggles.append(toggle)
            row.add_widget(toggle)
        self._fit_row(row)
        return row

    @staticmethod
    def _fit_row(row: BoxLayout) -> None:
        row.height = max((c.height for c in row.children), default=THEME.touch)

    def next(self) -> None:
        self.send("options", tuple(sorted(self._chosen.items())))

    def clear(self) -> None:
        """Left: the next visit starts from the flow's choice again."""
        self._entered = False


load_kv(__file__)
