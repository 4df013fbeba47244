"""The mock issuance center: state (``Center``) and its three aiohttp applications.

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
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from firmware_sim.pki.hierarchy import KeyFactory, TestPki
from mock_relay.faults import CenterClock, Faults, Maintenance
from mock_relay.jpki_check import JpkiChecker
from mock_relay.ledger import Ledger
from mock_relay.ocsp import OcspResponder
from mock_relay.registry.store import Registry
from mock_relay.routes import idempotency
from mock_relay.routes.common import TERMINAL, ApiProblem, problem_response
from mock_relay.tls import CenterPki, terminal_id_of

log = logging.getLogger(__name__)

CENTER_KEY: web.AppKey[Center] = web.AppKey("center")
HTTP_KEY: web.AppKey[aiohttp.ClientSession] = web.AppKey("http")
MAX_BODY = 256 * 1024


@dataclass
class CenterConfig:
    """Tunables (CLI flags)."""

    challenge_ttl_s: float = 120.0
    session_ttl_s: float = 600.0
    ocsp_timeout_s: float = 5.0


@dataclass
class Urls:
    """Where the listeners ended up (filled in by the server once bound)."""

    api: str = ""
    public: str = ""
    plain: str = ""

    @property
    def ocsp(self) -> str:
        """The OCSP responder URL."""
        return f"{self.plain}/ocsp"

    def verify(self, code: str) -> str:
        """The public verification URL printed on a document."""
        return f"{self.public}/v1/verify/{code}"


@dataclass
class Center:
    """Everything the handlers share. Open with :meth:`open`."""

    data_dir: Path
    config: CenterConfig
    center_pki: CenterPki
    jpki: TestPki
    registry: Registry
    ledger: Ledger
    clock: CenterClock
    faults: Faults
    maintenance: Maintenance
    responder: OcspResponder
    checker: JpkiChecker
    admin_token: str
    urls: Urls = field(default_factory=Urls)
    locks: dict[tuple[str, str], Any] = field(default_factory=dict)

    @classmethod
    def open(
        cls,
        data_dir: Path,
        config: CenterConfig | None = None,
        clock: CenterClock | None = None,
        key_factory: KeyFactory | None = None,
    ) -> Center:
        """Open (creating and seeding on first use) the center's data directory.

        ``key_factory`` makes the JPKI test PKI's RSA keys (tests pass a pre-generated pool).

        Raises CenterPkiError / PkiError for corrupt PKI files, sqlite3.Error for a corrupt database,
        OSError when the directory cannot be written.
        """
        data_dir.mkdir(parents=True, exist_ok=True)
        config = config or CenterConfig()
        clock = clock or CenterClock()
        jpki = TestPki.open(data_dir / "jpki", key_factory=key_factory)
        return cls(
            data_dir=data_dir,
            config=config,
            center_pki=CenterPki.open(data_dir / "center"),
            jpki=jpki,
            registry=Registry(data_dir / "registry.sqlite", clock=clock.now),
            ledger=Ledger(data_dir / "ledger.sqlite"),
            clock=clock,
            faults=Faults(),
            maintenance=Maintenance(),
            responder=OcspResponder(jpki),
            checker=JpkiChecker(jpki, "", timeout=config.ocsp_timeout_s),
            admin_token=_admin_token(data_dir),
        )

    def close(self) -> None:
        """Close the databases."""
        self.ledger.close()
        self.registry.close()


def _admin_token(data_dir: Path) -> str:
    path = data_dir / "admin-token"
    if not path.exists():
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(24))
    return path.read_text().strip()


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
async def _terminal(request: web.Request, handler: Any) -> web.StreamResponse:
    """The terminal id comes from the verified client certificate only (never a header)."""
    transport = request.transport
    peercert = transport.get_extra_info("peercert") if transport is not None else None
    terminal = terminal_id_of(peercert)
    if terminal is None:
        raise ApiProblem("certificate_untrusted", "the client certificate names no terminal")
    request[TERMINAL] = terminal
    result: web.StreamResponse = await handler(request)
    return result


def _route_name(request: web.Request) -> str:
    route = request.match_info.route
    return route.name or request.path


async def _http_startup(app: web.Application) -> None:
    app[HTTP_KEY] = aiohttp.ClientSession()


async def _http_cleanup(app: web.Application) -> None:
    await app[HTTP_KEY].close()


def build_api_app(center: Center) -> web.Application:
    """The mutual-TLS kiosk API."""
    from mock_relay.routes import orders as routes_orders
    from mock_relay.routes import public as routes_public
    from mock_relay.routes import sessions as routes_sessions
    from mock_relay.routes.admin import faults_middleware

    app = web.Application(
        middlewares=[_problems, _terminal, faults_middleware, idempotency.middleware],
        client_max_size=MAX_BODY,
    )
    app[CENTER_KEY] = center
    app.on_startup.append(_http_startup)
    app.on_cleanup.append(_http_cleanup)
    routes_public.add_api_routes(app)
    routes_sessions.add_routes(app)
    routes_orders.add_routes(app)
    return app


def build_public_app(center: Center) -> web.Application:
    """The public, server-authenticated-only listener: verification and health."""
    from mock_relay.routes import public as routes_public

    app = web.Application(middlewares=[_problems], client_max_size=MAX_BODY)
    app[CENTER_KEY] = center
    routes_public.add_public_routes(app)
    return app


def build_plain_app(center: Center) -> web.Application:
    """Plain HTTP: the OCSP responder and the operator admin routes."""
    from mock_relay.routes import admin as routes_admin

    app = web.Application(middlewares=[_problems], client_max_size=MAX_BODY)
    app[CENTER_KEY] = center
    routes_admin.add_routes(app)
    return app


def route_name(request: web.Request) -> str:
    """The operationId the request matched (or its path)."""
    return _route_name(request)
