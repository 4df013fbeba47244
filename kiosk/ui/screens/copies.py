"""Copies (部数): minus / plus within the center's limit for the chosen type."""

from __future__ import annotations

from kivy.properties import NumericProperty, StringProperty

from kiosk.ui.bridge import UiState
from kiosk.ui.i18n import Translator
from kiosk.ui.widgets import KioskScreen, load_kv


class CopiesScreen(KioskScreen):
    title_text = StringProperty("")
    message_text = StringProperty("")
    count_text = StringProperty("")
    cancel_text = StringProperty("")
    back_text = StringProperty("")
    next_text = StringProperty("")
    copies = NumericProperty(1)
    limit = NumericProperty(1)
    _tr = None

    def render(self, state: UiState, tr: Translator) -> None:
        self._tr = tr
        self.title_text, self.cancel_text = tr("copies_title"), tr("cancel")
        self.back_text, self.next_text = tr("back"), tr("next")
        self.message_text = tr(state.message) if state.message else ""
        item = state.chosen_item()
        self.limit = max(1, item.max_copies if item else 1)
        self.copies = min(max(1, state.copies), self.limit)
        self.count_text = tr("copies_n", n=self.copies)

    def step(self, delta: int) -> None:
        """Change the count by ``delta`` within 1..limit (UI-local until 次へ)."""
        self.copies = min(max(1, self.copies + delta), self.limit)
        if self._tr is not None:
            self.count_text = self._tr("copies_n", n=self.copies)


load_kv(__file__)
