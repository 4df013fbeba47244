"""Session routes: open (challenge), authenticate (card proof → menu), cancel."""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
from datetime import timedelta
from typing import Any

from aiohttp import web

from mock_relay.center import Center
from mock_relay.jpki_check import JpkiCheckError, auth_message
from mock_relay.ledger import LedgerConflict, SessionRow
from mock_relay.model import Menu, MenuEntry, OptionSpec, Refusal, Route
from mock_relay.routes.common import (
    CENTER_KEY,
    HTTP_KEY,
    ApiProblem,
    b64decode_field,
    b64url,
    iso,
    json_response,
    read_body,
    terminal_of,
)
from mock_relay.routes.idempotency import answer_with
from mock_relay.routes.lookup import expire_overdue, load_session
from mock_relay.rules import menu as rules
from mock_relay.rules.calendar import check_service_hours
from mock_relay.rules.text import refusal as refuse

log = logging.getLogger(__name__)


def refusal_problem(refusal: Refusal) -> ApiProblem:
    """A rules refusal as an API problem (the code goes on the wire unchanged)."""
    return ApiProblem(refusal.code, refusal.detail)


def check_open_for_business(center: Center) -> None:
    """Center maintenance window and the national service hours. Raises ApiProblem."""
    now = center.clock.now()
    if center.maintenance.active(now):
        raise ApiProblem("maintenance", "the center is in a maintenance window")
    try:
        check_service_hours(None, now)
    except Refusal as refusal:
        raise refusal_problem(refusal) from None


async def open_session(request: web.Request) -> web.Response:
    """POST /v1/sessions."""
    center = request.app[CENTER_KEY]
    await read_body(request, "OpenSessionRequest")
    terminal = terminal_of(request)
    check_open_for_business(center)
    now = center.clock.now()
    session_id = "S-" + secrets.token_urlsafe(18)
    challenge = os.urandom(32)
    expires = now + timedelta(seconds=center.config.challenge_ttl_s)
    answer = answer_with(
        json_response(
            {
                "session_id": session_id,
                "challenge": b64url(challenge),
                "expires_at": iso(expires),
                "terminal_id": terminal,
                "auth_message_version": "myna-kiosk-auth/1",
            },
            status=201,
        )
    )
    # The challenge itself is kept (the kiosk does not echo it): the center rebuilds the signed message.
    # The answer is stored with the session (one ledger transaction: idempotency.answer_with).
    center.ledger.open_session(session_id, terminal, challenge.hex(), iso(now), expires.timestamp())
    log.info("session %s opened for %s", session_id, terminal)
    return answer


def _state_problem(row: SessionRow) -> ApiProblem:
    if row.challenge_used and row.state in ("open", "failed"):
        return ApiProblem("challenge_reused", "this session's challenge was already used")
    return ApiProblem("session_closed", f"the session is {row.state}")


async def authenticate(request: web.Request) -> web.Response:
    """POST /v1/sessions/{session_id}/authenticate."""
    center = request.app[CENTER_KEY]
    body = await read_body(request, "AuthenticateRequest")
    row = load_session(center, request, request.match_info["session_id"])
    cert_der = b64decode_field(body["certificate"], "certificate")
    signature = b64decode_field(body["signature"], "signature")
    if row.state != "open" or row.challenge_used:
        raise _state_problem(row)
    now = center.clock.now()
    if now.timestamp() >= row.expires_ts:
        center.ledger.consume_challenge(row.session_id)
        center.ledger.fail_session(row.session_id)
        raise ApiProblem("challenge_expired", "the challenge expired; open a new session")
    # Single use: the first attempt consumes the challenge whatever its outcome (atomic in the ledger).
    if not center.ledger.consume_challenge(row.session_id):
        raise ApiProblem("challenge_reused", "this session's challenge was already used")
    message = auth_message(row.session_id, bytes.fromhex(row.challenge), row.terminal_id)
    try:
        card = await center.checker.check(cert_der, signature, message, now, request.app[HTTP_KEY])
        resident = center.registry.resident_for_cert(card.cert_serial_hash)
        if resident is None:
            raise ApiProblem("card_not_bound", "this card is not registered to a resident")
        form = center.registry.form_of_cert(card.cert_serial_hash)
        if not center.config.accepts(row.terminal_id, form):
            raise refusal_problem(refuse("form_not_accepted"))
        menu = rules.open_menu(center.registry, resident, Route(body["route"]), now)
    except JpkiCheckError as exc:
        if exc.code == "ocsp_unavailable":  # the center's failure, not the card's: the retry may pass
            center.ledger.release_challenge(row.session_id)
        else:
            center.ledger.fail_session(row.session_id)
        raise ApiProblem(exc.code, exc.detail) from None
    except Refusal as refusal:
        center.ledger.fail_session(row.session_id)
        raise refusal_problem(refusal) from None
    except ApiProblem:
        center.ledger.fail_session(row.session_id)
        raise
    expires = now + timedelta(seconds=center.config.session_ttl_s)
    answer = answer_with(
        json_response(_authenticated(row.session_id, card.cert_serial_hash, menu, iso(expires)))
    )
    try:
        center.ledger.authenticate_session(
            row.session_id,
            route=menu.route.value,
            cert_serial_hash=card.cert_serial_hash,
            resident_id=resident.id,
            municipality_code=menu.municipality_code,
            at=iso(now),
            expires_ts=expires.timestamp(),
        )
    except LedgerConflict as exc:
        raise ApiProblem(exc.code, exc.detail) from None
    log.info("session %s authenticated (%s route)", row.session_id, menu.route.value)
    return answer


def _authenticated(session_id: str, serial_hash: str, menu: Menu, expires_at: str) -> dict[str, Any]:
    # resident_ref is derived per session, so it links nothing across sessions; no personal data here.
    ref = hashlib.sha256(f"{session_id}/{menu.resident_id}".encode()).hexdigest()[:16]
    return {
        "session_id": session_id,
        "route": menu.route.value,
        "resident_ref": f"R-{ref}",
        "cert_serial_hash": serial_hash,
        "municipality": {"code": menu.municipality_code, "name": menu.municipality_name},
        "menu": [menu_entry_json(e, session_id) for e in menu.entries],
        "expires_at": expires_at,
    }


def jsonable(value: Any) -> Any:
    """Option values for JSON (tuples become lists)."""
    return list(value) if isinstance(value, tuple) else value


def member_ref(session_id: str, resident_id: str) -> str:
    """The opaque, per-session name of a household/戸籍 member (resident ids never leave the center)."""
    return "M-" + hashlib.sha256(f"{session_id}/{resident_id}".encode()).hexdigest()[:12]


def members_out(session_id: str, options: dict[str, Any]) -> dict[str, Any]:
    """``options`` with ``members`` resident ids replaced by member refs."""
    members = options.get("members")
    if not isinstance(members, list | tuple):
        return options
    return {**options, "members": [member_ref(session_id, str(m)) for m in members]}


def members_in(session_id: str, menu: Menu, options: Any) -> Any:
    """The kiosk's ``members`` refs mapped back to resident ids (unknown refs pass through; rules refuse)."""
    if not isinstance(options, dict) or not isinstance(options.get("members"), list):
        return options
    known = {
        member_ref(session_id, str(c)): str(c)
        for e in menu.entries
        for o in e.options
        if o.kind == "members"
        for c in o.choices
    }
    return {**options, "members": [known.get(str(m), str(m)) for m in options["members"]]}


def _option_json(o: OptionSpec, session_id: str) -> dict[str, Any]:
    values = [False, True] if o.kind == "bool" and not o.choices else [jsonable(c) for c in o.choices]
    default = jsonable(o.default)
    if o.kind == "members":
        values = [member_ref(session_id, str(v)) for v in values]
        default = [member_ref(session_id, str(v)) for v in default] if isinstance(default, list) else default
    return {
        "name": o.key,
        "kind": o.kind,
        "label": o.label_ja,
        "label_en": o.label_en,
        "values": values,
        "default": default,
    }


def menu_entry_json(e: MenuEntry, session_id: str) -> dict[str, Any]:
    """A rules MenuEntry as the API's MenuEntry (members as per-session refs)."""
    return {
        "type": e.type.value,
        "label": e.label_ja,
        "label_en": e.label_en,
        "fee": e.fee_yen,
        "max_copies": e.max_copies,
        "available_now": e.available,
        "unavailable_code": e.unavailable_code,
        "unavailable_detail": e.unavailable_detail,
        "options": [_option_json(o, session_id) for o in e.options],
    }


async def cancel(request: web.Request) -> web.Response:
    """POST /v1/sessions/{session_id}/cancel."""
    center = request.app[CENTER_KEY]
    await read_body(request, "CancelRequest")
    row = load_session(center, request, request.match_info["session_id"])
    expire_overdue(center, force=True)  # an order already past its deadline stays expired, not cancelled
    try:
        done = center.ledger.cancel_session(row.session_id, iso(center.clock.now()))
    except LedgerConflict as exc:
        raise ApiProblem(exc.code, exc.detail) from None
    log.info(
        "session %s cancelled (%d documents voided, refund due %d)",
        row.session_id,
        done.voided_documents,
        done.refund_due,
    )
    return json_response(
        {
            "session_id": row.session_id,
            "state": "cancelled",
            "voided_documents": done.voided_documents,
            "refund_due": done.refund_due,
        }
    )


def add_routes(app: web.Application) -> None:
    """Register the session routes (names = OpenAPI operationIds)."""
    app.router.add_post("/v1/sessions", open_session, name="openSession")
    app.router.add_post("/v1/sessions/{session_id}/authenticate", authenticate, name="authenticate")
    app.router.add_post("/v1/sessions/{session_id}/cancel", cancel, name="cancelSession")
