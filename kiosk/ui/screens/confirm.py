"""Confirmation: type, options (in the order the options screen showed them), copies and the fee
(200円 × 2通 ＝ 400円) before money is asked for, one spaced line each."""

from __future__ import annotations

from kivy.properties import StringProperty

from kiosk.ui.bridge import UiState
from kiosk.ui.i18n import Translator, money, option_value
from kiosk.ui.screens.copies import fee_line
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
        chosen = dict(state.options)
        item = state.chosen_item()
        order = [name for name, _values in item.options] if item else []
        order += [name for name in chosen if name not in order]
        for name in (n for n in order if n in chosen):
            value = option_value(tr, chosen[name], name)
            lines.append(tr("label_value", label=tr("opt_" + name), value=value))
        lines.append(tr.plural("copies_n", state.copies))
        self.summary_text = "\n".join(lines)
        copies = max(1, state.copies)
        if item is not None and item.fee * copies == state.fee:
            self.fee_text = fee_line(tr, item.fee, copies)
        else:  # the center priced it otherwise: the total as it is
            self.fee_text = tr("label_value", label=tr("fee_label"), value=tr("yen", amount=money(state.fee)))


load_kv(__file__)
