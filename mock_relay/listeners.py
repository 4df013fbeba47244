"""The center's listening sockets: bounded connections and time limits, and problem+json for what aiohttp
refuses before any handler runs.

aiohttp on its own keeps a connection whose request headers never complete open for an hour (its
keep-alive timeout), answers an over-long request line or header with text/plain, and lets one client
hold any number of connections. Here, per listener:

- the TLS handshake must complete, and a request's headers must arrive, within ``header_timeout_s`` of
  its first byte (asyncio's SSL handshake timeout; a timer this module runs between requests, the
  application's middleware marking where a request starts and ends); the body has its own limit in
  the application;
- a connection idle between requests is closed after ``idle_timeout_s`` (aiohttp's keep-alive
  timeout: longer than the clients' own pools keep a connection, so a reused connection is never
  closed under them);
- what aiohttp refuses itself (a malformed or over-long request line or header) is answered as
  problem+json ``bad_request``, the connection then closed;
- one client holds at most ``max_connections_per_client`` connections at once (a terminal, by its
  verified certificate, on the mutual-TLS listener; a peer address elsewhere). A connection beyond
  that is answered 429 ``too_many_connections`` by the application and closed.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from mock_relay.routes.common import problem_response

log = logging.getLogger(__name__)

ClientKey = Callable[[asyncio.BaseTransport], str]
LINGER_S = 1.0  # how long an unread request body is drained after an early answer, before closing


def peer_address(transport: asyncio.BaseTransport) -> str:
    """The client's IP address (the key of the public and plain listeners)."""
    peer = transport.get_extra_info("peername")
    return str(peer[0]) if isinstance(peer, tuple) and peer else "?"


@dataclass(frozen=True)
class ListenerLimits:
    """The time and connection limits of one listener."""

    header_timeout_s: float
    idle_timeout_s: float
    max_connections_per_client: int | None  # None: unbounded (the plain listener's own OCSP client)
    client_key: ClientKey = peer_address


class ConnectionBudget:
    """How many connections each client holds on one listener."""

    def __init__(self, limit: int | None) -> None:
        self.limit = limit
        self._held: Counter[str] = Counter()
        self._lock = threading.Lock()

    def admit(self, client: str) -> bool:
        """Count a new connection of ``client``; False (not counted) when it already holds the limit."""
        with self._lock:
            if self.limit is not None and self._held[client] >= self.limit:
                return False
            self._held[client] += 1
            return True

    def release(self, client: str) -> None:
        """A counted connection of ``client`` closed."""
        with self._lock:
            self._held[client] -= 1
            if self._held[client] <= 0:
                del self._held[client]

    def held(self, client: str) -> int:
        """Connections ``client`` holds now."""
        with self._lock:
            return self._held[client]


class _NoAccessLog(AbstractAccessLogger):
    """The center logs what it does itself; no per-request access lines."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        return None

    @property
    def enabled(self) -> bool:
        return False


class GuardedHandler(web.RequestHandler):
    """aiohttp's HTTP/1.1 protocol handler, counted against its client's connection budget and
    answering its own parse errors as problem+json."""

    def __init__(
        self,
        manager: web.Server,
        *,
        loop: asyncio.AbstractEventLoop,
        limits: ListenerLimits,
        budget: ConnectionBudget,
    ) -> None:
        super().__init__(
            manager,
            loop=loop,
            keepalive_timeout=limits.idle_timeout_s,
            lingering_time=LINGER_S,
            access_log_class=_NoAccessLog,
        )
        self._limits = limits
        self._budget = budget
        self._client: str | None = None  # set once counted
        self._in_request = False
        self._header_timer: asyncio.TimerHandle | None = None
        self.over_limit = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        client = self._limits.client_key(transport)
        if self._budget.admit(client):
            self._client = client
        else:
            self.over_limit = True
            log.warning("client %s holds too many connections; refusing one", client)
        super().connection_made(transport)

    def data_received(self, data: bytes) -> None:
        if data and not self._in_request and self._header_timer is None:
            loop = asyncio.get_running_loop()
            self._header_timer = loop.call_later(self._limits.header_timeout_s, self._headers_too_slow)
        super().data_received(data)

    def request_started(self) -> None:
        """The application took a whole request's headers: no header timer until it has answered."""
        self._in_request = True
        self._stop_header_timer()

    def request_finished(self) -> None:
        """The application answered; bytes that arrive from now on start a new request."""
        self._in_request = False

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        if not self._in_request:
            log.info("closing a connection whose request headers did not arrive in time")
            self.force_close()

    def _stop_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def connection_lost(self, exc: BaseException | None) -> None:
        self._stop_header_timer()
        if self._client is not None:
            self._budget.release(self._client)
            self._client = None
        super().connection_lost(exc)

    def handle_error(
        self,
        request: web.BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        """A request aiohttp could not take (malformed, over-long line or header) or a failure outside
        the application: problem+json, then the connection closes. Raises ConnectionError when a
        response was already under way."""
        if request.writer.output_size > 0:
            raise ConnectionError("a response was already under way; cannot answer the error")
        if status >= 500:
            log.error("failure outside the application on a request from %s", request.remote, exc_info=exc)
            response = problem_response("internal_error", "the center failed; retry", status=status)
        else:
            detail = f"malformed request: {message or exc or status}"
            log.info("refused a malformed request from %s: %s", request.remote, detail[:200])
            response = problem_response("bad_request", detail[:200], status=status)
        response.force_close()
        return response


def guarded_connection(request: web.BaseRequest) -> GuardedHandler | None:
    """The connection ``request`` came on, when it is one of these listeners' (None in a test client)."""
    protocol = request.protocol
    return protocol if isinstance(protocol, GuardedHandler) else None


async def listen(
    runner: web.AppRunner,
    host: str,
    port: int,
    limits: ListenerLimits,
    ssl_context: ssl.SSLContext | None = None,
) -> asyncio.Server:
    """Serve ``runner``'s application on ``host:port`` (0: any free port) with ``limits``.

    Close the returned server before ``runner.cleanup()``. Raises OSError if the port is taken.
    """
    manager = runner.server
    if manager is None:
        raise RuntimeError("call runner.setup() before listen()")
    loop = asyncio.get_running_loop()
    budget = ConnectionBudget(limits.max_connections_per_client)

    def protocol() -> GuardedHandler:
        assert manager is not None
        return GuardedHandler(manager, loop=loop, limits=limits, budget=budget)

    return await loop.create_server(
        protocol,
        host,
        port,
        ssl=ssl_context,
        ssl_handshake_timeout=limits.header_timeout_s if ssl_context is not None else None,
    )
