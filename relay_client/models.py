"""Typed values of every center answer (frozen dataclasses), parsed and validated at the edge.

``parse_*`` functions take the decoded JSON (as :class:`Fields`) and return a value or raise
:class:`CenterProtocolError` naming the field: a malformed answer never surfaces later as a KeyError or a
wrong type. Field names follow mock_relay/openapi.yaml.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from relay_client.auth import AUTH_MESSAGE_PREFIX, CHALLENGE_LENGTH, b64url_decode, canonical
from relay_client.errors import CenterProtocolError
from relay_client.fields import Fields, OptionValue, bad, build

__all__ = ["Fields", "OptionValue"]


# --- health, heartbeat ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Health:
    status: str  # ok | maintenance | closed
    server_time: datetime
    version: str
    in_service_hours: bool | None
    terminal_id: str | None


def parse_health(f: Fields) -> Health:
    """Parse GET /v1/health. Raises CenterProtocolError."""
    ish = f.raw.get("in_service_hours")
    return build(Health, f, in_service_hours=ish if isinstance(ish, bool) else None)


@dataclass(frozen=True)
class HeartbeatAck:
    terminal_id: str
    server_time: datetime
    next_heartbeat_s: int
    status: str


def parse_heartbeat(f: Fields) -> HeartbeatAck:
    """Parse POST /v1/terminals/heartbeat. Raises CenterProtocolError."""
    return build(HeartbeatAck, f, next_heartbeat_s=f.integer("next_heartbeat_s", 1))


# --- session --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Session:
    """An open session: the single-use challenge the card signs."""

    session_id: str
    challenge: bytes
    expires_at: datetime
    terminal_id: str
    auth_message_version: str


def parse_session(f: Fields) -> Session:
    """Parse POST /v1/sessions. Raises CenterProtocolError (also for a challenge that is not 32 bytes)."""
    try:
        challenge = b64url_decode(f.text("challenge"))
    except ValueError as exc:
        raise bad(f"{f.where}.challenge", "is not base64url") from exc
    if len(challenge) != CHALLENGE_LENGTH:
        raise bad(f"{f.where}.challenge", f"is not {CHALLENGE_LENGTH} bytes")
    session_id = f.text("session_id")
    if not session_id.isascii() or not session_id.isprintable() or not session_id:
        raise bad(f"{f.where}.session_id", "is not printable ASCII (the card signs it byte for byte)")
    if f.text("auth_message_version").encode() != AUTH_MESSAGE_PREFIX:
        raise bad(f"{f.where}.auth_message_version", "is not the version this kiosk speaks")
    return build(Session, f, challenge=challenge)


@dataclass(frozen=True)
class MenuOption:
    name: str
    kind: str  # bool | choice | members | year
    label: str
    values: tuple[OptionValue, ...]
    default: OptionValue


@dataclass(frozen=True)
class MenuEntry:
    type: str
    label: str
    fee: int
    max_copies: int
    available_now: bool
    unavailable_code: str | None
    options: tuple[MenuOption, ...]


@dataclass(frozen=True)
class Authenticated:
    """The center's answer to a successful authentication: municipality and menu, no personal data."""

    session_id: str
    route: str
    resident_ref: str
    cert_serial_hash: str
    municipality_code: str
    municipality_name: str
    menu: tuple[MenuEntry, ...]
    expires_at: datetime


def _menu_option(f: Fields) -> MenuOption:
    kind, label = f.opt_text("kind") or "choice", f.opt_text("label") or ""
    return MenuOption(f.text("name"), kind, label, f.scalars("values"), f.scalar("default"))


def _menu_entry(f: Fields) -> MenuEntry:
    return build(
        MenuEntry, f, max_copies=f.integer("max_copies", 1), options=f.items("options", _menu_option)
    )


def parse_authenticated(f: Fields) -> Authenticated:
    """Parse POST /v1/sessions/{id}/authenticate. Raises CenterProtocolError."""
    muni = f.obj("municipality")
    return build(
        Authenticated,
        f,
        cert_serial_hash=f.hex64("cert_serial_hash"),
        municipality_code=muni.text("code"),
        municipality_name=muni.text("name"),
        menu=f.items("menu", _menu_entry),
    )


@dataclass(frozen=True)
class Cancelled:
    session_id: str
    state: str
    voided_documents: int


def parse_cancelled(f: Fields) -> Cancelled:
    """Parse POST /v1/sessions/{id}/cancel. Raises CenterProtocolError."""
    return build(Cancelled, f)


@dataclass(frozen=True)
class HonsekiRegistration:
    """The center's answer to a 本籍地 利用登録: which 本籍地, filed when, usable from when (JST dates)."""

    session_id: str
    municipality_code: str
    municipality_name: str
    filed_on: date
    usable_from: date


def parse_honseki_registration(f: Fields) -> HonsekiRegistration:
    """Parse POST /v1/sessions/{id}/honseki-registration. Raises CenterProtocolError."""
    muni = f.obj("municipality")
    try:
        filed, usable = date.fromisoformat(f.text("filed_on")), date.fromisoformat(f.text("usable_from"))
    except ValueError as exc:
        raise CenterProtocolError(f"honseki registration: bad date ({exc})") from exc
    return HonsekiRegistration(f.text("session_id"), muni.text("code"), muni.text("name"), filed, usable)


# --- order ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class OrderItem:
    """One line the resident chose (the request)."""

    type: str
    copies: int
    options: Mapping[str, OptionValue] | None = None

    def to_json(self) -> dict[str, Any]:
        """The request body form."""
        body: dict[str, Any] = {"type": self.type, "copies": self.copies}
        if self.options:
            body["options"] = {k: list(v) if isinstance(v, tuple) else v for k, v in self.options.items()}
        return body


@dataclass(frozen=True)
class PricedItem:
    item_index: int
    type: str
    label: str
    options: tuple[tuple[str, OptionValue], ...]
    copies: int
    unit_fee: int
    fee: int


@dataclass(frozen=True)
class Order:
    """A priced order; ``terminal_id`` and ``cert_serial_hash`` are the kiosk's own (set by the client)."""

    order_id: str
    session_id: str
    items: tuple[PricedItem, ...]
    total: int
    currency: str
    state: str
    terminal_id: str = ""
    cert_serial_hash: str = ""


def _priced_item(f: Fields) -> PricedItem:
    return build(PricedItem, f, options=f.options("options"), copies=f.integer("copies", 1))


def parse_order(f: Fields) -> Order:
    """Parse POST /v1/sessions/{id}/orders.

    Raises CenterProtocolError: ``price_mismatch`` if an item's fee is not its unit fee × copies or the
    total is not the sum of the fees (the kiosk takes the total and refunds by unit fee: they must agree),
    ``malformed_response`` for a missing or mistyped field.
    """
    order = build(Order, f, items=f.items("items", _priced_item), terminal_id="", cert_serial_hash="")
    for p in order.items:
        if p.fee != p.unit_fee * p.copies:
            raise price_mismatch(
                f"{f.where}.items[{p.item_index}].fee is {p.fee}, not {p.copies} × {p.unit_fee}"
            )
    fees = sum(p.fee for p in order.items)
    if order.total != fees:
        raise price_mismatch(f"{f.where}.total is {order.total}, the items' fees add up to {fees}")
    return order


def price_mismatch(detail: str) -> CenterProtocolError:
    """The error for an order whose prices do not add up."""
    return CenterProtocolError("price_mismatch", detail=detail)


# --- documents ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Binding:
    terminal_id: str
    session_id: str
    order_id: str
    item_index: int
    copy_index: int
    cert_serial_hash: str
    page_count: int
    document_id: str
    sha256: str


@dataclass(frozen=True)
class DocumentEnvelope:
    """One copy as the center sent it, parsed but NOT yet verified (see relay_client.documents)."""

    document_id: str
    item_index: int
    copy_index: int
    type: str
    page_count: int
    sha256: str
    pdf: bytes
    verification_code: str
    binding: Binding
    signed_bytes: bytes  # canonical(binding) as received: what the signature covers
    signature: bytes


@dataclass(frozen=True)
class DocumentsAnswer:
    order_id: str
    documents: tuple[DocumentEnvelope, ...]
    signer_certificate_pem: bytes


def _binding(f: Fields) -> Binding:
    return build(
        Binding,
        f,
        cert_serial_hash=f.hex64("cert_serial_hash"),
        page_count=f.integer("page_count", 1),
        sha256=f.hex64("sha256"),
    )


def _envelope(f: Fields) -> DocumentEnvelope:
    binding = f.obj("binding")
    try:
        signed = canonical(binding.raw)
    except (UnicodeEncodeError, ValueError, RecursionError) as exc:  # lone surrogate, NaN, deep nesting
        raise bad(binding.where, "cannot be put in canonical form") from exc
    return build(
        DocumentEnvelope,
        f,
        page_count=f.integer("page_count", 1),
        sha256=f.hex64("sha256"),
        binding=_binding(binding),
        signed_bytes=signed,
    )


def parse_documents(f: Fields) -> DocumentsAnswer:
    """Parse POST /v1/orders/{id}/documents (shape only, not verified). Raises CenterProtocolError."""
    pem = f.text("signer_certificate").encode("ascii", "replace")
    return DocumentsAnswer(f.text("order_id"), f.items("documents", _envelope), pem)


@dataclass(frozen=True)
class IssuedDocument:
    """A verified copy: every binding field matched this session, the signature and the page count held."""

    document_id: str
    item_index: int
    copy_index: int
    type: str
    page_count: int
    sha256: str
    pdf: bytes
    verification_code: str


# --- payment, result ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Payment:
    order_id: str
    total: int
    amount_received: int
    change_given: int
    state: str


def parse_payment(f: Fields) -> Payment:
    """Parse POST /v1/orders/{id}/payment. Raises CenterProtocolError."""
    return build(Payment, f)


@dataclass(frozen=True)
class CopyOutcome:
    """What happened to one copy (the request): printed, or failed (pages printed, fault word)."""

    document_id: str
    printed: bool
    pages_printed: int | None = None
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The request body form."""
        body: dict[str, Any] = {
            "document_id": self.document_id,
            "outcome": "printed" if self.printed else "failed",
        }
        if self.pages_printed is not None:
            body["pages_printed"] = self.pages_printed
        if self.error:
            body["error"] = self.error
        return body


@dataclass(frozen=True)
class Result:
    order_id: str
    state: str
    printed: int
    failed: int
    refund_due: int


def parse_result(f: Fields) -> Result:
    """Parse POST /v1/orders/{id}/result. Raises CenterProtocolError."""
    return build(Result, f)


# --- reconcile, verify ----------------------------------------------------------------------------
@dataclass(frozen=True)
class ReconcileDocument:
    document_id: str
    item_index: int
    copy_index: int
    state: str


@dataclass(frozen=True)
class ReconcileOrder:
    order_id: str
    session_id: str
    created_at: datetime
    state: str
    total: int
    paid: int
    refund_due: int
    result_reported: bool
    documents: tuple[ReconcileDocument, ...]


@dataclass(frozen=True)
class Reconcile:
    terminal_id: str
    server_time: datetime
    orders: tuple[ReconcileOrder, ...]


def _reconcile_order(f: Fields) -> ReconcileOrder:
    return build(ReconcileOrder, f, documents=f.items("documents", lambda d: build(ReconcileDocument, d)))


def parse_reconcile(f: Fields) -> Reconcile:
    """Parse GET /v1/reconcile. Raises CenterProtocolError."""
    return build(Reconcile, f, orders=f.items("orders", _reconcile_order))


@dataclass(frozen=True)
class Verification:
    verification_code: str
    valid: bool
    state: str
    document_type: str
    municipality_code: str
    issued_at: datetime
    page_count: int
    sha256: str


def parse_verification(f: Fields) -> Verification:
    """Parse GET /v1/verify/{code}. Raises CenterProtocolError."""
    return build(Verification, f, sha256=f.hex64("sha256"))
