"""Payment: due / inserted / still to pay / change, a notice (e.g. exact amount only: no change), and
cancel (which returns the money)."""

from __future__ import annotations

from kivy.properties import StringProperty

from kiosk.ui.bridge import UiState
from kiosk.ui.i18n import Translator, money
from kiosk.ui.widgets import KioskScreen, load_kv


class PayScreen(KioskScreen):
    title_text = StringProperty("")
    message_text = StringProperty("")
    due_label = StringProperty("")
    due_text = StringProperty("")
    inserted_label = StringProperty("")
    inserted_text = StringProperty("")
    remaining_label = StringProperty("")
    remaining_text = StringProperty("")
    change_label = StringProperty("")
    change_text = StringProperty("")
    cancel_text = StringProperty("")

    def render(self, state: UiState, tr: Translator) -> None:
        self.title_text, self.cancel_text = tr("pay_title"), tr("cancel")
        self.message_text = tr(state.message) if state.message else ""
        self.due_label, self.inserted_label = tr("pay_due"), tr("pay_inserted")
        self.remaining_label, self.change_label = tr("pay_remaining"), tr("pay_change")
        self.due_text = tr("yen", amount=money(state.fee))
        self.inserted_text = tr("yen", amount=money(state.inserted))
        self.remaining_text = tr("yen", amount=money(state.remaining))
        self.change_text = tr("yen", amount=money(state.change))


load_kv(__file__)
