"""The cancel question: 取消 after the PIN was verified or money went in asks once more (the flow decides
when, ``UiState.cancel_asked``). Its two answers sit mid-screen, never where 取消 was."""

from __future__ import annotations

from kivy.properties import StringProperty

from kiosk.ui.bridge import UiState
from kiosk.ui.i18n import Translator
from kiosk.ui.widgets import KioskScreen, load_kv


class CancelAskScreen(KioskScreen):
    title_text = StringProperty("")
    hint_text = StringProperty("")
    keep_text = StringProperty("")
    cancel_text = StringProperty("")

    def render(self, state: UiState, tr: Translator) -> None:
        self.title_text = tr("cancel_ask_title")
        self.hint_text = tr("cancel_ask_money" if state.inserted else "cancel_ask_restart")
        self.keep_text, self.cancel_text = tr("cancel_ask_keep"), tr("cancel_ask_yes")


load_kv(__file__)
