"""Out of service (e.g. the kiosk's clock is off): the flow's flag reaches the attract screen, which says
so in the resident's language and takes no start (off-screen window)."""

from __future__ import annotations

from ui_helpers import FakeFlow, TouchTest

from kiosk.flow.view import ViewState
from kiosk.ui.app import build_shell
from kiosk.ui.bridge import UiState, from_view
from kiosk.ui.i18n import Translator


def test_the_flag_reaches_the_ui_state() -> None:
    assert from_view(ViewState(out_of_service="clock")).out_of_service
    assert not from_view(ViewState()).out_of_service


class OutOfServiceTest(TouchTest):
    def setUp(self) -> None:
        super().setUp()
        self.Window.size = (800, 600)
        self.flow = FakeFlow()
        self.shell = build_shell(on_intent=self.flow)
        self.flow.shell = self.shell
        self.Window.add_widget(self.shell)
        self.advance_frames(1)

    def tearDown(self, fake: bool = False) -> None:
        self.shell.sound.stop_reminder()
        super().tearDown(fake)

    def test_the_attract_screen_says_out_of_service_and_takes_no_start(self) -> None:
        self.shell.show(UiState(out_of_service=True))
        self.advance_frames(2)
        screen = self.shell.current
        assert (
            screen.subtitle_text
            == Translator("ja")("attract_out_of_service")
            == "ただいま休止中です。店員にお声がけください。"
        )
        assert screen.ids.start.disabled
        screen.start()  # even a start that reached the screen is not sent
        assert not [i for i in self.flow.intents if i[0] == "start"]
        self.shell.show(UiState())  # back in service
        self.advance_frames(2)
        assert screen.subtitle_text == Translator("ja")("attract_subtitle") and not screen.ids.start.disabled
        self.tap(screen.ids.start)
        assert self.flow.intents[-1] == ("start", "ja")
