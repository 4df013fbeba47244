"""Done: take your certificate (and card, and change), with a repeating sound until 音声停止."""

from __future__ import annotations

from kivy.properties import StringProperty

from kiosk.ui.bridge import UiState
from kiosk.ui.i18n import Translator, money
from kiosk.ui.widgets import KioskScreen, load_kv


class DoneScreen(KioskScreen):
    title_text = StringProperty("")
    card_text = StringProperty("")
    change_text = StringProperty("")
    stop_text = StringProperty("")

    def render(self, state: UiState, tr: Translator) -> None:
        self.title_text, self.card_text, self.stop_text = tr("done_title"), tr("done_card"), tr("sound_stop")
        change = f"{tr('done_change')}  {tr('yen', amount=money(state.change))}"
        self.change_text = change if state.change else ""
        if state.sound_on:
            self.shell.sound.start_reminder()

    def stop_sound(self) -> None:
        """音声停止: silence the reminder here and tell the flow the resident is finished."""
        self.shell.sound.stop_reminder()
        self.send("finish")

    def on_leave(self, *_args: object) -> None:
        self.shell.sound.stop_reminder()


load_kv(__file__)
