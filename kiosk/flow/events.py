"""Events that drive the flow: resident intents, card presence, cash, job results, time."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Start:
    """Tap on the attract screen (with the chosen language)."""

    language: str = "ja"


@dataclass(frozen=True)
class ChooseRoute:
    """``residence`` or ``honseki``."""

    route: str = "residence"


@dataclass(frozen=True)
class CardInserted:
    reader: str = ""


@dataclass(frozen=True)
class CardRemoved:
    reader: str = ""


@dataclass(frozen=True)
class PinEntered:
    """The 4 digits from the keypad. Not kept: handed to one VERIFY, then dropped."""

    pin: str

    def __repr__(self) -> str:  # never let the PIN reach a log through repr()
        return "PinEntered(pin=****)"


@dataclass(frozen=True)
class ChooseType:
    type: str


@dataclass(frozen=True)
class ChooseOptions:
    options: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class ChooseCopies:
    copies: int


@dataclass(frozen=True)
class Confirm:
    """The resident accepts the fee."""


@dataclass(frozen=True)
class Back:
    """One screen back (only on the choice screens)."""


@dataclass(frozen=True)
class Cancel:
    """Cancel the transaction (possible at every step before printing). With ``ask`` (the touchscreen's
    取消), a transaction whose PIN was verified or that holds money is not cancelled yet: the flow asks once
    more (``ViewState.cancel_asked``) and a plain ``Cancel`` confirms."""

    ask: bool = False


@dataclass(frozen=True)
class KeepGoing:
    """The resident answered "continue" to the cancel question."""


@dataclass(frozen=True)
class MoreTime:
    """The resident wants more time on this screen: its countdown starts again."""


@dataclass(frozen=True)
class CashCredited:
    """The cash unit counted (and journaled) money; ``total`` is the payment's credit so far."""

    total: int


@dataclass(frozen=True)
class PrintProgressed:
    pages_done: int
    pages_total: int


@dataclass(frozen=True)
class Finish:
    """The outcome screen is over: the resident's 終了 (``resident``: from the touchscreen, or a bench tapping
    as a resident would), or a driver of the flow leaving it. The resident's is refused while the screen
    asks for staff (``StaffCleared`` ends that one)."""

    resident: bool = False


@dataclass(frozen=True)
class StaffCleared:
    """Staff cleared the call-staff screen from staff mode: the kiosk goes on to the next resident (the
    journal keeps anything still owed for staff to settle)."""


@dataclass(frozen=True)
class Tick:
    """Time passed: the flow reads its clock and checks the step's deadline."""


@dataclass(frozen=True)
class JobDone:
    """A blocking job finished; ``generation`` ties it to the transaction that started it."""

    generation: int
    name: str
    result: object  # the job's value, or the exception it raised


Event = (
    Start
    | ChooseRoute
    | CardInserted
    | CardRemoved
    | PinEntered
    | ChooseType
    | ChooseOptions
    | ChooseCopies
    | Confirm
    | Back
    | Cancel
    | KeepGoing
    | MoreTime
    | CashCredited
    | PrintProgressed
    | Finish
    | StaffCleared
    | Tick
    | JobDone
)
