"""本籍地 利用登録 at the kiosk: a resident whose 本籍 is in another municipality registers, after
authenticating on the ``honseki_registration`` route (user-authentication PIN, docs/service.md §3), to get
that municipality's 戸籍証明書 at kiosks. The 本籍地 sets how many days pass before it can be used; until
then the 本籍地 route answers ``registration_pending``."""

from __future__ import annotations

import logging
from datetime import timedelta

from aiohttp import web

from mock_relay.model import JST, Refusal, Route
from mock_relay.routes.common import CENTER_KEY, ApiProblem, iso, json_response, read_body
from mock_relay.routes.lookup import load_session
from mock_relay.rules.menu import registration_issuer

log = logging.getLogger(__name__)


async def register_honseki(request: web.Request) -> web.Response:
    """POST /v1/sessions/{session_id}/honseki-registration."""
    center = request.app[CENTER_KEY]
    await read_body(request, "HonsekiRegistrationRequest")
    session = load_session(center, request, request.match_info["session_id"])
    if session.state == "open":
        raise ApiProblem("not_authenticated", "authenticate the session first")
    if session.state != "authenticated" or session.route != Route.HONSEKI_REGISTRATION.value:
        raise ApiProblem("session_closed", f"the session is {session.state} on the {session.route} route")
    now = center.clock.now()
    if now.timestamp() >= session.expires_ts:
        raise ApiProblem("session_expired", "the session timed out; start over")
    resident = center.registry.resident(session.resident_id or "")
    home = center.registry.municipality(resident.municipality_code) if resident else None
    if resident is None or home is None:
        raise ApiProblem("unknown_resident", "the session's resident is no longer in the register")
    try:
        issuer = registration_issuer(center.registry, resident, home, now)
    except Refusal as refusal:
        raise ApiProblem(refusal.code, refusal.detail) from None
    filed = now.astimezone(JST).date()
    usable_from = filed + timedelta(days=issuer.honseki_registration_days)
    center.registry.register_honseki(resident.id, usable_from)
    center.ledger.complete_session(session.session_id)  # nothing more happens in this session
    log.info("session %s: 本籍地 利用登録 with %s", session.session_id, issuer.code)
    return json_response(
        {
            "session_id": session.session_id,
            "municipality": {"code": issuer.code, "name": issuer.name},
            "filed_on": filed.isoformat(),
            "usable_from": usable_from.isoformat(),
            "at": iso(now),
        },
        status=201,
    )


def add_routes(app: web.Application) -> None:
    """Register the 本籍地 利用登録 route (name = OpenAPI operationId)."""
    app.router.add_post(
        "/v1/sessions/{session_id}/honseki-registration", register_honseki, name="registerHonseki"
    )
