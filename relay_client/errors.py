"""The relay client's one exception tree, and the one table mapping problem+json codes to it.

Every error the center can answer (RFC 9457 ``application/problem+json`` with a stable ``code``) becomes
a :class:`CenterError` carrying that code, whether it is worth retrying, and a resident-facing ``reason``
key the kiosk turns into a screen. Codes the table does not know are kept as they are, with the center's
own ``retryable`` and ``reason``: an unknown refusal is never silently dropped.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

#: Resident-facing reason keys (the contract's ``reason`` words; the kiosk has a screen for each).
REASON_CALL_STAFF = "kiosk_fault"  # the kiosk or the link is at fault: staff code on screen
REASON_TRY_AGAIN = "try_again"
_REASON_RE = re.compile(r"^[a-z0-9_]{1,64}$")


class RelayError(Exception):
    """Base of every error the relay_client package raises."""


class ConfigurationError(RelayError, ValueError):
    """The client's own files (terminal certificate, key, center CA) are missing or unreadable."""


class CenterError(RelayError):
    """The center refused or failed a request, or could not be reached.

    ``code`` is the machine code (the center's problem ``code``, or one of ours for transport failures),
    ``retryable`` says whether the same request may succeed later, ``reason`` is the resident-facing
    reason key, ``status`` the HTTP status (0 when no answer arrived), ``detail`` a human-readable detail
    for logs and staff.
    """

    def __init__(
        self,
        code: str,
        *,
        retryable: bool = False,
        reason: str = REASON_CALL_STAFF,
        status: int = 0,
        detail: str = "",
    ) -> None:
        self.code = code
        self.retryable = retryable
        self.reason = reason
        self.status = status
        self.detail = detail
        super().__init__(f"{code} (HTTP {status}): {detail}" if status else f"{code}: {detail}")


class CenterUnavailable(CenterError):
    """No usable answer: connection refused/reset, timeout, or the center answered 5xx/503. Retryable."""


class CenterTlsError(CenterError):
    """The TLS handshake failed (untrusted center certificate, our certificate refused). Not retryable."""


class CenterProtocolError(CenterError):
    """The center answered something that breaks the protocol (malformed JSON, missing or mistyped field)."""


class CenterRefusal(CenterError):
    """The center answered a problem+json refusal (eligibility, hours, certificate status, ...)."""


class CancelledError(RelayError):
    """The operation was cancelled through its cancel event before it completed."""


class DocumentBindingError(RelayError):
    """A document failed verification; ``field`` names what did not match. Nothing is returned."""

    def __init__(self, field: str, detail: str, *, document_id: str = "") -> None:
        self.field = field
        self.detail = detail
        self.document_id = document_id
        where = f" (document {document_id})" if document_id else ""
        super().__init__(f"document binding check failed on {field!r}{where}: {detail}")


@dataclass(frozen=True)
class _Kind:
    reason: str
    retryable: bool = False


# One table: problem code -> (resident-facing reason, retryable); mirrors x-error-codes of
# mock_relay/openapi.yaml (a test keeps them equal). Unknown codes keep the center's values.
_PROBLEMS: Mapping[str, _Kind] = {
    "bad_request": _Kind("kiosk_fault"),
    "idempotency_key_missing": _Kind("kiosk_fault"),
    "idempotency_conflict": _Kind("kiosk_fault"),
    "idempotency_in_progress": _Kind("try_again", retryable=True),
    "not_found": _Kind("kiosk_fault"),
    "request_timeout": _Kind("kiosk_fault"),
    "too_many_connections": _Kind("kiosk_fault"),
    "method_not_allowed": _Kind("kiosk_fault"),
    "session_not_found": _Kind("start_over"),
    "order_not_found": _Kind("start_over"),
    "verification_not_found": _Kind("not_verified"),
    "session_closed": _Kind("start_over"),
    "session_expired": _Kind("start_over"),
    "not_authenticated": _Kind("start_over"),
    "order_exists": _Kind("start_over"),
    "order_state": _Kind("start_over"),
    "documents_already_issued": _Kind("start_over"),
    "payment_mismatch": _Kind("kiosk_fault"),
    "result_mismatch": _Kind("kiosk_fault"),
    "challenge_expired": _Kind("start_over"),
    "challenge_reused": _Kind("start_over"),
    "signature_invalid": _Kind("card_check_failed"),
    "certificate_invalid": _Kind("card_not_usable"),
    "certificate_untrusted": _Kind("card_not_usable"),
    "certificate_expired": _Kind("card_expired"),
    "certificate_not_yet_valid": _Kind("card_not_usable"),
    "certificate_revoked": _Kind("card_not_usable"),
    "certificate_unknown": _Kind("card_not_usable"),
    "ocsp_unavailable": _Kind("try_again", retryable=True),
    "center_unavailable": _Kind("try_again", retryable=True),
    "injected_fault": _Kind("try_again", retryable=True),
    "internal_error": _Kind("try_again", retryable=True),
    "out_of_hours": _Kind("service_hours"),
    "year_end_closure": _Kind("service_closed"),
    "maintenance": _Kind("service_closed"),
    "koseki_out_of_hours": _Kind("service_hours"),
    "under_15": _Kind("not_available_for_you"),
    "moved_out": _Kind("ask_city_hall"),
    "deceased": _Kind("ask_city_hall"),
    "support_measure": _Kind("ask_city_hall"),
    "moved_in_today": _Kind("next_day"),
    "card_not_yet_usable": _Kind("next_day"),
    "unknown_resident": _Kind("ask_city_hall"),
    "card_not_bound": _Kind("ask_city_hall"),
    "form_not_accepted": _Kind("use_card"),
    "issued_today": _Kind("next_day"),
    "household_move_out": _Kind("ask_city_hall"),
    "not_registered_honseki": _Kind("register_honseki_first"),
    "registration_pending": _Kind("registration_pending"),
    "honseki_already_registered": _Kind("use_honseki_route"),
    "honseki_same_as_residence": _Kind("use_residence_route"),
    "honseki_not_participating": _Kind("not_available_for_you"),
    "no_koseki": _Kind("not_available_for_you"),
    "tax_cardholder_only": _Kind("not_available_for_you"),
    "tax_year_not_offered": _Kind("not_available_for_you"),
    "no_tax_record": _Kind("ask_city_hall"),
    "seal_not_registered": _Kind("ask_city_hall"),
    "seal_abolished": _Kind("ask_city_hall"),
    "seal_cardholder_only": _Kind("not_available_for_you"),
    "copies_exceeded": _Kind("too_many_copies"),
    "invalid_copies": _Kind("kiosk_fault"),
    "too_many_items": _Kind("too_many_copies"),
    "order_too_large": _Kind("too_many_copies"),
    "empty_order": _Kind("kiosk_fault"),
    "type_not_offered": _Kind("not_available_for_you"),
    "option_not_allowed": _Kind("not_available_for_you"),
    "invalid_option": _Kind("kiosk_fault"),
    "invalid_item": _Kind("kiosk_fault"),
    "not_in_household": _Kind("not_available_for_you"),
    "not_in_koseki": _Kind("not_available_for_you"),
}


def known_codes() -> frozenset[str]:
    """The problem codes this client maps explicitly (others are kept, with reason ``call_staff``)."""
    return frozenset(_PROBLEMS)


def error_from_problem(status: int, body: Mapping[str, Any] | None, fallback: str = "") -> CenterError:
    """Map an HTTP error answer (problem+json body, or none) to a :class:`CenterError`. Never raises.

    Known codes take reason and retryable from the table; unknown codes are kept with the center's
    ``retryable`` and ``reason`` (when well-formed). Retryable 5xx answers become
    :class:`CenterUnavailable`, other problems a :class:`CenterRefusal`; bodies that are not problem
    documents :class:`CenterProtocolError` (:class:`CenterUnavailable` for 5xx: proxies answer HTML).
    """
    code = body.get("code") if body is not None else None
    if not isinstance(code, str) or not _REASON_RE.match(code):
        cls: type[CenterError] = CenterUnavailable if status >= 500 else CenterProtocolError
        return cls(
            f"http_{status}",
            retryable=status >= 500,
            reason=_reason_for_status(status),
            status=status,
            detail=fallback[:200],
        )
    assert body is not None
    detail = str(body.get("detail") or body.get("title") or "")
    kind = _PROBLEMS.get(code)
    if kind is None:
        center_retryable = body.get("retryable")
        retryable = center_retryable if isinstance(center_retryable, bool) else status >= 500
        center_reason = body.get("reason")
        if isinstance(center_reason, str) and _REASON_RE.match(center_reason):
            reason = center_reason
        else:
            reason = _reason_for_status(status if not retryable else 500)
        kind = _Kind(reason, retryable)
    cls = CenterUnavailable if status >= 500 and kind.retryable else CenterRefusal
    return cls(code, retryable=kind.retryable, reason=kind.reason, status=status, detail=detail)


def _reason_for_status(status: int) -> str:
    return REASON_TRY_AGAIN if status >= 500 else REASON_CALL_STAFF
