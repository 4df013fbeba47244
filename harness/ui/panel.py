"""The test engineer's panel beside the kiosk screen (``kiosk-harness sim``): card picker, place / remove,
coins and notes, hopper stock, PIN tries, printer faults, keyboard shortcuts.

Engineer-facing, English, not translated (tests/kiosk/ui/test_catalogs.py exempts this module and its kv).
Every device call runs on one worker thread; results come back to the UI thread through Clock, so a
slow call (issuing a card, restarting the printer) never blocks the window.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from kivy.clock import Clock
from kivy.core.window import Window
from kivy.properties import BooleanProperty, ListProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.spinner import SpinnerOption

from harness.controls import VARIANTS, HarnessStatus, SimControls, residents
from kiosk.ui.widgets import load_kv

log = logging.getLogger(__name__)
REFRESH_INTERVAL = 0.3  # seconds between status refreshes


class HSpinnerOption(SpinnerOption):
    """One line of the card pickers' drop-downs."""


class HarnessPanel(BoxLayout):
    """The panel over a ``SimControls``; ``close()`` stops its timer, key binding and worker."""

    card_on = BooleanProperty(False)
    card_text = StringProperty("")
    cash_text = StringProperty("")
    hopper_text = StringProperty("")
    printer_text = StringProperty("")
    message_text = StringProperty("")
    keys_text = StringProperty("")
    resident_labels = ListProperty([])
    variant_labels = ListProperty([])
    resident_choice = StringProperty("")
    variant_choice = StringProperty("")

    def __init__(self, controls: SimControls, *, interval: float = REFRESH_INTERVAL, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.controls = controls
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="harness")
        self._refreshing = False
        self._closed = False
        self._by_label = {r.label: r.id for r in residents()}
        self._variant_by_label = {label: key for key, label in VARIANTS.items()}
        self.resident_labels = list(self._by_label)
        self.variant_labels = list(self._variant_by_label)
        resident, variant = controls.current
        self.resident_choice = next((k for k, v in self._by_label.items() if v == resident), resident)
        self.variant_choice = VARIANTS.get(variant, variant)
        self.shortcuts: dict[str, tuple[str, Callable[[], object]]] = {
            "c": ("place / remove card", self.toggle_card),
            "1": ("coin 10", lambda: self.insert_coin(10)),
            "2": ("coin 50", lambda: self.insert_coin(50)),
            "3": ("coin 100", lambda: self.insert_coin(100)),
            "4": ("coin 500", lambda: self.insert_coin(500)),
            "n": ("note 1000", lambda: self.insert_note(1000)),
            "j": ("printer jam (next sheet)", lambda: self.printer_fault("jam")),
            "p": ("printer paper out", lambda: self.printer_fault("paper_out")),
            "x": ("clear printer faults", self.clear_printer),
        }
        self.keys_text = "\n".join(f"{key}  {what}" for key, (what, _) in self.shortcuts.items())
        self._timer = Clock.schedule_interval(lambda _dt: self.refresh(), interval)
        Window.bind(on_key_down=self._on_key)
        self.refresh()

    # --- plumbing ------------------------------------------------------------------------------------
    def run(self, action: Callable[[], Any], done: Callable[[Any], None] | None = None) -> Future[Any]:
        """Run ``action`` on the worker thread; ``done(result)`` (or the error line) follows on the UI
        thread (not after ``close()``). Returns the future; a failed call shows its error on the panel.
        Raises RuntimeError after ``close()``."""
        future = self._worker.submit(action)

        def finished(f: Future[Any]) -> None:
            if f.cancelled() or self._closed:  # the panel closed meanwhile
                return
            error = f.exception()
            result = None if error else f.result()
            Clock.schedule_once(lambda _dt: self._finish(result, error, done))

        future.add_done_callback(finished)
        return future

    def _finish(self, result: Any, error: BaseException | None, done: Callable[[Any], None] | None) -> None:
        if self._closed:
            return
        if error is not None:
            self.message_text = str(error)
        elif done is not None:
            done(result)
        self.refresh()

    def refresh(self) -> None:
        """Ask for a status snapshot (on the worker) and show it. Never raises."""
        if self._refreshing or self._closed:
            return
        self._refreshing = True

        def shown(future: Future[HarnessStatus]) -> None:
            self._refreshing = False
            if not self._closed and not future.cancelled() and future.exception() is None:
                self.show(future.result())

        future = self._worker.submit(self.controls.status)
        future.add_done_callback(lambda f: Clock.schedule_once(lambda _dt: shown(f)))

    def show(self, status: HarnessStatus) -> None:
        """Render a status snapshot (UI thread)."""
        self.card_on = status.on_reader
        tries = "?" if status.tries_left is None else str(status.tries_left)
        where = "ON the reader" if status.on_reader else "out of the reader"
        self.card_text = f"{status.resident_id} {VARIANTS.get(status.variant, status.variant)}: {where}\n"
        self.card_text += f"auth PIN tries left: {tries}"
        self.cash_text = f"last: {status.last_cash}" if status.last_cash else "last: none"
        self.hopper_text = "hoppers: " + "  ".join(f"{yen}x{n}" for yen, n in status.hoppers)
        self.printer_text = f"printer: {status.printer}"

    def close(self) -> None:
        """Stop refreshing, unbind the keys, end the worker. Never raises."""
        self._closed = True
        self._timer.cancel()
        Window.unbind(on_key_down=self._on_key)
        self._worker.shutdown(wait=False, cancel_futures=True)

    def _on_key(self, _window: Any, _key: int, _scancode: int, codepoint: str | None, modifiers: Any) -> bool:
        if not codepoint or modifiers or codepoint not in self.shortcuts:
            return False
        self.shortcuts[codepoint][1]()
        return True

    # --- actions (UI thread) -------------------------------------------------------------------------
    def _said(self, text: str) -> Callable[[Any], None]:
        def say(_result: Any) -> None:
            self.message_text = text

        return say

    def toggle_card(self) -> Future[Any]:
        """Place the card if it is out, else remove it."""
        return self.run(self.controls.toggle_card, self._said(""))

    def use_selected(self) -> Future[Any]:
        """Make the picked resident and variant the card for the next placing."""
        resident = self._by_label.get(self.resident_choice, self.resident_choice)
        variant = self._variant_by_label.get(self.variant_choice, self.variant_choice)
        return self.run(
            lambda: self.controls.use_card(resident, variant), self._said(f"next card: {resident}")
        )

    def insert_coin(self, yen: int) -> Future[Any]:
        """Drop a coin."""
        return self.run(lambda: self.controls.insert_coin(yen), self._said(""))

    def insert_note(self, yen: int) -> Future[Any]:
        """Feed a note."""
        return self.run(lambda: self.controls.insert_note(yen), self._said(""))

    def printer_fault(self, fault: str) -> Future[Any]:
        """Arm a printer fault for the next sheet."""
        return self.run(lambda: self.controls.printer_fault(fault), self._said(f"printer: {fault} armed"))

    def clear_printer(self) -> Future[Any]:
        """Clear the printer's faults (restarts it after a jam)."""
        return self.run(self.controls.clear_printer, self._said("printer cleared"))


def build_panel(controls: SimControls, **kwargs: Any) -> HarnessPanel:
    """Load the panel's kv and build it. Raises OSError (kv file missing)."""
    load_kv(__file__)
    return HarnessPanel(controls, **kwargs)
