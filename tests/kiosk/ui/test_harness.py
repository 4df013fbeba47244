"""The harness panel beside the real kiosk shell, off screen, on a real SimKiosk (loopback reader, mock
center, cash and printer simulators): taps on the panel move the virtual card and drop coins, the flow
answers through the real screens. ``HARNESS_SCREENSHOT=docs/screens/harness.png`` also writes the
README's picture."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from ui_helpers import TouchTest

from harness.controls import ControlError, SimControls, check_card
from harness.sim import SimKiosk
from harness.ui.launch import harness_root
from kiosk.flow.view import Screen

SIZE = (1100, 650)


class HarnessTest(TouchTest):
    def setUp(self) -> None:
        super().setUp()
        self.Window.size = SIZE
        self.work = Path(tempfile.mkdtemp(prefix="harness-ui-"))
        self.kiosk = SimKiosk(self.work, {"reader": "loopback"}).__enter__()
        self.controls = SimControls(self.kiosk)
        self.root = harness_root(self.kiosk.flow, self.controls)
        self.shell, self.panel = self.root.shell, self.root.panel
        self.shell.tap_guard = 0.0  # taps come right after each screen (the guard: test_resident_touch.py)
        self.Window.add_widget(self.root)
        self.advance_frames(2)

    def tearDown(self, fake: bool = False) -> None:
        self.panel.close()
        self.shell.sound.stop_reminder()
        self.kiosk.__exit__(None, None, None)
        shutil.rmtree(self.work, ignore_errors=True)
        super().tearDown(fake)

    # --- helpers ---------------------------------------------------------------------------------
    def until(self, what: str, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{what}: not within {timeout} s (flow at {self.kiosk.flow.view.screen})"
                )
            self.advance_frames(1)
            time.sleep(0.01)

    def at(self, screen: Screen, ui: str | None = None, timeout: float = 10.0) -> None:
        self.until(
            f"screen {screen}",
            lambda: (
                self.kiosk.flow.view.screen is screen and self.shell.ids.manager.current == (ui or screen)
            ),
            timeout,
        )
        self.advance_frames(2)  # laid out before the next tap

    def to_place_card(self) -> None:
        self.tap(self.shell.screens["attract"].ids.start)
        self.at(Screen.ROUTE)
        self.tap(self.shell.screens["route"].ids.residence)
        self.at(Screen.PLACE_CARD)

    # --- tests -----------------------------------------------------------------------------------
    def test_place_card_then_coins_on_the_pay_screen(self) -> None:
        self.to_place_card()
        assert self.panel.ids.card_toggle.text.startswith("Place card")
        self.tap(self.panel.ids.card_toggle)
        self.at(Screen.PIN)
        self.until("toggle shows Remove", lambda: self.panel.ids.card_toggle.text.startswith("Remove card"))
        assert "ON the reader" in self.panel.card_text and "tries left: 3" in self.panel.card_text
        self.shell.send("pin", "1234")
        self.at(Screen.REMOVE_CARD)
        self.tap(self.panel.ids.card_toggle)
        self.at(Screen.CHOOSE_TYPE)
        for kind, value, nxt in (
            ("choose_type", "juminhyo", Screen.OPTIONS),
            ("options", (("scope", "all"),), Screen.COPIES),
            ("copies", 1, Screen.CONFIRM),
            ("confirm", None, Screen.PAY),
        ):
            self.shell.send(kind, value)
            self.at(nxt, timeout=15)
        assert self.kiosk.flow.view.amount_inserted == 0 and self.kiosk.flow.view.fee == 200
        self.tap(self.panel.ids.coin_100)
        self.until("100 yen inserted", lambda: self.kiosk.flow.view.amount_inserted == 100)
        self.tap(self.panel.ids.coin_50)
        self.until("150 yen inserted", lambda: self.kiosk.flow.view.amount_inserted == 150)
        time.sleep(0.3)  # nothing more arrives: each tap is exactly one coin
        self.advance_frames(2)
        assert self.kiosk.flow.view.amount_inserted == 150
        self.until("cash result shown", lambda: self.panel.cash_text == "last: coin 50: accepted (credit)")
        assert self.panel.hopper_text == "hoppers: 500x20  100x50  50x20  10x50"

    def test_picking_a_pin_locked_card_leads_to_the_locked_screen(self) -> None:
        self.panel.ids.resident.text = check_card("C-002").label
        self.panel.ids.variant.text = "PIN locked"
        self.tap(self.panel.ids.use_card)
        self.until("card swapped", lambda: self.controls.current == ("C-002", "pin_locked"), 20)
        self.until("tries shown", lambda: "tries left: 0" in self.panel.card_text)
        self.to_place_card()
        self.Window.dispatch("on_key_down", 99, 0, "c", [])  # the 'c' shortcut
        self.at(Screen.FAILED, ui="locked")
        assert self.kiosk.flow.view.outcome is not None
        assert self.kiosk.flow.view.outcome.reason == "pin_locked"

    def test_use_card_is_refused_while_the_card_is_on_the_reader(self) -> None:
        self.tap(self.panel.ids.card_toggle)
        self.until("card on", lambda: self.panel.card_on)
        assert self.panel.ids.use_card.disabled
        self.panel.ids.resident.text = check_card("C-005").label
        refused = self.panel.use_selected().exception(timeout=5)  # as if the button were pressed anyway
        assert isinstance(refused, ControlError)
        self.until("refusal shown", lambda: "remove it first" in self.panel.message_text)
        assert self.controls.current == ("C-001", "normal")
        self.tap(self.panel.ids.card_toggle)
        self.until("card off", lambda: not self.panel.card_on and not self.panel.ids.use_card.disabled)
        assert "[c]" in self.panel.ids.card_toggle.text and "c  place / remove card" in self.panel.keys_text

    def test_closing_with_calls_in_flight_posts_nothing_later(self) -> None:
        pending = [self.panel.insert_coin(10) for _ in range(20)]
        self.panel.close()
        self.advance_frames(5)  # a late result reaching a closed panel would raise here
        time.sleep(0.2)
        self.advance_frames(5)
        assert any(f.cancelled() for f in pending) or all(f.done() for f in pending)
        assert self.panel.cash_text in ("", "last: none")  # no coin result reached the closed panel

    def test_the_window_with_the_panel_renders(self) -> None:
        self.to_place_card()
        self.Window.dispatch("on_key_down", 52, 0, "4", [])  # a 500 yen coin while not paying: rejected
        self.until("rejection shown", lambda: "coin 500: rejected" in self.panel.cash_text)
        self.advance_frames(3)
        assert self.panel.width == 300 and self.shell.width == SIZE[0] - 300
        assert self.panel.x >= self.shell.right
        out = self.work / "harness.png"
        self.root.export_to_png(str(out))
        data = out.read_bytes()
        assert data.startswith(b"\x89PNG") and len(data) > 20_000
        assert int.from_bytes(data[16:20], "big") == SIZE[0]  # IHDR width
        target = os.environ.get("HARNESS_SCREENSHOT")
        if target:
            shutil.copy(out, target)
