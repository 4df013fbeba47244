"""Confirmation: type, options, copies and the fee before money is asked for."""

from __future__ import annotations

from kivy.properties import StringProperty

from kiosk.ui.bridge import UiState
from kiosk.ui.i18n import Translator, money, option_value
from kiosk.ui.widgets import KioskScreen, load_kv


class ConfirmScreen(KioskScreen):
    title_text = StringProperty("")
    summary_text = StringProperty("")
    fee_text = StringProperty("")
    cancel_text = StringProperty("")
    back_text = StringProperty("")
    ok_text = StringProperty("")

    def render(self, state: UiState, tr: Translator) -> None:
        self.title_text, self.cancel_text = tr("confirm_title"), tr("cancel")
        self.back_text, self.ok_text = tr("back"), tr("ok")
        lines = [tr("cert_" + state.chosen_type)] if state.chosen_type else []
        for name, value in state.options:
            lines.append(f"{tr('opt_' + name)}: {option_value(tr, value)}")
        lines.append(tr("copies_n", n=state.copies))
        self.summary_text = "\n".join(lines)
        self.fee_text = f"{tr('fee_label')}  {tr('yen', amount=money(state.fee))}"


load_kv(__file__)
