"""What the screens render: one immutable view state per change, published by the flow."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Screen(enum.StrEnum):
    """Every screen of the transaction, in the order of the real service (docs/service.md §1)."""

    ATTRACT = "attract"
    ROUTE = "route"
    PLACE_CARD = "place_card"
    READING = "reading"
    PIN = "pin"
    VERIFYING = "verifying"
    AUTHENTICATING = "authenticating"
    REMOVE_CARD = "remove_card"
    CHOOSE_TYPE = "choose_type"
    OPTIONS = "options"
    COPIES = "copies"
    CONFIRM = "confirm"
    ISSUING = "issuing"
    PAY = "pay"
    FINISHING_PAYMENT = "finishing_payment"
    PRINTING = "printing"
    REPORTING = "reporting"
    ABORTING = "aborting"
    DONE = "done"
    FAILED = "failed"
    TAKE_CARD = "take_card"  # the transaction is over but its card is still on the reader
    # 本籍地 利用登録 (route honseki_registration): after the card is removed, instead of choose_type
    HONSEKI_CONFIRM = "honseki_confirm"  # register with this 本籍地?
    REGISTERING = "registering"
    REGISTERED = "registered"  # done: usable from this date, what to do next


@dataclass(frozen=True)
class MenuItem:
    """One certificate type the center offers this resident now (no personal data)."""

    type: str
    label: str
    fee: int
    max_copies: int
    available: bool
    unavailable_code: str | None = None
    # option name -> values offered, the center's default first; "members" (a household pick) is not
    # offered on the touchscreen: the center's default (the cardholder) applies
    options: tuple[tuple[str, tuple[str, ...]], ...] = ()


@dataclass(frozen=True)
class Outcome:
    """How a transaction ended: what the resident is told and what staff look up.

    ``message_key`` is one of ``take_certificate``, ``retry``, ``go_to_city_hall``, ``call_staff``,
    ``take_your_money``, ``cancelled``; ``reason`` is the finer key (e.g. ``pin_locked``).
    """

    message_key: str
    reason: str
    staff_code: str
    refunded: int = 0
    refund_owed: int = 0

    @property
    def ok(self) -> bool:
        return self.message_key == "take_certificate"


@dataclass(frozen=True)
class ViewState:
    """Everything a screen shows. Never holds the PIN, the certificate or a document."""

    screen: Screen = Screen.ATTRACT
    language: str = "ja"
    route: str = "residence"
    message_key: str = ""
    tries_left: int | None = None
    last_try_warning: bool = False
    menu: tuple[MenuItem, ...] = ()
    chosen_type: str = ""
    options: tuple[tuple[str, str], ...] = ()
    copies: int = 1
    fee: int = 0
    amount_inserted: int = 0
    change: int = 0
    pages_printed: int = 0
    pages_total: int = 0
    countdown: int | None = None
    countdown_warning: bool = False
    outcome: Outcome | None = None
    can_cancel: bool = False
    cancel_asked: bool = False  # 取消 was tapped on a transaction with a verified PIN or money: confirm?
    sound_on: bool = False
    extra: tuple[tuple[str, str], ...] = field(default=())
    out_of_service: str = ""  # why the kiosk takes no resident now (e.g. "clock"); "" = in service
    honseki_municipality: str = ""  # 本籍地 利用登録: the 本籍地's name (no personal data)
    honseki_usable_from: str = ""  # ISO date from which its 戸籍 can be issued at kiosks
