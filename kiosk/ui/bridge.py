"""The one place that knows the flow's names: its view state -> what the screens show; intents -> events.

The flow (``kiosk.flow``) publishes an immutable ``ViewState``; this module maps it (typed: a renamed field
breaks here, under mypy) into a ``UiState`` the screens render. Screens send
intents as ``(kind, value)``; ``to_flow_event`` turns them into the flow's events. The PIN passes
through as an argument only and is never stored here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from kiosk.flow import events as ev
from kiosk.flow.view import MenuItem, Outcome, Screen, ViewState

# Flow screen -> (our screen, wait-screen title key, wait-screen hint key)
_SCREENS: dict[str, tuple[str, str, str]] = {
    "attract": ("attract", "", ""),
    "route": ("route", "", ""),
    "place_card": ("place_card", "", ""),
    "reading": ("wait", "wait_reading", "wait_keep_card"),
    "pin": ("pin", "", ""),
    "verifying": ("wait", "wait_verifying", "wait_keep_card"),
    "authenticating": ("wait", "wait_authenticating", "wait_keep_card"),
    "remove_card": ("remove_card", "", ""),
    "choose_type": ("choose_type", "", ""),
    "options": ("options", "", ""),
    "copies": ("copies", "", ""),
    "confirm": ("confirm", "", ""),
    "issuing": ("wait", "wait_issuing", "msg_please_wait"),
    "pay": ("pay", "", ""),
    "finishing_payment": ("wait", "wait_payment", "msg_please_wait"),
    "printing": ("printing", "", ""),
    "reporting": ("wait", "wait_reporting", "msg_please_wait"),
    "aborting": ("wait", "wait_aborting", "msg_please_wait"),
    "done": ("done", "", ""),
    "failed": ("error", "", ""),
    "take_card": ("remove_card", "", ""),
    "honseki_confirm": ("honseki_confirm", "", ""),
    "registering": ("wait", "wait_registering", "msg_please_wait"),
    "registered": ("honseki_done", "", ""),
}
SCREENS: tuple[str, ...] = (
    "attract",
    "language",
    "route",
    "place_card",
    "wait",
    "pin",
    "locked",
    "remove_card",
    "choose_type",
    "options",
    "copies",
    "confirm",
    "pay",
    "printing",
    "done",
    "error",
    "cancel_ask",
    "honseki_confirm",
    "honseki_done",
)
MESSAGE_KEYS = frozenset(
    {
        "pin_incorrect",
        "not_available",
        "option_not_offered",
        "copies_out_of_range",
        "pricing",
        "please_wait",
        "exact_amount_only",
    }
)
# The center's refusal code of a greyed-out certificate -> what the resident can do about it (catalog key);
# any other code: type_unavailable
UNAVAILABLE_KEYS: dict[str, str] = {
    "issued_today": "unavail_issued_today",
    "moved_in_today": "unavail_next_day",
    "card_not_yet_usable": "unavail_next_day",
    "koseki_out_of_hours": "unavail_hours",
    "out_of_hours": "unavail_hours",
    "household_move_out": "unavail_city_hall",
    "no_tax_record": "unavail_city_hall",
    "seal_not_registered": "unavail_city_hall",
    "seal_abolished": "unavail_city_hall",
}
# An outcome's finer reason -> one more line of what to do (catalog key): phones, 本籍地 利用登録
HINT_KEYS: dict[str, str] = {
    "phone_not_unlocked": "hint_phone_not_unlocked",
    "use_card": "hint_use_card",
    "registration_pending": "hint_registration_pending",
    "register_honseki_first": "hint_register_honseki",
}
# An outcome's reason -> what happened, said before what to do (catalog key); reasons with nothing the
# resident can understand or act on (a protocol fault, a journal fault) say only what to do.
CAUSE_KEYS: dict[str, str] = {
    "cancelled_refunded": "outcome_cancelled",
    "timeout": "cause_timeout",
    "card_removed": "cause_card_removed",
    "card_error": "cause_card_unreadable",
    "not_my_number_card": "cause_card_not_usable",
    "card_not_usable": "cause_card_not_usable",
    "card_expired": "cause_card_expired",
    "center_unavailable": "cause_center_unavailable",
    "service_hours": "cause_service_hours",
    "service_closed": "cause_service_closed",
    "cash_fault": "cause_money_fault",
    "change_shortfall": "cause_change_short",
    "print_failed": "cause_print_failed",
    "print_failed_owed": "cause_print_failed",
    "printer_unsettled": "cause_print_failed",
}
OUTCOME_KEYS = frozenset(
    {"take_certificate", "retry", "go_to_city_hall", "call_staff", "take_your_money", "cancelled"}
)


@dataclass(frozen=True)
class UiMenuItem:
    """One certificate type as the type screen shows it (label key from the catalog)."""

    type: str
    fee: int
    available: bool
    max_copies: int
    options: tuple[tuple[str, tuple[str, ...]], ...] = ()
    unavailable_key: str = "type_unavailable"  # what a greyed-out button says (catalog key)


@dataclass(frozen=True)
class UiOutcome:
    """How it ended, for the error / locked screens."""

    message_key: str  # catalog key, e.g. outcome_call_staff
    staff_code: str
    refunded: int = 0
    refund_owed: int = 0
    hint_key: str = ""  # one more line of what to do (HINT_KEYS), or ""
    cause_key: str = ""  # what happened, before what to do (CAUSE_KEYS), or ""


@dataclass(frozen=True)
class UiState:
    """Everything the screens render. Never holds the PIN."""

    screen: str = "attract"
    language: str = "ja"
    wait_title: str = ""
    wait_hint: str = ""
    message: str = ""  # catalog key of a notice (msg_*), or ""
    tries_left: int | None = None
    last_try_warning: bool = False
    menu: tuple[UiMenuItem, ...] = ()
    chosen_type: str = ""
    options: tuple[tuple[str, str], ...] = ()
    copies: int = 1
    fee: int = 0
    inserted: int = 0
    change: int = 0
    pages_printed: int = 0
    pages_total: int = 0
    countdown: int | None = None
    countdown_warning: bool = False
    outcome: UiOutcome | None = None
    can_cancel: bool = False
    cancel_asked: bool = False  # the flow asks: really cancel?
    chase_card: bool = False  # the transaction is over, its card still on the reader
    sound_on: bool = False
    out_of_service: bool = False  # the attract screen takes no resident (e.g. the kiosk's clock is off)
    honseki_municipality: str = ""  # 本籍地 利用登録: the 本籍地's name
    honseki_usable_from: str = ""  # ISO date from which its 戸籍 can be issued at kiosks

    @property
    def remaining(self) -> int:
        """Money still to insert."""
        return max(0, self.fee - self.inserted)

    def chosen_item(self) -> UiMenuItem | None:
        """The menu item of ``chosen_type`` (None before a choice)."""
        return next((m for m in self.menu if m.type == self.chosen_type), None)


def _menu_item(item: MenuItem) -> UiMenuItem:
    options = tuple((str(name), tuple(str(v) for v in values)) for name, values in item.options)
    why = UNAVAILABLE_KEYS.get(item.unavailable_code or "", "type_unavailable")
    return UiMenuItem(item.type, item.fee, item.available, item.max_copies, options, why)


def _outcome(raw: Outcome | None) -> UiOutcome | None:
    if raw is None:
        return None
    key = raw.message_key
    return UiOutcome(
        f"outcome_{key}" if key in OUTCOME_KEYS else "outcome_call_staff",
        raw.staff_code,
        raw.refunded,
        raw.refund_owed,
        HINT_KEYS.get(raw.reason, ""),
        CAUSE_KEYS.get(raw.reason, ""),
    )


def from_view(view: ViewState) -> UiState:
    """Map the flow's view state to a ``UiState``. Unknown screens show the wait screen. Never raises."""
    screen, wait_title, wait_hint = _SCREENS.get(str(view.screen), ("wait", "msg_please_wait", ""))
    outcome = _outcome(view.outcome)
    if screen == "error" and view.outcome is not None and view.outcome.reason == "pin_locked":
        screen = "locked"
    key = str(view.message_key)
    return UiState(
        screen=screen,
        language=str(view.language),
        wait_title=wait_title,
        wait_hint=wait_hint,
        message=f"msg_{key}" if key in MESSAGE_KEYS else "",
        tries_left=view.tries_left,
        last_try_warning=bool(view.last_try_warning),
        menu=tuple(_menu_item(m) for m in view.menu),
        chosen_type=str(view.chosen_type),
        options=tuple((str(k), str(v)) for k, v in view.options),
        copies=int(view.copies),
        fee=int(view.fee),
        inserted=int(view.amount_inserted),
        change=int(view.change),
        pages_printed=int(view.pages_printed),
        pages_total=int(view.pages_total),
        countdown=view.countdown,
        countdown_warning=bool(view.countdown_warning),
        outcome=outcome,
        can_cancel=bool(view.can_cancel),
        cancel_asked=view.cancel_asked,
        chase_card=view.screen is Screen.TAKE_CARD,
        sound_on=bool(view.sound_on),
        out_of_service=bool(getattr(view, "out_of_service", "")),
        honseki_municipality=str(view.honseki_municipality),
        honseki_usable_from=str(view.honseki_usable_from),
    )


def _options(value: object) -> tuple[tuple[str, str], ...]:
    pairs = value if isinstance(value, tuple | list) else ()
    return tuple((str(name), str(text)) for name, text in pairs)


def _copies(value: object) -> int:
    return int(value) if isinstance(value, int | str) else 1


def to_flow_event(kind: str, value: object = None) -> ev.Event:
    """The flow event for a screen intent. Raises KeyError for an unknown intent kind, ValueError for a
    copies value that is not a number."""
    makers: dict[str, Callable[[object], ev.Event]] = {
        "start": lambda v: ev.Start(language=str(v)),
        "route": lambda v: ev.ChooseRoute(route=str(v)),
        "pin": lambda v: ev.PinEntered(pin=str(v)),
        "choose_type": lambda v: ev.ChooseType(type=str(v)),
        "options": lambda v: ev.ChooseOptions(options=_options(v)),
        "copies": lambda v: ev.ChooseCopies(copies=_copies(v)),
        "confirm": lambda _v: ev.Confirm(),
        "back": lambda _v: ev.Back(),
        "cancel": lambda _v: ev.Cancel(ask=True),  # the flow may ask once more
        "cancel_confirmed": lambda _v: ev.Cancel(),
        "keep_going": lambda _v: ev.KeepGoing(),
        "more_time": lambda _v: ev.MoreTime(),
        "finish": lambda _v: ev.Finish(resident=True),  # refused while the screen calls staff
        "clear_call": lambda _v: ev.StaffCleared(),  # staff mode only
    }
    return makers[kind](value)
