"""Warm-up: while the kiosk idles on its start screen, lay out the screens a resident meets next and draw
their text, in small slices on Kivy's clock, so that a screen's first visit costs what any visit costs.

A screen's first visit in a fresh process (or its first in a language or text size) lays out its widgets at
the window's size and measures and draws every text on it: tens of ms at 1920x1080 on a software renderer,
on top of the frame. The warm-up does that work ahead, a little at a time:

- it starts ``quiet`` seconds after the start screen appears and nothing touched the screen since;
- each slice (one per frame) works until ``budget`` seconds are spent, then gives the frame back;
- a touch pauses it at once (the next slice is not run) and it resumes only after ``quiet`` seconds with
  no touch; leaving the start screen (a resident starts, the language list opens, staff mode) stops it.

It never changes what a resident sees: it renders screens that are not on display with a neutral view
state (the shell's own language and text size, no personal data), calls each one's ``clear`` after, and
never touches the shell's language, text size, sounds, or the screen on display. Texts (and layouts) it has
taken over from Kivy's clock and not yet drawn are handed back (``before_show``) before their screen is shown.

What it warms: every screen but the start screen, in the shell's language, text size and window size; the
type, options and payment screens with the menu the kiosk last saw from its center (``remember_menu``:
types, fees and options, every type available; before any, ``DEFAULT_MENU``); the step indicator's texts.
Memory: it draws ahead what a resident's first pass draws anyway (about 12 MiB at 800x600), so the peak
after one resident is the same with or without it; the screens stay warm until a resident's language or
choices change them, and the next idle spell on the start screen warms them again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

from kivy.clock import Clock
from kivy.core.text import Label as CoreLabel
from kivy.lang import Builder
from kivy.uix.label import Label
from kivy.uix.layout import Layout

from kiosk.ui.bridge import SCREENS, UiMenuItem, UiOutcome, UiState
from kiosk.ui.i18n import LANGUAGES, Translator
from kiosk.ui.steps import STEP_KEYS
from kiosk.ui.theme import THEME
from kiosk.ui.widgets import StepBar

log = logging.getLogger(__name__)

# The screens in the order a resident meets them (the likeliest first: a pause may come before the end),
# then every other screen but the start screen, in the shell's order (a new screen is warmed too).
_LIKELIEST: tuple[str, ...] = (
    "route",
    "language",
    "place_card",
    "wait",
    "pin",
    "remove_card",
    "choose_type",
    "options",
    "copies",
    "confirm",
    "pay",
    "printing",
    "done",
    "cancel_ask",
    "error",
    "locked",
)
ORDER: tuple[str, ...] = _LIKELIEST + tuple(s for s in SCREENS if s not in _LIKELIEST and s != "attract")
BUDGET = 0.006  # seconds of work per slice (a frame): a tap arriving mid-slice waits at most this long
QUIET = 1.5  # seconds without a touch on the start screen before the warm-up starts or resumes
# Before the kiosk has seen a center's menu: the certificates most asked for, without options (their
# texts are the catalog's; fees are placeholders, redrawn with the real ones on the visit).
DEFAULT_MENU: tuple[UiMenuItem, ...] = (
    UiMenuItem("juminhyo", 300, True, 1),
    UiMenuItem("inkan", 300, True, 1),
    UiMenuItem("koseki_zenbu", 450, True, 1),
    UiMenuItem("shotoku_kazei", 300, True, 1),
)


def neutral_menu(menu: tuple[UiMenuItem, ...]) -> tuple[UiMenuItem, ...]:
    """A center's menu as the warm-up uses it: its types, fees and options (the same for every resident
    at this kiosk), every type available (whether one resident may have one is theirs alone). Never
    raises."""
    return tuple(replace(item, available=True, unavailable_key="type_unavailable") for item in menu)


def neutral_state(name: str, language: str, menu: tuple[UiMenuItem, ...]) -> UiState:
    """A view state that shows screen ``name`` with its usual words and no one's data. Never raises."""
    base = UiState(screen=name, language=language, menu=menu, can_cancel=True)
    first = menu[0] if menu else None
    chosen = (
        replace(
            base,
            chosen_type=first.type,
            options=tuple((option, values[0]) for option, values in first.options if values),
            fee=first.fee,
        )
        if first is not None
        else base
    )
    outcome = UiOutcome("outcome_retry", "")
    states = {
        "wait": replace(base, wait_title="wait_reading", wait_hint="wait_keep_card"),
        "options": chosen,
        "copies": chosen,
        "confirm": chosen,
        "pay": chosen,
        "printing": replace(chosen, pages_printed=0, pages_total=1, can_cancel=False),
        "done": replace(chosen, can_cancel=False),
        "cancel_ask": replace(chosen, screen="pay", cancel_asked=True),
        "error": replace(base, outcome=outcome, can_cancel=False),
        "locked": replace(base, outcome=UiOutcome("outcome_go_to_city_hall", ""), can_cancel=False),
    }
    return states.get(name, base)


def _lines(*roots: Any) -> dict[str, None]:
    """The lines of text of every label under ``roots``, in order, once each (markup left out). Never
    raises."""
    lines: dict[str, None] = {}
    for root in roots:
        for label in (w for w in root.walk() if isinstance(w, Label) and not w.markup):
            lines.update((line, None) for line in label.text.split("\n") if line.strip())
    return lines


class WarmUp:
    """Warms the shell's screens while it idles on the start screen (see the module's docstring).

    ``idle`` (the start screen is shown), ``touched`` (a touch began) and ``stop`` (the start screen is left)
    drive it; ``before_show`` hands back texts not yet drawn before their screen appears. ``warm`` is True
    once every screen is warm for the current language, text size and window size."""

    def __init__(
        self,
        shell: Any,
        *,
        budget: float = BUDGET,
        quiet: float = QUIET,
        timer: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.shell = shell
        self.budget, self.quiet = budget, quiet
        self.menu: tuple[UiMenuItem, ...] = DEFAULT_MENU
        self.slices = 0  # slices run (tests, figures)
        self._timer = timer
        self._work: Iterator[bool] | None = None
        self._key: tuple[object, ...] | None = None  # what the work under way warms for
        self._warm_key: tuple[object, ...] | None = None  # what the screens are warm for
        self._held: dict[str, list[Label]] = {}  # screen -> texts taken from the clock, not yet drawn
        self._held_layouts: dict[str, list[Layout]] = {}  # screen -> layouts taken from the clock, not run
        self._start: Any = None  # the ClockEvent that begins (or resumes) the work after a quiet spell
        self._next = Clock.create_trigger(self._slice, 0)
        shell.ids.manager.bind(size=self._resized)
        shell.bind(parent=self._resized)  # put in a window: warm up (a shell in none waits for nobody)
        self._watch_theme()

    @property
    def running(self) -> bool:
        """Work is under way (a slice is due)."""
        return self._work is not None and bool(self._next.is_triggered)

    @property
    def warm(self) -> bool:
        """Every screen is warm for the language, text size and window size in use now."""
        return self._warm_key is not None and self._warm_key == self._current_key()

    def _current_key(self) -> tuple[object, ...]:
        manager = self.shell.ids.manager
        return (self.shell.language, bool(THEME.large), tuple(manager.size), self.menu)

    def remember_menu(self, menu: tuple[UiMenuItem, ...]) -> None:
        """The menu a center sent (kept as ``neutral_menu``): the next warm-up draws its tiles and options."""
        if menu:
            self.menu = neutral_menu(menu)

    def idle(self) -> None:
        """The start screen is shown: warm up after ``quiet`` seconds without a touch (unless warm, or already
        under way for the same language, text size and window size)."""
        if self.warm:
            return
        if self._work is not None and self._key != self._current_key():
            self._work = None  # warming for another language or size: start over (after a quiet spell)
            self._next.cancel()
        if self._next.is_triggered or self._waiting:
            return
        self._arm()

    def touched(self) -> None:
        """A touch began: pause at once; (re)start after ``quiet`` seconds without a touch, if the start
        screen is still shown then."""
        self._next.cancel()
        self._arm()

    def stop(self) -> None:
        """The start screen is left (or the app stops): no more slices until ``idle``."""
        self._next.cancel()
        if self._start is not None:
            self._start.cancel()

    @property
    def _waiting(self) -> bool:
        return self._start is not None and bool(self._start.is_triggered)

    def _arm(self) -> None:
        """(Re)start the quiet spell: the work begins or resumes ``quiet`` seconds from now."""
        if self._start is not None:
            self._start.cancel()
        self._start = Clock.schedule_once(self._begin, self.quiet)

    def _resized(self, *_args: object) -> None:
        """The screens' area changed size (a turned or new window; the shell's layout settling; the shell
        put in a window): warm them again at the new size, if the start screen is shown."""
        if self.shell.ids.manager.current == "attract" and not self.shell.staff_open:
            self.idle()

    def _watch_theme(self) -> None:
        """Watch the theme for changes that redraw every text, after every label made so far (observers
        are called in the order they were bound: ours must come after the labels' own)."""
        for name in ("large", "font", "scale"):  # bind, not fbind: a weak reference (the shell may go)
            THEME.unbind(**{name: self._theme_changed})
            THEME.bind(**{name: self._theme_changed})

    def _theme_changed(self, *_args: object) -> None:
        """Larger text, another language's font or another window size: every text on every screen is
        to be measured and drawn again. Those on screens not shown are taken from Kivy's clock (it would do
        them all in the next frame, the one that should draw the tap that asked for the change), and so are
        those screens' layouts (sizes bound to the theme's, e.g. the payment table's width and the PIN keys:
        run, they would change the widths of texts and have them drawn again all the same): the warm-up does
        them when idle, or they go back before their screen is shown (``before_show``)."""
        manager = self.shell.ids.manager
        if self.shell.get_root_window() is None:
            return  # a shell in no window: its texts are measured when it is shown again, as ever
        for name, screen in self.shell.screens.items():
            if name == manager.current or screen.parent is not None:
                continue
            self._hold(name, screen, layouts=True)
        self._resized()  # warm again at the new size, once the start screen is quiet

    def _hold(self, name: str, screen: Any, *, layouts: bool = False) -> None:
        """Take the texts of ``screen`` that wait for Kivy's clock (and with ``layouts``, its layouts) into
        the warm-up's hands."""
        held = self._held.setdefault(name, [])
        held_layouts = self._held_layouts.setdefault(name, [])
        for widget in screen.walk():
            if isinstance(widget, Label):
                if widget._trigger_texture.is_triggered:
                    widget._trigger_texture.cancel()
                    if widget not in held:
                        held.append(widget)
            elif layouts and isinstance(widget, Layout) and widget._trigger_layout.is_triggered:
                widget._trigger_layout.cancel()
                if widget not in held_layouts:
                    held_layouts.append(widget)

    def _release_layouts(self, name: str) -> None:
        """Layouts of screen ``name`` that the warm-up holds go back to Kivy's clock (run before the next
        frame)."""
        for layout in self._held_layouts.pop(name, []):
            layout._trigger_layout()

    def before_show(self, name: str) -> None:
        """Screen ``name`` is about to be shown: texts the warm-up holds for it go back to Kivy's clock (they
        are measured and drawn before the frame, as on a visit without the warm-up), and so do its layouts;
        any screen but the start screen leaves the screens in a resident's language and choices, so they are
        no longer warm."""
        self._release_layouts(name)
        for label in self._held.pop(name, []):
            label._trigger_texture()
        if name != "attract":
            self._warm_key = None
            self._work = None  # it may have been part-way through this screen: start over when idle again

    def _begin(self, _dt: float = 0) -> None:
        shell = self.shell
        if shell.ids.manager.current != "attract" or shell.staff_open or self.warm:
            return
        if shell.get_root_window() is None:  # not in a window (yet, or any more): nobody to warm up for
            return
        if self._work is None or self._key != self._current_key():
            self._key = self._current_key()
            self._work = self._steps()
        self._next()

    def _slice(self, _dt: float = 0) -> None:
        """One slice: steps until the budget is spent or a step asks for a frame (a layout to run)."""
        work = self._work
        if work is None:
            return
        self.slices += 1
        until = self._timer() + self.budget
        try:
            while True:
                frame = next(work)
                if frame or self._timer() >= until:
                    break
        except StopIteration:
            self._work = None
            self._warm_key = self._key
            log.debug("warm-up done in %d slices", self.slices)
            if not self.warm:  # the window (or the shell's layout) changed size while it ran: again
                self._begin()
            return
        except Exception:  # a warm-up must never take the start screen down
            log.exception("warm-up failed")
            self._work = None
            return
        self._next()

    def _steps(self) -> Iterator[bool]:
        """The work, a step at a time; each yields True when the next step needs a frame first (a layout)."""
        language, menu = self.shell.language, self.menu
        tr = Translator(language)
        for other in LANGUAGES:  # the language list names each language in its own words
            Translator(other)
            yield False
        manager = self.shell.ids.manager
        for name in ORDER:
            if name == "place_card":  # the first screen with the step indicator
                yield from self._step_texts(tr)
            screen = self.shell.screens[name]
            if manager.current == name:
                continue
            if tuple(screen.size) != tuple(manager.size):
                screen.size = manager.size  # laid out at the window's size in the next frame
                yield True
            screen.render(neutral_state(name, language, menu), tr)
            screen.clear()  # as a screen is left: nothing of the neutral state stays in its inputs
            self._release_layouts(name)  # held since a theme change: laid out with the render's, next frame
            self._hold(name, screen)  # with any left from a warm-up started over or a theme change
            yield False
            while self._held.get(name):
                label = self._held[name].pop()
                label.texture_update()
                if label.texture is not None:
                    label.texture.bind()  # draw the text now (Kivy draws it at its first frame)
                yield False
            self._held.pop(name, None)
            yield True  # the layout the new text sizes ask for, before the next screen
        yield from self._other_size_faces()
        self._watch_theme()  # after the labels this warm-up made (language list, tiles, option rows)

    def _other_size_faces(self) -> Iterator[bool]:
        """Open the font faces of the other text size (larger text, or normal text under larger text) in the
        shell's font, and measure every text of the warm screens on each, the header's and the start screen's
        last: a tap on 文字を大きく, its first use included, then opens no face and loads few glyphs (Kivy's
        SDL2 text provider keeps a face per file and size; SDL_ttf keeps the metrics of the glyphs it
        measured). Each face holds ~0.9 MiB (IPAex Gothic): the same ones the first tap would open."""
        screens = [self.shell.screens[name] for name in ORDER if name in self.shell.screens]
        shown = _lines(self.shell)  # the header, the step indicator and the start screen
        texts = [line for line in _lines(*screens) if line not in shown] + list(shown)
        for size in THEME.text_sizes(not THEME.large):
            face = CoreLabel(font_name=THEME.font, font_size=size)
            face.resolve_font_name()
            for text in texts:
                face.get_extents(text)
                yield False

    def _step_texts(self, tr: Translator) -> Iterator[bool]:
        """The step indicator's texts, each step current in turn, drawn into its texture cache
        (``STEP_TEXTURES``) by a twin of the shell's indicator that is never shown: the shell's own stays
        hidden on the start screen, and on its first visit to a step finds every text drawn."""
        twin = StepBar(width=self.shell.ids.steps.width)
        names = [tr(key) for key in STEP_KEYS]
        for index in range(len(names)):
            twin.show(names, index)
            twin.do_layout()
            for label in twin.children:
                label._trigger_texture.cancel()
                label.texture_update()  # a StepLabel keeps its drawn texture in STEP_TEXTURES
                yield False
        for label in twin.children:  # the twin may outlive this (until a collection): never redrawn again
            Builder.unbind_widget(label.uid)
