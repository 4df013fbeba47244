"""The mock issuance center's three aiohttp applications around one ``Center`` (``mock_relay.center``).

Why aiohttp: one asyncio process serves the mTLS API, the public verification listener and the plain
HTTP OCSP/admin listener side by side, with real ``ssl.SSLContext`` objects (``CERT_REQUIRED`` against
the terminal CA) and access to the verified peer certificate per connection
(``transport.get_extra_info("peercert")``). Fault injection needs to close a transport without a
response, delay, or answer after committing — easy in aiohttp middleware, awkward in WSGI. And the
authentication handler must await its own OCSP responder on the same loop without deadlocking, which a
thread-per-request WSGI server would only do with more threads.

Listeners (see openapi.yaml): **api** (mutual TLS, every kiosk route), **public** (server TLS only:
``/v1/verify/{code}``, ``/v1/health``), **plain** (HTTP: ``/ocsp`` and the token-guarded ``/admin``).
Every handler keeps its per-request state in locals and reads the terminal from the verified
certificate only; sessions, orders and documents are always looked up together with that terminal, so
one kiosk can never see, extend or receive another's session (the 2023 mis-issuance lesson).

Bad input never costs the center anything nor is it blamed on the center: every client error leaves as a
4xx problem+json that is not retryable (a body that is not JSON, nested too deep or carrying a number
too long to convert, a query value out of range, a body that does not arrive in time); only the
center's own failures are 5xx ``internal_error`` (retryable, logged with their traceback).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import aiohttp
from aiohttp import web

from mock_relay.center import Center
from mock_relay.documents.pdf import register_fonts
from mock_relay.listeners import guarded_connection
from mock_relay.routes import admin, documents, honseki, idempotency, orders, public, sessions
from mock_relay.routes.common import (
    CENTER_KEY,
    HTTP_KEY,
    TERMINAL,
    ApiProblem,
    problem_response,
    warm_validators,
)
from mock_relay.tls import terminal_id_of

log = logging.getLogger(__name__)

MAX_BODY = 256 * 1024


# --- middlewares ---------------------------------------------------------------------------------------
@web.middleware
async def _problems(request: web.Request, handler: Any) -> web.StreamResponse:
    """Outermost: every failure leaves as problem+json, never a traceback."""
    try:
        result: web.StreamResponse = await handler(request)
        return result
    except ApiProblem as exc:
        return problem_response(exc.code, exc.detail, status=exc.status, instance=request.path)
    except web.HTTPRequestEntityTooLarge:
        return problem_response("bad_request", "the body is too large", status=413)
    except web.HTTPNotFound:
        return problem_response("not_found", f"no route {request.path}", instance=request.path)
    except web.HTTPMethodNotAllowed as exc:
        resp = problem_response("method_not_allowed", f"{request.method} not allowed on {request.path}")
        resp.headers["Allow"] = ", ".join(sorted(exc.allowed_methods))
        return resp
    except web.HTTPException as exc:
        if exc.status >= 400:
            return problem_response("bad_request", exc.reason, status=exc.status)
        raise
    except Exception:
        log.exception("internal error on %s %s", request.method, request.path)
        return problem_response("internal_error", "the center failed; retry", instance=request.path)


@web.middleware
async def _connection(request: web.Request, handler: Any) -> web.StreamResponse:
    """The listener's side of a request (mock_relay.listeners): a connection beyond its client's budget
    is answered 429 and closed; otherwise the connection's header timer rests while this request runs."""
    connection = guarded_connection(request)
    if connection is None:
        result: web.StreamResponse = await handler(request)
        return result
    if connection.over_limit:
        resp = problem_response(
            "too_many_connections", "this client holds too many connections to the center; use fewer"
        )
        resp.force_close()
        return resp
    connection.request_started()
    try:
        result = await handler(request)
    finally:
        connection.request_finished()
    return result


@web.middleware
async def _body_in_time(request: web.Request, handler: Any) -> web.StreamResponse:
    """The whole body must arrive within the center's ``body_timeout_s`` (read here once; handlers then
    get it from aiohttp's cache). Raises ApiProblem ``request_timeout`` (408), ``bad_request`` (413)."""
    if request.can_read_body:
        if request.content.is_eof():  # it all came with the headers: nothing to wait for
            await request.read()
        else:
            try:
                async with asyncio.timeout(request.app[CENTER_KEY].config.body_timeout_s):
                    await request.read()
            except TimeoutError:
                log.info("%s %s: the body did not arrive in time", request.method, request.path)
                raise ApiProblem("request_timeout", "the request body did not arrive in time") from None
    result: web.StreamResponse = await handler(request)
    return result


@web.middleware
async def _terminal(request: web.Request, handler: Any) -> web.StreamResponse:
    """The terminal id comes from the verified client certificate only (never a header)."""
    connection = guarded_connection(request)
    if connection is not None and connection.terminal is not None:  # read once per connection
        terminal: str | None = connection.terminal
    else:
        transport = request.transport
        peercert = transport.get_extra_info("peercert") if transport is not None else None
        terminal = terminal_id_of(peercert)
        if connection is not None:
            connection.terminal = terminal
    if terminal is None:
        raise ApiProblem("certificate_untrusted", "the client certificate names no terminal")
    request[TERMINAL] = terminal
    result: web.StreamResponse = await handler(request)
    return result


async def _http_startup(app: web.Application) -> None:
    app[HTTP_KEY] = aiohttp.ClientSession()


async def _http_cleanup(app: web.Application) -> None:
    await app[HTTP_KEY].close()


def _application(center: Center, *middlewares: Any) -> web.Application:
    app = web.Application(
        middlewares=[_problems, _connection, _body_in_time, *middlewares], client_max_size=MAX_BODY
    )
    app[CENTER_KEY] = center
    return app


def build_api_app(center: Center) -> web.Application:
    """The mutual-TLS kiosk API (its contract parsed and fonts read now, not in the first requests)."""
    warm_validators()
    register_fonts()
    app = _application(center, _terminal, admin.faults_middleware, idempotency.middleware)
    app.on_startup.append(_http_startup)
    app.on_cleanup.append(_http_cleanup)
    public.add_api_routes(app)
    sessions.add_routes(app)
    honseki.add_routes(app)
    orders.add_routes(app)
    documents.add_routes(app)
    return app


def build_public_app(center: Center) -> web.Application:
    """The public, server-authenticated-only listener: verification and health."""
    app = _application(center)
    public.add_public_routes(app)
    return app


def build_plain_app(center: Center) -> web.Application:
    """Plain HTTP: the OCSP responder and the operator admin routes."""
    app = _application(center)
    admin.add_routes(app)
    return app
