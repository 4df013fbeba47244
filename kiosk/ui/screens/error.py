"""Outcome other than success: what happened (when the resident can make sense of it), what to do (retry /
city hall / staff / take money), every yen that came out (refund and change) or is still to come back, the
staff code. The button does what the message asks:
最初の画面へ for "start again", 終了 otherwise; "call a staff member" offers no button at all: the screen
stays until staff clear it in staff mode (hold the title 3 s: 呼出し画面を終了), or after ``[timeouts]
call_staff`` (10 minutes) the flow returns to the start screen; either way the journal keeps what is owed."""

from __future__ import annotations

from kivy.properties import StringProperty

from kiosk.ui.bridge import UiState
from kiosk.ui.i18n import Translator, money
from kiosk.ui.widgets import KioskScreen, load_kv

CALL_STAFF = "outcome_call_staff"


def money_lines(state: UiState, tr: Translator) -> str:
    """Every yen that came out (refund, change) or is still to come back, one ``label: amount`` line each.
    Never raises."""
    outcome = state.outcome
    amounts = []
    if outcome and outcome.refunded:
        amounts.append(("refunded", outcome.refunded))
    if state.change:  # change that came out before it went wrong: all the money that came out is said
        amounts.append(("pay_change", state.change))
    if outcome and outcome.refund_owed:
        amounts.append(("refund_owed", outcome.refund_owed))
    return "\n".join(
        tr("label_value", label=tr(key), value=tr("yen", amount=money(amount))) for key, amount in amounts
    )


class ErrorScreen(KioskScreen):
    cause_text = StringProperty("")  # what happened (e.g. the printer failed), or ""
    message_text = StringProperty("")
    hint_text = StringProperty("")
    money_text = StringProperty("")
    card_text = StringProperty("")
    code_text = StringProperty("")
    finish_text = StringProperty("")  # "" for call-staff: no button

    def render(self, state: UiState, tr: Translator) -> None:
        outcome = state.outcome
        key = outcome.message_key if outcome else "outcome_retry"
        self.card_text = tr("done_card")
        self.cause_text = tr(outcome.cause_key) if outcome and outcome.cause_key else ""
        self.message_text = tr(key)
        if outcome and outcome.hint_key:  # a phone to unlock, a card to use, a registration pending
            self.message_text += "\n" + tr(outcome.hint_key)
        self.hint_text = tr("call_staff_wait") if key == CALL_STAFF else ""
        self.money_text = money_lines(state, tr)
        self.code_text = tr("staff_code", code=outcome.staff_code) if outcome else ""
        if key == CALL_STAFF:
            self.finish_text = ""
        else:
            self.finish_text = tr("start_over") if key == "outcome_retry" else tr("finish")


load_kv(__file__)
