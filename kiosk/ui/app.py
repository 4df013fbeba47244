"""The app shell: window, fonts, header (title, countdown, larger text), the screens, and the flow seam.

Set the environment with ``kiosk.ui.env.prepare_environment`` before importing this module.
"""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kivy.app import App
from kivy.clock import Clock
from kivy.graphics import ClearBuffers, ClearColor, ScissorPop, ScissorPush
from kivy.properties import BooleanProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.screenmanager import NoTransition

from kiosk.ui.bridge import SCREENS, UiState, from_view, to_flow_event
from kiosk.ui.fonts import register_fonts, release_text_surfaces, share_font_faces
from kiosk.ui.i18n import DEFAULT_LANGUAGE, Translator
from kiosk.ui.lockdown import WindowGuard, lock_config
from kiosk.ui.screens import (
    attract,
    cancel_ask,
    choose_type,
    confirm,
    copies,
    done,
    error,
    honseki,
    language,
    locked,
    options,
    pay,
    pin,
    place_card,
    printing,
    remove_card,
    route,
    wait,
)
from kiosk.ui.screens.error import CALL_STAFF
from kiosk.ui.sound import SoundPlayer
from kiosk.ui.steps import STEP_KEYS, step_of
from kiosk.ui.theme import THEME
from kiosk.ui.warmup import WarmUp
from kiosk.ui.widgets import KioskScreen, load_kv

if TYPE_CHECKING:
    from kiosk.flow.machine import Flow
    from kiosk.staff.diagnostics import StaffAccess

log = logging.getLogger(__name__)

SCREEN_CLASSES: dict[str, type[KioskScreen]] = {
    "attract": attract.AttractScreen,
    "language": language.LanguageScreen,
    "route": route.RouteScreen,
    "place_card": place_card.PlaceCardScreen,
    "wait": wait.WaitScreen,
    "pin": pin.PinScreen,
    "locked": locked.LockedScreen,
    "remove_card": remove_card.RemoveCardScreen,
    "choose_type": choose_type.ChooseTypeScreen,
    "options": options.OptionsScreen,
    "copies": copies.CopiesScreen,
    "confirm": confirm.ConfirmScreen,
    "pay": pay.PayScreen,
    "printing": printing.PrintingScreen,
    "done": done.DoneScreen,
    "error": error.ErrorScreen,
    "cancel_ask": cancel_ask.CancelAskScreen,
    "honseki_confirm": honseki.HonsekiConfirmScreen,
    "honseki_done": honseki.HonsekiDoneScreen,
}
assert tuple(SCREEN_CLASSES) == SCREENS

Intent = Callable[[str, object], None]
# A new screen (or the cancel question) takes a tap only from a touch that began this long after it appeared:
# a double or triple tap meant for the previous screen must not land on whatever now sits there.
TAP_GUARD = 0.7


class KioskShell(BoxLayout):
    """Header + notice + one screen per ``UiState.screen``. ``show`` renders; taps reach ``on_intent``.

    The language chosen on the attract screen is UI-local until the resident starts (then it rides
    on the ``start`` intent and the flow's view state carries it). Back on the attract screen after a
    transaction, everything one resident chose is reset for the next: Japanese, normal text. A screen
    takes taps only from touches that began ``tap_guard`` seconds after it appeared; any touch while the
    countdown warns asks the flow for more time.
    """

    header_text = StringProperty("")
    countdown_text = StringProperty("")
    countdown_warning = BooleanProperty(False)
    notice_text = StringProperty("")
    large_text = StringProperty("")
    more_time_text = StringProperty("")

    def __init__(
        self,
        on_intent: Intent | None = None,
        sound: SoundPlayer | None = None,
        staff: StaffAccess | None = None,  # staff mode from the title
        warm_up: bool = True,  # warm the screens while idle on the start screen (kiosk.ui.warmup)
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        # The background is a clear of the shell's area, not a quad as large as the window: a software
        # renderer (llvmpipe) blends such a quad in ~8 ms of every frame and clears the area in a fraction.
        with self.canvas.before:
            self._area = ScissorPush(x=0, y=0, width=1, height=1)
            self._background = ClearColor(*THEME.bg)
            ClearBuffers(clear_color=True)
            ScissorPop()
        self.bind(pos=self._fit_background, size=self._fit_background)
        THEME.bind(bg=self._fit_background)
        self.on_intent: Intent = on_intent or (lambda kind, value: None)
        self.sound = sound or SoundPlayer(Path(_kivy_home()) / "sounds", Clock.schedule_interval)
        self.language = DEFAULT_LANGUAGE
        self.state = UiState()
        self._language_open = False
        self.tap_guard = TAP_GUARD
        self.shown_at = 0.0  # time.time() (the clock of a touch's time_start) the screen appeared
        self.swallowed = 0  # touches refused by the guard
        self.screens: dict[str, KioskScreen] = {}
        manager = self.ids.manager
        manager.transition = NoTransition()
        for name, cls in SCREEN_CLASSES.items():
            self.screens[name] = cls(self, name=name)
            manager.add_widget(self.screens[name])
        self.staff_open = False
        self.warmup: WarmUp | None = WarmUp(self) if warm_up else None
        if staff is not None:  # imported only with staff mode: the diagnostics and journal are ~8 MiB
            from kiosk.ui.screens.staff import attach_staff

            self.screens["staff"] = attach_staff(self, staff)
        self.show(self.state)

    @property
    def current(self) -> KioskScreen:
        """The screen on display."""
        return self.screens[self.ids.manager.current]

    def show(self, state: UiState) -> None:
        """Render a view state (on the UI thread). Never raises for a well-formed state."""
        previous, self.state = self.state, state
        if state.screen != "attract":
            self.language, self._language_open = state.language, False
        elif previous.screen != "attract":  # a transaction ended: nothing of this resident stays
            self.reset_resident()
        name = "language" if self._language_open and state.screen == "attract" else state.screen
        name = "cancel_ask" if state.cancel_asked else name
        name = "staff" if self.staff_open else name  # staff mode stays over the flow until 終了
        tr = Translator(self.language)
        THEME.use_language(self.language)
        self.header_text, self.large_text = tr("app_title"), tr("large_text")
        self.more_time_text = tr("more_time")
        countdown = state.countdown
        self.countdown_text = tr.plural("countdown", countdown) if countdown is not None else ""
        self.countdown_warning = state.countdown_warning
        self.notice_text = tr("countdown_warning") if state.countdown_warning else ""
        step = None if self.staff_open or state.cancel_asked else step_of(state)
        self.ids.steps.show([tr(key) for key in STEP_KEYS], step)
        manager = self.ids.manager
        warmup = self.warmup
        if warmup is not None:
            warmup.remember_menu(state.menu)
        if manager.current != name:
            self.current.clear()
            if warmup is not None:
                warmup.before_show(name)
            manager.current = name
            self.shown_at = time.time()
            # the guard counts from the frame that draws the new screen: a slow frame does not eat into it
            Clock.schedule_once(self._drawn_now, 0)
        self.screens[name].render(state, tr)
        self._cue(previous, state)
        if warmup is not None:
            if name == "attract":
                warmup.idle()
            else:
                warmup.stop()

    def _fit_background(self, *_args: object) -> None:
        self._area.x, self._area.y = int(self.x), int(self.y)
        self._area.width, self._area.height = int(self.width), int(self.height)
        self._background.rgba = tuple(THEME.bg)

    def _drawn_now(self, _dt: float) -> None:
        self.shown_at = max(self.shown_at, time.time())

    def reset_resident(self) -> None:
        """Forget what the last resident chose: Japanese, normal text, the language list closed, no sound
        left playing. Never raises."""
        self.language, self._language_open = DEFAULT_LANGUAGE, False
        THEME.large = False
        self.sound.stop_reminder()

    def _cue(self, previous: UiState, state: UiState) -> None:
        wrong = state.message == "msg_pin_incorrect" and previous.message != "msg_pin_incorrect"
        failed = state.screen in ("error", "locked") and previous.screen != state.screen
        if wrong or failed:
            self.sound.play("error")
        if state.chase_card and not previous.chase_card:
            self.sound.start_reminder()  # until the card is off the reader
        elif previous.chase_card and not state.chase_card:
            self.sound.stop_reminder()

    def taps_open(self, now: float | None = None) -> bool:
        """Whether the screen on display takes a touch beginning ``now`` (default: now)."""
        return (time.time() if now is None else now) >= self.shown_at + self.tap_guard

    def on_touch_down(self, touch: Any) -> bool:
        """A touch on the screen area that began too soon after the screen appeared is swallowed (tap-through
        of a double tap); any touch while the countdown warns asks for more time; any touch pauses the warm-up
        at once (``kiosk.ui.warmup``)."""
        if self.warmup is not None:
            self.warmup.touched()
        if self.state.countdown_warning and not self.staff_open:
            self.send("more_time", quiet=True)
        manager = self.ids.manager
        if manager.collide_point(*touch.pos) and not self.taps_open(touch.time_start):
            self.swallowed += 1
            log.info(
                "a touch %.2f s after %s appeared was ignored",
                touch.time_start - self.shown_at,
                manager.current,
            )
            return True
        return bool(super().on_touch_down(touch))

    def send(self, kind: str, value: object = None, *, quiet: bool = False) -> None:
        """Pass an intent to the flow (through ``on_intent``), with the key click unless ``quiet``. Never
        raises: a failure is logged."""
        if not quiet:
            self.click()
        try:
            self.on_intent(kind, value)
        except Exception:  # a bad intent must not take the screen down
            log.exception("intent %s failed", kind)

    def click(self) -> None:
        """The key-click cue."""
        self.sound.play("click")

    def open_language(self) -> None:
        """Show the language list (UI-local)."""
        self._language_open = True
        self.show(self.state)

    def pick_language(self, language: str) -> None:
        """Use ``language`` from now on and go back to the attract screen."""
        self.language, self._language_open = language, False
        self.show(self.state)

    @property
    def calling_staff(self) -> bool:
        """The resident's screen asks for staff (店員をお呼びください): it stays until staff clear it in staff
        mode (or the flow's ``call_staff`` timeout passes)."""
        outcome = self.state.outcome
        return self.state.screen == "error" and outcome is not None and outcome.message_key == CALL_STAFF

    def open_staff(self) -> None:
        """Staff mode (the 3 s press on the title): from the attract screen or the call-staff screen, never
        mid-transaction."""
        current = self.ids.manager.current
        if "staff" in self.screens and (current == "attract" or (current == "error" and self.calling_staff)):
            self.screens["staff"].begin()
            self.staff_open = True
            self.show(self.state)

    def close_staff(self) -> None:
        """Leave staff mode: the flow's screen again."""
        self.staff_open = False
        self.show(self.state)

    def toggle_large_text(self) -> None:
        """Larger-text mode on / off."""
        THEME.large = not THEME.large
        self.click()

    def on_size(self, _instance: object, size: Any) -> None:
        """Text and touch targets follow the screen's size (``Theme.fit_window``)."""
        THEME.fit_window(float(size[0]), float(size[1]))


def _kivy_home() -> str:
    import os

    return os.environ.get("KIVY_HOME", str(Path.home() / ".kivy"))


def freeze_heap() -> None:
    """Move every object alive now (the shell, its screens, Kivy's and our modules) out of the garbage
    collector's reach: they live as long as the process, and a full collection in the middle of a tap
    would walk all of them again (tens of ms). Call once, after the shell is built. Never raises."""
    gc.freeze()


def clear_colour_only(window: Any) -> None:
    """Make ``window`` clear only its colour before each frame: Kivy clears the depth and stencil buffers
    too, but nothing here uses depth and Kivy's stencil instructions clear the stencil when they start. On a
    software renderer those two clears of the whole window cost more than the rest of a 1920x1080 frame.
    Never raises."""
    from kivy.graphics import opengl as gl

    def clear() -> None:
        gl.glClearColor(*window.clearcolor)
        gl.glClear(gl.GL_COLOR_BUFFER_BIT)

    window.clear = clear


def build_shell(
    on_intent: Intent | None = None, staff: StaffAccess | None = None, *, warm_up: bool = True
) -> KioskShell:
    """Register fonts (Kivy's text provider keeps no surface of a drawn text and opens no second face for bold
    text: ``release_text_surfaces``, ``share_font_faces``), load the shell's kv and build the shell (with
    staff mode given a ``StaffAccess``; without the warm-up when ``warm_up`` is False). Raises
    FontMissingError."""
    register_fonts()
    release_text_surfaces()
    share_font_faces()
    THEME.refresh_metrics()
    load_kv(Path(__file__).with_name("shell.kv"))
    return KioskShell(on_intent=on_intent, staff=staff, warm_up=warm_up)


class KioskApp(App):
    """The kiosk app on a real flow: view states arrive via Clock; intents go to ``flow.post``.

    The window is locked down (``kiosk.ui.lockdown``): no key leaves or reconfigures it, Kivy's settings
    panel never opens, and it closes only after ``request_stop`` (a stop request)."""

    title = "myna-kiosk"
    use_kivy_settings = False

    def __init__(self, flow: Flow, staff: StaffAccess | None = None, **kwargs: Any) -> None:
        lock_config()  # before App.run starts the input providers
        super().__init__(**kwargs)
        self.flow = flow
        self.staff = staff
        self.guard = WindowGuard()

    def build(self) -> Any:
        shell = build_shell(
            on_intent=lambda kind, value: self.flow.post(to_flow_event(kind, value)), staff=self.staff
        )
        self.flow.subscribe(lambda view: Clock.schedule_once(lambda _dt: shell.show(from_view(view))))
        self.attach_guard()
        freeze_heap()
        return shell

    def attach_guard(self) -> None:
        """Lock the window down and let it clear only its colour (subclasses that build their own root call
        this). Never raises."""
        from kivy.core.window import Window

        self.guard.attach(Window)
        clear_colour_only(Window)

    def request_stop(self) -> None:
        """A stop request: let the window close and stop the app. Never raises."""
        self.guard.allow_close()
        self.stop()

    def open_settings(self, *_args: Any) -> bool:
        """Kivy's settings panel (F1) is never shown on a kiosk: returns False."""
        return False

    def close_settings(self, *_args: Any) -> bool:
        """Nothing to close (the panel never opens): returns False so the key goes on to the guard."""
        return False
