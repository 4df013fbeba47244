"""PIN locked: where to go (the city hall counter resets it), the staff code, and the card reminder."""

from __future__ import annotations

from kivy.properties import StringProperty

from kiosk.ui.bridge import UiState
from kiosk.ui.i18n import Translator
from kiosk.ui.widgets import KioskScreen, load_kv


class LockedScreen(KioskScreen):
    title_text = StringProperty("")
    where_text = StringProperty("")
    card_text = StringProperty("")
    code_text = StringProperty("")
    finish_text = StringProperty("")

    def render(self, state: UiState, tr: Translator) -> None:
        self.title_text, self.where_text = tr("locked_title"), tr("locked_where")
        self.card_text, self.finish_text = tr("done_card"), tr("finish")
        self.code_text = tr("staff_code", code=state.outcome.staff_code) if state.outcome else ""


load_kv(__file__)
