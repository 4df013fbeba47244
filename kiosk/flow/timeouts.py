"""Per-step timeouts (seconds) with a warning countdown on the screens where the resident acts."""

from __future__ import annotations

from dataclasses import dataclass, field

from kiosk.flow.view import Screen

CANCELLABLE = frozenset(
    {
        Screen.ROUTE,
        Screen.PLACE_CARD,
        Screen.READING,
        Screen.PIN,
        Screen.VERIFYING,
        Screen.AUTHENTICATING,
        Screen.REMOVE_CARD,
        Screen.CHOOSE_TYPE,
        Screen.OPTIONS,
        Screen.COPIES,
        Screen.CONFIRM,
        Screen.ISSUING,
        Screen.PAY,
        Screen.HONSEKI_CONFIRM,
    }
)
INTERACTIVE = frozenset(
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
        Screen.DONE,
        Screen.FAILED,
        Screen.HONSEKI_CONFIRM,
        Screen.REGISTERED,
    }
)


@dataclass(frozen=True)
class Timeouts:
    """How long each screen may last. Busy screens (card, center, devices) time out too: a step that
    waits past its time aborts the whole transaction (the 2023 lesson), except printing, which stops
    the job and refunds what did not come out."""

    interaction: float = 60.0
    remove_card: float = 30.0
    pay: float = 120.0
    card: float = 20.0
    center: float = 45.0
    printing: float = 300.0
    finishing: float = 60.0
    outcome: float = 30.0
    # the call-staff outcome (money owed, a fault): it waits for staff to clear it (staff mode), and after
    # this long returns to the start screen by itself, the journal keeping what is owed
    call_staff: float = 600.0
    warning: float = 10.0
    interactive: frozenset[Screen] = field(default=INTERACTIVE)

    def for_screen(self, screen: Screen, *, calling_staff: bool = False) -> float | None:
        """Seconds allowed on ``screen`` (None: no limit, the attract screen); ``calling_staff``: the outcome
        asks the resident to call staff (``call_staff``, not ``outcome``)."""
        if calling_staff and screen is Screen.FAILED:
            return self.call_staff
        table = {
            Screen.ATTRACT: None,
            Screen.REMOVE_CARD: self.remove_card,
            Screen.PAY: self.pay,
            Screen.READING: self.card,
            Screen.VERIFYING: self.card,
            Screen.AUTHENTICATING: self.center,
            Screen.ISSUING: self.center,
            Screen.FINISHING_PAYMENT: self.finishing,
            Screen.PRINTING: self.printing,
            Screen.REPORTING: self.center,
            Screen.ABORTING: self.finishing,
            Screen.DONE: self.outcome,
            Screen.FAILED: self.outcome,
            Screen.REGISTERING: self.center,
            Screen.REGISTERED: self.outcome,
            Screen.TAKE_CARD: None,  # chased (with sound) until the card is off the reader
        }
        return table.get(screen, self.interaction)
