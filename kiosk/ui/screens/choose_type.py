"""Certificate type: the center's menu for this resident, each with its fee (unavailable ones greyed).

The tiles are kept from one visit to the next and only their texts change: a menu like the last one costs
no new widget and, in the same language, no new text texture."""

from __future__ import annotations

from typing import Any

from kivy.properties import StringProperty

from kiosk.ui.bridge import UiState
from kiosk.ui.i18n import Translator, money
from kiosk.ui.widgets import KButton, KioskScreen, load_kv


class ChooseTypeScreen(KioskScreen):
    title_text = StringProperty("")
    message_text = StringProperty("")
    cancel_text = StringProperty("")

    def __init__(self, shell: Any, **kwargs: Any) -> None:
        super().__init__(shell, **kwargs)
        self._tiles: list[KButton] = []

    def render(self, state: UiState, tr: Translator) -> None:
        self.title_text, self.cancel_text = tr("type_title"), tr("cancel")
        self.message_text = tr(state.message) if state.message else ""
        grid = self.ids.grid
        while len(self._tiles) < len(state.menu):
            tile = KButton()
            tile.size_hint_y = 1
            tile.cert_type = ""  # what a finger (or a test) looks for
            tile.bind(on_release=lambda b: self.send("choose_type", b.cert_type))
            self._tiles.append(tile)
            grid.add_widget(tile)
        while len(self._tiles) > len(state.menu):
            grid.remove_widget(self._tiles.pop())
        for tile, item in zip(self._tiles, state.menu, strict=True):
            second = tr("yen", amount=money(item.fee)) if item.available else tr(item.unavailable_key)
            tile.text = f"{tr('cert_' + item.type)}\n{second}"
            tile.disabled = not item.available
            tile.cert_type = item.type


load_kv(__file__)
