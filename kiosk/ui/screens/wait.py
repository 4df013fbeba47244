"""Please-wait steps (reading the card, checking the PIN, the center, issuing, finishing): a moving bar."""

from __future__ import annotations

from kivy.clock import Clock
from kivy.properties import NumericProperty, StringProperty

from kiosk.ui.bridge import UiState
from kiosk.ui.i18n import Translator
from kiosk.ui.widgets import KioskScreen, load_kv


class WaitScreen(KioskScreen):
    title_text = StringProperty("")
    hint_text = StringProperty("")
    cancel_text = StringProperty("")
    progress = NumericProperty(0)
    _tick = None

    def render(self, state: UiState, tr: Translator) -> None:
        self.title_text = tr(state.wait_title or "msg_please_wait")
        self.hint_text = tr(state.wait_hint) if state.wait_hint else ""
        self.cancel_text = tr("cancel") if state.can_cancel else ""

    def on_enter(self, *_args: object) -> None:
        if self._tick is None:
            self._tick = Clock.schedule_interval(self._advance, 1 / 20)

    def on_leave(self, *_args: object) -> None:
        if self._tick is not None:
            self._tick.cancel()
            self._tick = None

    def _advance(self, _dt: float) -> None:
        self.progress = (self.progress + 2) % 100  # activity, not a measure: the step has no known length


load_kv(__file__)
