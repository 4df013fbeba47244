"""Copies (通数): large − / + keys beside the count, within the center's limit for the chosen type (a key
that cannot be used looks disabled), and the price as it adds up (200円 × 2通 ＝ 400円)."""

from __future__ import annotations

from kivy.properties import NumericProperty, StringProperty

from kiosk.ui.bridge import UiState
from kiosk.ui.i18n import Translator, money
from kiosk.ui.widgets import KioskScreen, load_kv


def fee_line(tr: Translator, fee: int, copies: int) -> str:
    """``手数料 200円 × 2通 ＝ 400円`` in the translator's language. Never raises."""
    total = tr(
        "fee_times",
        unit=tr("yen", amount=money(fee)),
        count=tr.plural("copies_n", copies),
        total=tr("yen", amount=money(fee * copies)),
    )
    return tr("label_value", label=tr("fee_label"), value=total)


class CopiesScreen(KioskScreen):
    title_text = StringProperty("")
    item_text = StringProperty("")
    message_text = StringProperty("")
    count_text = StringProperty("")
    price_text = StringProperty("")
    cancel_text = StringProperty("")
    back_text = StringProperty("")
    next_text = StringProperty("")
    copies = NumericProperty(1)
    limit = NumericProperty(1)
    unit_fee = NumericProperty(0)
    _tr: Translator | None = None

    def render(self, state: UiState, tr: Translator) -> None:
        self._tr = tr
        self.title_text, self.cancel_text = tr("copies_title"), tr("cancel")
        self.back_text, self.next_text = tr("back"), tr("next")
        self.message_text = tr(state.message) if state.message else ""
        item = state.chosen_item()
        self.item_text = tr("cert_" + state.chosen_type) if state.chosen_type else ""
        self.limit = max(1, item.max_copies if item else 1)
        self.unit_fee = item.fee if item else 0
        self.copies = min(max(1, state.copies), self.limit)
        self._texts()

    def step(self, delta: int) -> None:
        """Change the count by ``delta`` within 1..limit (UI-local until 次へ)."""
        self.copies = min(max(1, self.copies + delta), self.limit)
        self._texts()

    def _texts(self) -> None:
        tr = self._tr
        if tr is not None:
            self.count_text = tr.plural("copies_n", int(self.copies))
            self.price_text = fee_line(tr, int(self.unit_fee), int(self.copies)) if self.unit_fee else ""


load_kv(__file__)
