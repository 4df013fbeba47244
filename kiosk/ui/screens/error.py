"""Outcome other than success: what to do (retry / city hall / staff / take money), every yen that came out
(refund and change) or is still owed, the staff code."""

from __future__ import annotations

from kivy.properties import StringProperty

from kiosk.ui.bridge import UiState
from kiosk.ui.i18n import Translator, money
from kiosk.ui.widgets import KioskScreen, load_kv


class ErrorScreen(KioskScreen):
    message_text = StringProperty("")
    money_text = StringProperty("")
    card_text = StringProperty("")
    code_text = StringProperty("")
    finish_text = StringProperty("")

    def render(self, state: UiState, tr: Translator) -> None:
        outcome = state.outcome
        self.finish_text, self.card_text = tr("finish"), tr("done_card")
        self.message_text = tr(outcome.message_key) if outcome else tr("outcome_retry")
        if outcome and outcome.hint_key:  # a phone to unlock, a card to use, a registration pending
            self.message_text += "\n" + tr(outcome.hint_key)
        lines = []
        if outcome and outcome.refunded:
            lines.append(f"{tr('refunded')}  {tr('yen', amount=money(outcome.refunded))}")
        if state.change:  # change that came out before it went wrong: all the money that came out is said
            lines.append(f"{tr('pay_change')}  {tr('yen', amount=money(state.change))}")
        if outcome and outcome.refund_owed:
            lines.append(f"{tr('refund_owed')}  {tr('yen', amount=money(outcome.refund_owed))}")
        self.money_text = "\n".join(lines)
        self.code_text = tr("staff_code", code=outcome.staff_code) if outcome else ""


load_kv(__file__)
