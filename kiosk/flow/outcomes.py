"""Every way a transaction ends: the resident-facing message key and the staff error code.

One table, so that a fault never ends on a traceback and staff codes stay stable. The resident is
told one of four things (retry / go to city hall / call staff / take your money), never a detail.
"""

from __future__ import annotations

import dataclasses

from kiosk.flow.view import Outcome
from reader.errors import (
    CancelledError as CardCancelledError,
)
from reader.errors import (
    CardError,
    CardRemovedError,
    NoCardError,
    NotMyNumberCardError,
    PinBlockedError,
    ReaderTimeoutError,
)
from relay_client import CenterError, CenterUnavailable, DocumentBindingError, RelayError

RETRY, CITY_HALL, CALL_STAFF, TAKE_MONEY = "retry", "go_to_city_hall", "call_staff", "take_your_money"

# reason key -> (message key, staff code)
_TABLE: dict[str, tuple[str, str]] = {
    "completed": ("take_certificate", "OK"),
    "honseki_registered": ("honseki_registered", "OK"),
    "cancelled": ("cancelled", "C01"),
    "cancelled_refunded": (TAKE_MONEY, "C02"),
    "timeout": (RETRY, "T01"),
    "card_removed": (RETRY, "R01"),
    "card_error": (RETRY, "K02"),
    "not_my_number_card": (CITY_HALL, "K01"),
    "card_expired": (CITY_HALL, "K03"),
    "card_not_usable": (CITY_HALL, "K04"),
    "pin_locked": (CITY_HALL, "P01"),
    "phone_not_unlocked": (RETRY, "P02"),
    "center_unavailable": (RETRY, "S01"),
    "center_protocol": (CALL_STAFF, "S02"),
    "document_mismatch": (CALL_STAFF, "D01"),
    "cash_fault": (CALL_STAFF, "M01"),
    "change_shortfall": (CALL_STAFF, "M02"),
    "print_failed": (TAKE_MONEY, "PR1"),
    "print_failed_owed": (CALL_STAFF, "PR2"),
    "printer_unsettled": (CALL_STAFF, "PR3"),  # a given-up job not confirmed dead: no new resident
    "report_pending": (CALL_STAFF, "S03"),
    "journal_failed": (CALL_STAFF, "J01"),
    "kiosk_fault": (CALL_STAFF, "X01"),
}

# The center's resident-facing reasons (relay_client.errors) -> our four messages.
_CENTER_REASON: dict[str, str] = {
    "try_again": RETRY,
    "start_over": RETRY,
    "service_hours": RETRY,
    "service_closed": RETRY,
    "next_day": RETRY,
    "card_expired": CITY_HALL,
    "card_not_usable": CITY_HALL,
    "card_check_failed": CITY_HALL,
    "ask_city_hall": CITY_HALL,
    "not_available_for_you": CITY_HALL,
    "register_honseki_first": CITY_HALL,
    "use_card": RETRY,
    "use_residence_route": RETRY,
    "use_honseki_route": RETRY,
    "registration_pending": RETRY,
    "too_many_copies": RETRY,
}


def outcome(reason: str, *, refunded: int = 0, refund_owed: int = 0) -> Outcome:
    """The outcome for one of our reason keys (unknown keys become ``kiosk_fault``). Never raises."""
    message, code = _TABLE.get(reason, _TABLE["kiosk_fault"])
    if refund_owed and message != CALL_STAFF:
        message = CALL_STAFF
    elif refunded and message in (RETRY, "cancelled"):
        message = TAKE_MONEY
    return Outcome(message, reason, code, refunded, refund_owed)


def flagged_code(code: str, flag: str | None) -> str:
    """A staff code with a records flag added: ``OK`` becomes the flag, any other code gets ``+flag``.
    Never raises."""
    if not flag:
        return code
    return flag if code == "OK" else f"{code}+{flag}"


def with_staff_flag(result: Outcome, flag: str | None) -> Outcome:
    """``result`` with ``flagged_code`` as its staff code; the resident's message is unchanged."""
    return dataclasses.replace(result, staff_code=flagged_code(result.staff_code, flag))


def outcome_for_error(exc: BaseException) -> Outcome:
    """Map any exception of a step to an outcome (the staff code names the center code). Never raises."""
    if isinstance(exc, CenterError):
        if isinstance(exc, CenterUnavailable):
            return outcome("center_unavailable")
        message = _CENTER_REASON.get(exc.reason, CALL_STAFF)
        return Outcome(message, exc.reason, f"S-{exc.code}")
    if isinstance(exc, DocumentBindingError):
        return Outcome(CALL_STAFF, "document_mismatch", f"D-{exc.field}")
    if isinstance(exc, RelayError):
        return outcome("center_protocol")
    if isinstance(exc, CardRemovedError | NoCardError):
        return outcome("card_removed")
    if isinstance(exc, PinBlockedError):
        return outcome("pin_locked")
    if isinstance(exc, NotMyNumberCardError):
        return outcome("not_my_number_card")
    if isinstance(exc, ReaderTimeoutError | CardCancelledError | TimeoutError):
        return outcome("timeout")
    if isinstance(exc, CardError):
        return outcome("card_error")
    return outcome("kiosk_fault")
