"""Plain-HTTP listener: the OCSP responder and the operator admin routes; and the fault middleware.

Admin routes need ``Authorization: Bearer <token>`` with the token from ``<data>/admin-token`` (0600),
so only someone who can read the data directory can script faults. They are not part of the kiosk
contract (openapi.yaml) and are bound to 127.0.0.1 only.

    GET    /admin/faults               list          POST /admin/faults       add (FaultRule JSON)
    DELETE /admin/faults               clear all     DELETE /admin/faults/{id} remove one
    GET    /admin/clock                describe      POST /admin/clock        {"at": ISO|null, "frozen": bool}
    GET    /admin/maintenance          list          POST /admin/maintenance  {"start": ISO, "end": ISO}
    DELETE /admin/maintenance          clear
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from datetime import datetime
from typing import Any

from aiohttp import web

from mock_relay.faults import FaultError, FaultRule
from mock_relay.ocsp import decode_get_path, try_later
from mock_relay.routes.common import (
    CENTER_KEY,
    TERMINAL,
    ApiProblem,
    json_response,
    parse_json,
    problem_response,
    route_name,
)

log = logging.getLogger(__name__)

OCSP_RESPONSE = "application/ocsp-response"


# --- fault middleware (kiosk API listener) --------------------------------------------------------------
@web.middleware
async def faults_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    """Apply the matching fault rules: latency, error, drop (before/after handling)."""
    center = request.app[CENTER_KEY]
    rules = center.faults.take(route_name(request), request.get(TERMINAL))
    drop_after = False
    for rule in rules:
        if rule.kind == "latency":
            await asyncio.sleep(rule.delay_s)
        elif rule.kind == "error":
            return problem_response("injected_fault", "operator-injected fault", status=rule.status)
        elif rule.kind == "drop":
            return _drop(request)
        elif rule.kind == "drop_after":
            drop_after = True
    result: web.StreamResponse = await handler(request)
    return _drop(request) if drop_after else result


def _drop(request: web.Request) -> web.StreamResponse:
    log.info("fault: dropping the connection on %s", request.path)
    if request.transport is not None:
        request.transport.abort()
    # aiohttp writes nothing to an aborted transport; the client sees the connection close.
    return web.Response(status=503)


# --- OCSP ----------------------------------------------------------------------------------------------
def _ocsp_answer(request: web.Request, der: bytes) -> web.Response:
    answer = request.app[CENTER_KEY].answer_ocsp(der)
    if answer is None:
        return web.Response(status=503, body=try_later(), content_type=OCSP_RESPONSE)
    return web.Response(body=answer, content_type=OCSP_RESPONSE)


async def ocsp_post(request: web.Request) -> web.Response:
    """POST /ocsp with an application/ocsp-request body."""
    return _ocsp_answer(request, await request.read())


async def ocsp_get(request: web.Request) -> web.Response:
    """GET /ocsp/{base64 request} (RFC 6960 appendix A.1)."""
    try:
        der = decode_get_path(request.match_info["tail"])
    except ValueError:
        der = b""
    return _ocsp_answer(request, der)


# --- admin ---------------------------------------------------------------------------------------------
def _authorise(request: web.Request) -> None:
    token = request.app[CENTER_KEY].admin_token
    given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    # aiohttp hands bytes that are not UTF-8 on as lone surrogates: surrogateescape gives the bytes back
    if not hmac.compare_digest(given.encode("utf-8", "surrogateescape"), token.encode()):
        raise ApiProblem("bad_request", "admin token missing or wrong", status=401)


async def _json(request: web.Request) -> Any:
    return parse_json(await request.read())


async def faults_get(request: web.Request) -> web.Response:
    """List fault rules."""
    _authorise(request)
    return json_response([r.to_json() for r in request.app[CENTER_KEY].faults.rules()])


async def faults_post(request: web.Request) -> web.Response:
    """Add a fault rule."""
    _authorise(request)
    try:
        rule = request.app[CENTER_KEY].faults.add(FaultRule.from_json(await _json(request)))
    except FaultError as exc:
        raise ApiProblem("bad_request", str(exc)) from None
    return json_response(rule.to_json(), status=201)


async def faults_delete(request: web.Request) -> web.Response:
    """Remove one fault rule (by id) or all."""
    _authorise(request)
    faults = request.app[CENTER_KEY].faults
    rule_id = request.match_info.get("rule_id")
    if rule_id is None:
        faults.clear()
    elif not (rule_id.isascii() and rule_id.isdigit() and len(rule_id) <= 9) or not faults.remove(
        int(rule_id)
    ):
        raise ApiProblem("not_found", f"no fault rule {rule_id}")
    return json_response({"faults": len(faults.rules())})


def _small_number(text: str) -> bool:
    return text.isascii() and text.isdigit() and len(text) <= 9


def _parse_time(value: Any, name: str) -> datetime:
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        raise ApiProblem("bad_request", f"{name} must be an ISO 8601 time with offset") from None
    if moment.tzinfo is None:
        raise ApiProblem("bad_request", f"{name} needs an offset")
    return moment


async def clock_handler(request: web.Request) -> web.Response:
    """GET describes the center clock; POST {"at": ISO or null, "frozen": bool} sets it."""
    _authorise(request)
    clock = request.app[CENTER_KEY].clock
    if request.method == "POST":
        body = await _json(request)
        if not isinstance(body, dict):
            raise ApiProblem("bad_request", 'expected {"at": ISO-or-null, "frozen": bool}')
        at = None if body.get("at") is None else _parse_time(body["at"], "at")
        clock.set(at, frozen=bool(body.get("frozen", False)))
    return json_response(clock.describe())


async def maintenance_handler(request: web.Request) -> web.Response:
    """GET lists windows, POST adds {"start", "end"}, DELETE clears."""
    _authorise(request)
    maintenance = request.app[CENTER_KEY].maintenance
    if request.method == "POST":
        body = await _json(request)
        if not isinstance(body, dict):
            raise ApiProblem("bad_request", 'expected {"start": ISO, "end": ISO}')
        try:
            maintenance.add(_parse_time(body.get("start"), "start"), _parse_time(body.get("end"), "end"))
        except FaultError as exc:
            raise ApiProblem("bad_request", str(exc)) from None
    elif request.method == "DELETE":
        maintenance.clear()
    return json_response(maintenance.windows())


def add_routes(app: web.Application) -> None:
    """Register OCSP and admin routes on the plain-HTTP app."""
    app.router.add_post("/ocsp", ocsp_post, name="ocsp")
    app.router.add_post("/ocsp/", ocsp_post)
    app.router.add_get("/ocsp/{tail:.+}", ocsp_get)
    app.router.add_get("/admin/faults", faults_get)
    app.router.add_post("/admin/faults", faults_post)
    app.router.add_delete("/admin/faults", faults_delete)
    app.router.add_delete("/admin/faults/{rule_id}", faults_delete)
    app.router.add_route("*", "/admin/clock", clock_handler)
    app.router.add_route("*", "/admin/maintenance", maintenance_handler)
