"""Options: what the certificate shows (世帯全員/一部, 本籍 …); one toggle row per option offered. The chosen
value is yellow, bold, framed and marked with a filled circle (never colour alone)."""

from __future__ import annotations

from typing import Any

from kivy.properties import StringProperty
from kivy.uix.boxlayout import BoxLayout

from kiosk.ui.bridge import UiState
from kiosk.ui.i18n import Translator, option_value
from kiosk.ui.theme import THEME
from kiosk.ui.widgets import KioskScreen, KText, KToggle, load_kv


class OptionsScreen(KioskScreen):
    title_text = StringProperty("")
    message_text = StringProperty("")
    cancel_text = StringProperty("")
    back_text = StringProperty("")
    next_text = StringProperty("")

    def __init__(self, shell: Any, **kwargs: Any) -> None:
        super().__init__(shell, **kwargs)
        self._chosen: dict[str, str] = {}

    def render(self, state: UiState, tr: Translator) -> None:
        self.title_text, self.cancel_text = tr("options_title"), tr("cancel")
        self.back_text, self.next_text = tr("back"), tr("next")
        self.message_text = tr(state.message) if state.message else ""
        item = state.chosen_item()
        offered = item.options if item else ()
        self._chosen = {name: values[0] for name, values in offered if values}
        self._chosen.update({k: v for k, v in state.options if k in self._chosen})
        rows = self.ids.rows
        rows.clear_widgets()
        for name, values in offered:
            rows.add_widget(KText(text=tr("opt_" + name), halign="left"))
            rows.add_widget(self._row(name, values, tr))

    def _row(self, name: str, values: tuple[str, ...], tr: Translator) -> BoxLayout:
        row = BoxLayout(spacing=THEME.gap, size_hint_y=None)
        for value in values:
            toggle = KToggle(
                text=option_value(tr, value, name),
                group=f"opt-{name}",
                state="down" if self._chosen.get(name) == value else "normal",
                allow_no_selection=False,
            )
            toggle.option = (name, value)  # what a finger (or a test) looks for
            toggle.bind(on_release=lambda _b, n=name, v=value: self._chosen.__setitem__(n, v))
            toggle.bind(height=lambda *_a, r=row: self._fit_row(r))
            row.add_widget(toggle)
        self._fit_row(row)
        return row

    @staticmethod
    def _fit_row(row: BoxLayout) -> None:
        row.height = max((c.height for c in row.children), default=THEME.touch)

    def next(self) -> None:
        self.send("options", tuple(sorted(self._chosen.items())))


load_kv(__file__)
