"""Health and heartbeat (kiosk API) and the public document verification (public listener)."""

from __future__ import annotations

import logging
from datetime import datetime

from aiohttp import web

from mock_relay.center import Center
from mock_relay.model import Refusal
from mock_relay.routes.common import (
    CENTER_KEY,
    TERMINAL,
    ApiProblem,
    iso,
    json_response,
    read_body,
    terminal_of,
)
from mock_relay.routes.idempotency import answer_with
from mock_relay.routes.lookup import expire_order
from mock_relay.rules.calendar import check_service_hours

log = logging.getLogger(__name__)

VERSION = "1.0.0"
HEARTBEAT_INTERVAL_S = 60


def service_status(center: Center, now: datetime) -> tuple[str, bool]:
    """("ok" | "maintenance" | "closed", inside service hours)."""
    if center.maintenance.active(now):
        return "maintenance", False
    try:
        check_service_hours(None, now)
    except Refusal as refusal:
        return ("maintenance" if refusal.code == "maintenance" else "closed"), False
    return "ok", True


async def health(request: web.Request) -> web.Response:
    """GET /v1/health (both TLS listeners; the API one also names the terminal)."""
    center = request.app[CENTER_KEY]
    now = center.clock.now()
    status, in_hours = service_status(center, now)
    terminal = request.get(TERMINAL)
    return json_response(
        {
            "status": status,
            "server_time": iso(now),
            "version": VERSION,
            "in_service_hours": in_hours,
            "terminal_id": terminal if isinstance(terminal, str) else None,
        }
    )


async def heartbeat(request: web.Request) -> web.Response:
    """POST /v1/terminals/heartbeat."""
    center = request.app[CENTER_KEY]
    body = await read_body(request, "HeartbeatRequest")
    terminal = terminal_of(request)
    now = center.clock.now()
    status, _ = service_status(center, now)
    answer = answer_with(  # stored with the heartbeat, in one ledger transaction
        json_response(
            {
                "terminal_id": terminal,
                "server_time": iso(now),
                "next_heartbeat_s": HEARTBEAT_INTERVAL_S,
                "status": status,
            }
        )
    )
    center.ledger.heartbeat(terminal, iso(now), body)
    return answer


async def verify(request: web.Request) -> web.Response:
    """GET /v1/verify/{verification_code}: no personal data, only what proves the paper.

    The deadline of the document's order is applied first, so a document never paid for reads ``void``
    (``void_reason`` ``expired``) once its session's deadline has passed.
    Raises ApiProblem ``verification_not_found``.
    """
    center = request.app[CENTER_KEY]
    code = request.match_info["verification_code"].strip().upper()
    found = center.ledger.by_verification_code(code)
    if found is None:
        raise ApiProblem("verification_not_found", "no document carries this verification code")
    row, order_state = found
    if order_state in ("priced", "issued") and expire_order(center, row.order_id):
        found = center.ledger.by_verification_code(code)
        assert found is not None
        row, order_state = found
    return json_response(
        {
            "verification_code": row.verification_code,
            "valid": row.state in ("issued", "printed"),
            "state": row.state,
            "void_reason": _void_reason(row.state, order_state),
            "document_type": row.type,
            "municipality_code": row.municipality_code,
            "issued_at": row.issued_at,
            "page_count": row.page_count,
            "sha256": row.sha256,
        }
    )


def _void_reason(document_state: str, order_state: str) -> str | None:
    if document_state == "failed":
        return "print_failed"
    if document_state != "void":
        return None
    return "expired" if order_state == "expired" else "cancelled"


def add_api_routes(app: web.Application) -> None:
    """Routes of the kiosk API listener."""
    app.router.add_get("/v1/health", health, name="health")
    app.router.add_post("/v1/terminals/heartbeat", heartbeat, name="heartbeat")


def add_public_routes(app: web.Application) -> None:
    """Routes of the public listener."""
    app.router.add_get("/v1/health", health, name="health")
    app.router.add_get("/v1/verify/{verification_code}", verify, name="verifyDocument")
