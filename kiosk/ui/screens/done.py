"""Done: take your certificate (and card, and the change, with its amount), with a repeating sound. 音声停止
only silences it; 終了 ends the session (or the flow's timeout does)."""

from __future__ import annotations

from kivy.properties import BooleanProperty, StringProperty

from kiosk.ui.bridge import UiState
from kiosk.ui.i18n import Translator, money
from kiosk.ui.widgets import KioskScreen, load_kv


class DoneScreen(KioskScreen):
    title_text = StringProperty("")
    card_text = StringProperty("")
    change_text = StringProperty("")
    stop_text = StringProperty("")
    finish_text = StringProperty("")
    sounding = BooleanProperty(False)

    def render(self, state: UiState, tr: Translator) -> None:
        self.title_text, self.card_text, self.stop_text = tr("done_title"), tr("done_card"), tr("sound_stop")
        self.finish_text = tr("finish")
        change = tr("done_change", change=tr("yen", amount=money(state.change)))
        self.change_text = change if state.change else ""
        if state.sound_on and not self.shell.sound.reminding and not self._silenced:
            self.shell.sound.start_reminder()
        self.sounding = bool(self.shell.sound.reminding)

    _silenced = False

    def stop_sound(self) -> None:
        """音声停止: silence the reminder (the session goes on until 終了 or the timeout)."""
        if self.shell.ids.manager.current != self.name:
            return
        self.shell.sound.stop_reminder()
        self._silenced, self.sounding = True, False
        self.shell.click()

    def on_leave(self, *_args: object) -> None:
        self.shell.sound.stop_reminder()
        self._silenced, self.sounding = False, False


load_kv(__file__)
