"""The one module that imports ``requests``: mutual TLS to the center, timeouts, safe retries.

* The terminal certificate and key are presented on every connection; the center CA file is the ONLY trust
  anchor (``verify=<center-ca.pem>``, never the system store).
* Every call has a connect and a read timeout, and an overall deadline that bounds the whole call (retries,
  connecting, every read of the answer): a :class:`~relay_client.watch.CallWatch` shuts the connection when
  the deadline passes or the cancel event is set, so a slow drip or a silent center cannot hold the kiosk
  and an abandoned call stops reading at once.
* Every answer is read as a stream against its bound (``relay_client.body``): too large, an encoding bomb,
  or an unknown content-coding is a :class:`CenterProtocolError` before the memory is spent.
* Retries only where safe: GET, and POST carrying an ``Idempotency-Key`` (the SAME key on every attempt, so
  the center answers a repeat with its first answer). A POST without a key is sent once, whatever happens.
  Back-off is exponential, bounded, with jitter; a cancel event stops waiting at once.
* requests/urllib3 exceptions are caught here only and re-raised as ours with ``from``: TLS failures
  become :class:`CenterTlsError` (not retryable), connection failures and timeouts
  :class:`CenterUnavailable`.
* One ``requests.Session`` per thread (requests does not promise a Session is thread-safe), all mounting the
  client's one pooled HTTPAdapter (urllib3's pools are thread-safe), so a kiosk's calls reuse its TLS
  connections whichever thread makes them. The flow runs each job on a new thread: with a pool per thread,
  every job opened a new TLS connection (a full mutual-TLS handshake) and left it open in a Session kept
  until ``close()``, so a busy kiosk held dozens of idle connections and met the center's per-terminal
  bound (429 ``too_many_connections``), and a long-running one grew without bound.
"""

from __future__ import annotations

import logging
import random
import socket
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from relay_client.body import DEFAULT_LIMITS, MALFORMED, AnswerLimits, loads_strict, read_bounded
from relay_client.errors import (
    CancelledError,
    CenterError,
    CenterProtocolError,
    CenterTlsError,
    CenterUnavailable,
    error_from_problem,
)
from relay_client.watch import CallWatch, attach_current

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Timeouts:
    """Seconds to wait for the TCP+TLS connection and for each read of the answer."""

    connect: float = 3.0
    read: float = 15.0


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded exponential back-off: ``base * 2**n`` capped at ``cap``, ±``jitter`` (fraction), at most
    ``attempts`` tries in all, and never past ``deadline`` seconds since the first try."""

    attempts: int = 4
    base: float = 0.25
    cap: float = 2.0
    jitter: float = 0.5
    deadline: float = 30.0

    def delay(self, retry: int, rng: random.Random) -> float:
        """The pause before retry number ``retry`` (1-based)."""
        raw: float = min(self.cap, self.base * 2.0 ** (retry - 1))
        return max(0.0, raw * (1.0 + self.jitter * (2.0 * rng.random() - 1.0)))


NO_RETRY = RetryPolicy(attempts=1)
TLS_EOF = "tls_eof"
DEFAULT_RETRY = RetryPolicy()
DEFAULT_TIMEOUTS = Timeouts()


class _WatchedHTTPConnection(HTTPConnection):
    """A connection that puts its socket under the calling thread's CallWatch: a new socket as soon as it is
    connected (so a TLS handshake the center never finishes is cut too), a pooled one on each request."""

    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        attach_current(new=sock)
        return sock

    def request(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        attach_current(lambda: self.sock)
        super().request(*args, **kwargs)


class _WatchedHTTPSConnection(_WatchedHTTPConnection, HTTPSConnection):
    """The TLS connection, watched from its TCP connect on (the handshake included)."""


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


class _WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedAdapter(HTTPAdapter):
    """requests' adapter whose pools hand out watched connections."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}


@dataclass(frozen=True)
class Answer:
    """A successful (2xx) answer: status and decoded JSON body."""

    status: int
    body: Any


class CenterHttp:
    """HTTPS transport to the center (see module docstring). Thread-safe."""

    def __init__(
        self,
        base_url: str,
        cert: Path,
        key: Path,
        center_ca: Path,
        *,
        timeouts: Timeouts = DEFAULT_TIMEOUTS,
        retry: RetryPolicy = DEFAULT_RETRY,
        pool_size: int = 4,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.monotonic,
        limits: AnswerLimits = DEFAULT_LIMITS,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.limits = limits
        self._cert = (str(cert), str(key))
        self._ca = str(center_ca)
        self.timeouts = timeouts
        self.retry = retry
        self._rng = rng or random.Random()
        self._clock = clock
        self._local = threading.local()
        # the one pool of this client, shared by every thread's Session (thread-safe in urllib3)
        self._https = _WatchedAdapter(pool_connections=1, pool_maxsize=pool_size, max_retries=0)
        self._http = _WatchedAdapter(max_retries=0)

    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.cert = self._cert
            session.verify = self._ca
            session.trust_env = False  # no proxies, no REQUESTS_CA_BUNDLE: the pinned CA only
            session.mount("https://", self._https)
            session.mount("http://", self._http)
            self._local.session = session  # dropped with its thread; the pool stays with the client
        return session

    def close(self) -> None:
        """Close every pooled connection (a later call opens a new one). Never raises."""
        self._https.close()
        self._http.close()
        self._local = threading.local()

    def get(
        self,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        cancel: threading.Event | None = None,
        limit: int | None = None,
    ) -> Answer:
        """GET ``path`` (retried on retryable failures); the answer may be ``limit`` bytes (JSON bound).

        Raises CenterError subclasses or CancelledError.
        """
        return self._call("GET", path, params=params, body=None, key=None, cancel=cancel, limit=limit)

    def post(
        self,
        path: str,
        body: Mapping[str, Any],
        *,
        idempotency_key: str | None,
        cancel: threading.Event | None = None,
        limit: int | None = None,
    ) -> Answer:
        """POST JSON ``body``; retried (same key) only if ``idempotency_key`` is given. The answer may be
        ``limit`` bytes (default: the JSON bound).

        Raises CenterError subclasses or CancelledError.
        """
        return self._call(
            "POST", path, params=None, body=body, key=idempotency_key, cancel=cancel, limit=limit
        )

    def _call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None,
        body: Mapping[str, Any] | None,
        key: str | None,
        cancel: threading.Event | None,
        limit: int | None,
    ) -> Answer:
        safe = method == "GET" or key is not None
        policy = self.retry if safe else NO_RETRY
        started = self._clock()
        attempt = 0
        codes: set[str] = set()
        while True:
            attempt += 1
            if cancel is not None and cancel.is_set():
                raise CancelledError(f"{method} {path} cancelled")
            remaining = policy.deadline - (self._clock() - started)
            request = _Request(method, path, params, body, key, limit or self.limits.json_bytes)
            try:
                return self._once(request, remaining, cancel)
            except CenterError as exc:
                codes.add(exc.code)
                pause = policy.delay(attempt, self._rng)
                elapsed = self._clock() - started
                if not exc.retryable or attempt >= policy.attempts or elapsed + pause >= policy.deadline:
                    if codes == {TLS_EOF}:
                        # every handshake was cut: the center is refusing our certificate, not flapping
                        raise CenterTlsError("tls_failed", reason="kiosk_fault", detail=exc.detail) from exc
                    raise
                log.info("%s %s failed (%s), retry %d in %.2fs", method, path, exc.code, attempt, pause)
            if cancel is not None:
                if cancel.wait(pause):
                    raise CancelledError(f"{method} {path} cancelled")
            else:
                time.sleep(pause)

    def _once(self, r: _Request, remaining: float, cancel: threading.Event | None) -> Answer:
        headers = {"Accept": "application/json, application/problem+json", "Accept-Encoding": "gzip, deflate"}
        if r.key is not None:
            headers["Idempotency-Key"] = r.key
        read = max(0.1, min(self.timeouts.read, remaining))
        connect = max(0.1, min(self.timeouts.connect, remaining))
        with CallWatch(max(0.0, remaining), cancel, f"{r.method} {r.path}") as watch:
            try:
                response = self._session().request(
                    r.method,
                    self.base_url + r.path,
                    params=r.params,
                    json=r.body,
                    headers=headers,
                    timeout=(connect, read),
                    allow_redirects=False,
                    stream=True,
                )
            except requests.exceptions.RequestException as exc:
                raise (watch.failure() or _transport_error(exc)) from exc
            content = _read(response, r.limit, watch)
        log.debug("%s %s -> %d (%d bytes)", r.method, r.path, response.status_code, len(content))
        return _decode(response.status_code, response.headers.get("Content-Type", ""), content, self.limits)


@dataclass(frozen=True)
class _Request:
    method: str
    path: str
    params: Mapping[str, str] | None
    body: Mapping[str, Any] | None
    key: str | None
    limit: int


def _read(response: requests.Response, limit: int, watch: CallWatch) -> bytes:
    """The whole body, read against ``limit`` under ``watch``; closes the connection unless read to the end.

    Raises CenterProtocolError (bound, encoding), CenterUnavailable (transport, deadline), CancelledError.
    """
    raw = response.raw
    try:
        content = read_bounded(
            lambda n: raw.read1(n, decode_content=False),
            limit=limit,
            encoding=response.headers.get("Content-Encoding", ""),
            declared=response.headers.get("Content-Length"),
            between=watch.check,
        )
        if watch.fired:  # the watch cut the connection: what ended the read was the shutdown
            raise watch.failure() or CancelledError("watch fired")
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        response.close()
        raise (watch.failure() or _read_error(exc)) from exc
    except BaseException:
        response.close()  # never hand a half-read connection back to the pool
        raise
    watch.release()
    raw.release_conn()
    return content


def _decode(status: int, content_type: str, content: bytes, limits: AnswerLimits) -> Answer:
    parsed: Any = None
    why = ""
    try:
        parsed = loads_strict(content, depth=limits.depth) if content else None
    except ValueError as exc:
        why = str(exc)[:200]
    if 200 <= status < 300:
        if why or "json" not in content_type:
            raise CenterProtocolError(MALFORMED, status=status, detail=why or "answer is not JSON")
        return Answer(status, parsed)
    problem = parsed if not why and isinstance(parsed, Mapping) else None
    raise error_from_problem(status, problem, content[:200].decode("utf-8", "replace"))


def _transport_error(exc: requests.exceptions.RequestException) -> CenterError:
    if isinstance(exc, requests.exceptions.SSLError) and _is_eof(exc):
        # the peer closed during the handshake: a restart, or (under TLS 1.3) our certificate refused
        return CenterUnavailable(TLS_EOF, retryable=True, reason="try_again", detail=_short(exc))
    if _is_tls_failure(exc):
        return CenterTlsError("tls_failed", retryable=False, reason="kiosk_fault", detail=_short(exc))
    if isinstance(exc, requests.exceptions.Timeout):
        return CenterUnavailable("timeout", retryable=True, reason="try_again", detail=_short(exc))
    if isinstance(exc, requests.exceptions.ConnectionError):
        return CenterUnavailable("connection_failed", retryable=True, reason="try_again", detail=_short(exc))
    return CenterUnavailable("transport_failed", retryable=True, reason="try_again", detail=_short(exc))


def _read_error(exc: BaseException) -> CenterError:
    if isinstance(exc, urllib3.exceptions.ReadTimeoutError | TimeoutError):
        return CenterUnavailable("timeout", retryable=True, reason="try_again", detail=_short(exc))
    return CenterUnavailable("connection_failed", retryable=True, reason="try_again", detail=_short(exc))


def _is_tls_failure(exc: BaseException) -> bool:
    """True if a TLS verification/handshake failure is anywhere in the exception's chain or arguments.

    A plain EOF during the TLS exchange (server went away) is a connection failure, not a TLS failure.
    """
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        cur = todo.pop()
        if id(cur) in seen:
            continue
        seen.add(id(cur))
        if isinstance(cur, ssl.SSLCertVerificationError | requests.exceptions.SSLError):
            return not _is_eof(cur)
        if isinstance(cur, ssl.SSLError) and not isinstance(cur, ssl.SSLEOFError | ssl.SSLZeroReturnError):
            return True
        todo.extend(a for a in cur.args if isinstance(a, BaseException))
        todo.extend(
            e
            for e in (cur.__cause__, cur.__context__, getattr(cur, "reason", None))
            if isinstance(e, BaseException)
        )
    return False


def _is_eof(exc: BaseException) -> bool:
    text = str(exc)
    return "EOF occurred" in text or "UNEXPECTED_EOF" in text


def _short(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:300]
