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
import socket
import ssl
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

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


class Budget(Protocol):
    """What a listener counts connections with (``ConnectionBudget``, or a shared one across API
    processes: mock_relay.shared.SharedConnectionBudget)."""

    def admit(self, client: str) -> bool: ...

    def release(self, client: str) -> None: ...


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
        budget: Budget,
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
        #: the terminal named by this connection's verified client certificate (the application's, once read)
        self.terminal: str | None = None

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
    *,
    budget: Budget | None = None,
    share_with: Sequence[socket.socket] = (),
) -> asyncio.Server | Dispatcher:
    """Serve ``runner``'s application on ``host:port`` (0: any free port) with ``limits``, counting
    connections in ``budget`` (default: this listener's own). With ``share_with`` (unix sockets to other
    API processes, each running :func:`serve_handed`), the accepted connections are dealt in turn to this
    process and each of those.

    Close the returned server before ``runner.cleanup()``. Raises OSError if the port is taken.
    """
    manager = runner.server
    if manager is None:
        raise RuntimeError("call runner.setup() before listen()")
    loop = asyncio.get_running_loop()
    counted: Budget = budget or ConnectionBudget(limits.max_connections_per_client)

    def protocol() -> GuardedHandler:
        assert manager is not None
        return GuardedHandler(manager, loop=loop, limits=limits, budget=counted)

    if share_with:
        return Dispatcher(protocol, host, port, limits, ssl_context, share_with)
    return await loop.create_server(
        protocol,
        host,
        port,
        ssl=ssl_context,
        ssl_handshake_timeout=limits.header_timeout_s if ssl_context is not None else None,
    )


class Dispatcher:
    """A listening socket whose accepted connections are dealt in turn to this process (served here) and to
    other API processes (the file descriptor passed over a unix socket, SCM_RIGHTS): round robin, so that
    16 kiosks' keep-alive connections split 8 / 8 over two processes (SO_REUSEPORT's hash of the address
    pair may give one process most of a few connections). The TLS handshake happens in the process that
    serves the connection."""

    def __init__(
        self,
        protocol: Callable[[], GuardedHandler],
        host: str,
        port: int,
        limits: ListenerLimits,
        ssl_context: ssl.SSLContext | None,
        share_with: Sequence[socket.socket],
    ) -> None:
        self._protocol, self._limits, self._ssl = protocol, limits, ssl_context
        self._peers = list(share_with)
        listening = socket.create_server((host, port), backlog=1024)
        listening.setblocking(False)
        self.sockets = [listening]
        self._turn = 0
        self._task = asyncio.get_running_loop().create_task(self._accept())

    async def _accept(self) -> None:
        loop = asyncio.get_running_loop()
        listening = self.sockets[0]
        while True:
            try:
                conn, _ = await loop.sock_accept(listening)
            except OSError as exc:
                log.warning("accept failed: %s", exc)
                await asyncio.sleep(0.05)
                continue
            self._turn = (self._turn + 1) % (len(self._peers) + 1)
            if self._turn == 0:
                serve_accepted(conn, self._protocol, self._limits, self._ssl)
                continue
            try:
                socket.send_fds(self._peers[self._turn - 1], [b"c"], [conn.fileno()])
            except OSError as exc:  # that process is gone: serve the connection here
                log.warning("could not hand a connection to API process %d: %s", self._turn, exc)
                serve_accepted(conn, self._protocol, self._limits, self._ssl)
                continue
            conn.close()

    def close(self) -> None:
        """Stop accepting (connections already served go on until the application's cleanup)."""
        self._task.cancel()
        self.sockets[0].close()


def serve_accepted(
    conn: socket.socket,
    protocol: Callable[[], GuardedHandler],
    limits: ListenerLimits,
    ssl_context: ssl.SSLContext | None,
) -> None:
    """Serve one accepted connection on the running loop (TLS handshake first, within the header limit)."""
    loop = asyncio.get_running_loop()
    conn.setblocking(False)
    timeout = limits.header_timeout_s if ssl_context is not None else None
    task = loop.create_task(
        loop.connect_accepted_socket(protocol, conn, ssl=ssl_context, ssl_handshake_timeout=timeout)
    )
    task.add_done_callback(_handshake_done)


def _handshake_done(task: asyncio.Task[object]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.info("a connection ended before its TLS handshake completed: %s", task.exception())


def serve_handed(
    channel: socket.socket,
    runner: web.AppRunner,
    limits: ListenerLimits,
    ssl_context: ssl.SSLContext | None,
    budget: Budget,
    on_closed: Callable[[], None],
) -> None:
    """Serve, on the running loop, every connection the dispatching process hands over ``channel``;
    ``on_closed`` runs when the channel closes (that process is gone)."""
    manager = runner.server
    if manager is None:
        raise RuntimeError("call runner.setup() before serve_handed()")
    loop = asyncio.get_running_loop()

    def protocol() -> GuardedHandler:
        assert manager is not None
        return GuardedHandler(manager, loop=loop, limits=limits, budget=budget)

    def readable() -> None:
        try:
            msg, fds, _, _ = socket.recv_fds(channel, 64, 16)
        except BlockingIOError:
            return
        except OSError:
            msg, fds = b"", []
        for fd in fds:
            serve_accepted(socket.socket(fileno=fd), protocol, limits, ssl_context)
        if not msg and not fds:
            loop.remove_reader(channel.fileno())
            on_closed()

    channel.setblocking(False)
    loop.add_reader(channel.fileno(), readable)
