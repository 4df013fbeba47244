"""Payment: what is paid for, which coins and notes are taken, due / inserted / still to pay / change in one
aligned table, a notice (e.g. exact amount only: no change), and cancel (which returns the money) while
something is still due. Once nothing is due the title says so and cancel is gone."""

from __future__ import annotations

from kivy.properties import BooleanProperty, StringProperty

from kiosk.ui.bridge import UiState
from kiosk.ui.i18n import Translator, money
from kiosk.ui.widgets import KioskScreen, load_kv


class PayScreen(KioskScreen):
    title_text = StringProperty("")
    for_text = StringProperty("")
    accepted_text = StringProperty("")
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
    paid = BooleanProperty(False)

    def render(self, state: UiState, tr: Translator) -> None:
        self.paid = state.fee > 0 and state.remaining == 0
        self.title_text = tr("pay_title_paid") if self.paid else tr("pay_title")
        self.cancel_text = tr("cancel")
        item = f"{tr('cert_' + state.chosen_type)}  {tr.plural('copies_n', state.copies)}"
        self.for_text = tr("label_value", label=tr("pay_for"), value=item) if state.chosen_type else ""
        self.accepted_text = "" if self.paid else tr("pay_accepted")
        if self.paid and state.change:
            self.message_text = tr("done_change", change=tr("yen", amount=money(state.change)))
        else:
            self.message_text = tr(state.message) if state.message else ""
        self.due_label, self.inserted_label = tr("pay_due"), tr("pay_inserted")
        self.remaining_label, self.change_label = tr("pay_remaining"), tr("pay_change")
        self.due_text = tr("yen", amount=money(state.fee))
        self.inserted_text = tr("yen", amount=money(state.inserted))
        self.remaining_text = tr("yen", amount=money(state.remaining))
        self.change_text = tr("yen", amount=money(state.change))


load_kv(__file__)
