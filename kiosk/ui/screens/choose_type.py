"""Certificate type: the center's menu for this resident, each with its fee (unavailable ones greyed)."""

from __future__ import annotations

from kivy.properties import StringProperty

from kiosk.ui.bridge import UiState
from kiosk.ui.i18n import Translator, money
from kiosk.ui.widgets import KButton, KioskScreen, load_kv


class ChooseTypeScreen(KioskScreen):
    title_text = StringProperty("")
    message_text = StringProperty("")
    cancel_text = StringProperty("")

    def render(self, state: UiState, tr: Translator) -> None:
        self.title_text, self.cancel_text = tr("type_title"), tr("cancel")
        self.message_text = tr(state.message) if state.message else ""
        grid = self.ids.grid
        grid.clear_widgets()
        for item in state.menu:
            second = tr("yen", amount=money(item.fee)) if item.available else tr(item.unavailable_key)
            button = KButton(text=f"{tr('cert_' + item.type)}\n{second}", disabled=not item.available)
            button.size_hint_y = 1
            button.cert_type = item.type  # what a finger (or a test) looks for
            button.bind(on_release=lambda _b, t=item.type: self.send("choose_type", t))
            grid.add_widget(button)


load_kv(__file__)
