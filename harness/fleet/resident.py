"""A scripted resident for fleets: plays one planned transaction on a fleet kiosk, step by step.

Unlike the TOML scenarios (fixed steps for one resident), a fleet resident reads the screen it is shown:
it takes the certificate type it came for if the center offers it now, else the first one offered, the
center's default options, and pays as its plan says. Each step is timed from the resident's action to the
next screen that asks something of the resident (or the end); :class:`StepTiming` is what Locust and the
report show. The plan's device faults (a jam, paper out, a silent cash unit, a card pulled while the kiosk
reads it) are set just before the step they hit.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from harness.fleet.mix import Plan
from harness.fleet.station import FleetKiosk
from kiosk.flow import events as ev
from kiosk.flow.view import Screen, ViewState

_END = frozenset({Screen.DONE, Screen.FAILED})
_ASKS = frozenset(
    {
        Screen.ROUTE,
        Screen.PLACE_CARD,
        Screen.PIN,
        Screen.REMOVE_CARD,
        Screen.CHOOSE_TYPE,
        Screen.OPTIONS,
        Screen.COPIES,
        Screen.CONFIRM,
        Screen.PAY,
    }
)


@dataclass(frozen=True)
class StepTiming:
    """One step: its name, seconds from the action to the next asking screen, and the screen reached.
    ``staff_code`` is set when the transaction ended there with a failure."""

    name: str
    seconds: float
    screen: str
    staff_code: str = ""


@dataclass
class Played:
    """What the harness saw of one transaction (the run's script; verdicts use the kiosk's evidence)."""

    plan: Plan
    started: float
    ended: float = 0.0
    steps: list[StepTiming] = field(default_factory=list)
    final: ViewState | None = None
    error: str = ""


class _Watcher:
    """The kiosk's screens as they change (the flow publishes on its dispatcher thread)."""

    def __init__(self, kiosk: FleetKiosk) -> None:
        self.kiosk = kiosk
        self.changed = threading.Condition()
        self.ended: ViewState | None = None
        kiosk.flow.subscribe(self._seen)

    def _seen(self, view: ViewState) -> None:
        with self.changed:
            if self.ended is None and view.screen in _END:
                self.ended = view
            self.changed.notify_all()

    def until(self, ok: Callable[[ViewState], bool], timeout: float) -> ViewState:
        """Wait until ``ok(view)`` or the transaction ended. Raises TimeoutError."""
        with self.changed:
            if not self.changed.wait_for(lambda: ok(self.kiosk.flow.view) or self.ended is not None, timeout):
                raise TimeoutError(f"stuck at {self.kiosk.flow.view.screen}")
            return self.ended or self.kiosk.flow.view


class Resident:
    """Plays plans on one kiosk; ``step_timeout`` bounds every wait."""

    def __init__(self, kiosk: FleetKiosk, *, step_timeout: float = 60.0) -> None:
        self.kiosk = kiosk
        self.watch = _Watcher(kiosk)
        self.step_timeout = step_timeout

    def play(self, plan: Plan, gone: Callable[[], None] = lambda: None) -> Played:
        """One whole transaction, then back to the attract screen; ``gone()`` once the resident has taken
        their card and left (while the kiosk returns to its attract screen and staff tend it, the
        resident may already be at another kiosk). Never raises: a stuck kiosk is ``Played.error``."""
        self.watch.ended = None
        played = Played(plan, time.time())
        try:
            self._script(plan, played)
            played.final = self.watch.until(lambda v: False, self.step_timeout)
        except TimeoutError as exc:
            played.error = str(exc)
        played.ended = time.time()
        self._leave(gone)
        return played

    # --- steps -----------------------------------------------------------------------------------------
    def _step(
        self, played: Played, name: str, act: Callable[[], None], *, screen: Screen | None = None
    ) -> bool:
        """Act, wait for the next asking screen (``screen`` if given) or the end; False once it ended."""
        before = self.kiosk.flow.view.screen
        start = time.monotonic()
        act()
        if screen is not None:
            view = self.watch.until(lambda v: v.screen is screen, self.step_timeout)
        else:
            view = self.watch.until(lambda v: v.screen in _ASKS and v.screen is not before, self.step_timeout)
        code = view.outcome.staff_code if view.outcome is not None and not view.outcome.ok else ""
        played.steps.append(StepTiming(name, time.monotonic() - start, str(view.screen), code))
        return view.screen not in _END

    def _script(self, plan: Plan, played: Played) -> None:
        k, post = self.kiosk, self.kiosk.flow.post
        self.watch.until(lambda v: v.screen is Screen.ATTRACT, self.step_timeout)
        k.hold_card(plan.card)
        if not self._step(played, "start", lambda: post(ev.Start(plan.language))):
            return
        if not self._step(played, "route", lambda: post(ev.ChooseRoute("residence"))):
            return
        if plan.pull_card_at == "reading":
            self._step(played, "card", self._flash_card)
            return
        if not self._step(played, "card", k.insert_card):
            return
        if plan.kind == "card_removed_early":
            self._step(played, "pin", k.remove_card)
            return
        if plan.kind == "timeout":
            self._step(played, "pin", lambda: None)  # the resident walks away
            return
        if plan.kind == "wrong_pin" and not self._wrong_pin(plan, played):
            return
        if not self._step(played, "pin", lambda: post(ev.PinEntered(plan.pin))):
            return
        if not self._step(played, "remove_card", k.remove_card):
            return
        self._choose(plan, played)

    def _wrong_pin(self, plan: Plan, played: Played) -> bool:
        """One wrong try; back on the PIN screen with a try less (False if the transaction ended)."""
        tries = self.kiosk.flow.view.tries_left or 99
        start = time.monotonic()
        self.kiosk.flow.post(ev.PinEntered(plan.wrong_pin))
        view = self.watch.until(
            lambda v: v.screen is Screen.PIN and v.tries_left is not None and v.tries_left < tries,
            self.step_timeout,
        )
        played.steps.append(StepTiming("wrong_pin", time.monotonic() - start, str(view.screen)))
        return view.screen not in _END

    def _choose(self, plan: Plan, played: Played) -> None:
        post, view = self.kiosk.flow.post, self.kiosk.flow.view
        offered = [m for m in view.menu if m.available]
        if not offered:
            self._step(played, "cancel", lambda: post(ev.Cancel()))
            return
        item = next((m for m in offered if m.type == plan.cert_type), offered[0])
        if not self._step(played, "choose", lambda: post(ev.ChooseType(item.type))):
            return
        if self.kiosk.flow.view.screen is Screen.OPTIONS:
            defaults = tuple((name, values[0]) for name, values in item.options if values)
            if not self._step(played, "options", lambda: post(ev.ChooseOptions(defaults))):
                return
        copies = max(1, min(plan.copies, item.max_copies))
        if not self._step(played, "copies", lambda: post(ev.ChooseCopies(copies))):
            return
        if not self._step(played, "issue", lambda: post(ev.Confirm())):
            return
        self._pay(plan, played)

    def _pay(self, plan: Plan, played: Played) -> None:
        k, fee = self.kiosk, self.kiosk.flow.view.fee
        if plan.kind == "printer_jam":
            k.printer_sim.arm(jam_at=plan.fault_sheet)
        elif plan.kind == "paper_out":
            k.printer_sim.arm(paper_left=plan.fault_sheet - 1)
        elif plan.kind == "no_change":
            k.cash_sim.set_hopper_stock(0)  # staff emptied the hoppers without telling the kiosk
        if plan.kind == "cancel":
            self._step(played, "pay", self._coin_then_cancel)
            return
        if plan.silent_cash:
            self._step(played, "pay", lambda: k.cash_sim.set_silent(True))
            return
        money = plan.payment(fee)
        if self._step(played, "pay", lambda: self._insert(money), screen=Screen.PRINTING):
            self._step(played, "print", lambda: None)

    def _flash_card(self) -> None:
        """The card touches the reader and is pulled while the kiosk reads it."""
        self.kiosk.insert_card()
        time.sleep(0.01)
        self.kiosk.remove_card()

    def _coin_then_cancel(self) -> None:
        self.kiosk.insert_coin(10)
        time.sleep(0.3)
        self.kiosk.flow.post(ev.Cancel())

    def _insert(self, money: list[int]) -> None:
        for yen in money:
            (self.kiosk.insert_note if yen >= 1000 else self.kiosk.insert_coin)(yen)
            time.sleep(0.12)  # one coin per acceptor poll, as a resident would

    def _leave(self, gone: Callable[[], None]) -> None:
        """Take the card, the certificate or the money and go; staff tend the kiosk; back on the attract
        screen."""
        k = self.kiosk
        k.remove_card()
        gone()
        deadline = time.monotonic() + self.step_timeout
        while k.flow.view.screen is not Screen.ATTRACT and time.monotonic() < deadline:
            if k.flow.view.screen in _END:
                k.flow.post(ev.Finish())
            time.sleep(0.05)
        k.service()
