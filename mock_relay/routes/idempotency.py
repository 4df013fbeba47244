"""``Idempotency-Key`` on every POST of the kiosk API.

The key is scoped by terminal (from the verified certificate). The first final answer for
(terminal, key) is stored in the ledger with the route and a hash of method, path and body; a repeat
with the same route and body gets that stored answer back byte for byte (header
``Idempotent-Replayed: true``), also after a restart. The same key on another route or with another
body is refused with 422 ``idempotency_conflict``. Retryable failures (5xx, or a problem with
``retryable: true``) are not stored, so a retry with the same key runs again.

A key is claimed in the ledger before its request runs: one INSERT of a row with status 0 ("in hand",
naming the process), atomic in SQLite, so of two requests with one key — on one connection or two, in
one API process or two (``mock-relay serve --api-processes N``) — only one runs the handler; the other
waits for that row to turn into the stored answer (or to disappear, when the answer was not storable,
and then claims the key itself). A claim left by a process that died is taken over. Within one process
an asyncio lock per key spares the waiting.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from mock_relay.ledger import Ledger
from mock_relay.routes.common import (
    CENTER_KEY,
    PROBLEM_TYPE,
    TERMINAL,
    ApiProblem,
    iso,
    problem_response,
    route_name,
)

HEADER = "Idempotency-Key"
_KEY_RE = re.compile(r"^[\x21-\x7e]{1,128}$")
PENDING = 0  # the status of a claimed key whose request is still running
_POLL_S = 0.005


@dataclass(frozen=True)
class StoredResponse:
    """The first final answer under one (terminal, key)."""

    route: str
    request_hash: str
    status: int
    content_type: str
    body: bytes


def _row(ledger: Ledger, terminal_id: str, key: str) -> tuple[StoredResponse, int | None] | None:
    r = ledger.query_one("SELECT * FROM idempotency WHERE terminal_id=? AND key=?", (terminal_id, key))
    if r is None:
        return None
    stored = StoredResponse(r["route"], r["request_hash"], r["status"], r["content_type"], bytes(r["body"]))
    return stored, r["claimed_by"]


def stored_response(ledger: Ledger, terminal_id: str, key: str) -> StoredResponse | None:
    """The answer stored under (terminal, key), or None (also while the key's request is running)."""
    found = _row(ledger, terminal_id, key)
    return None if found is None or found[0].status == PENDING else found[0]


def claim(
    ledger: Ledger, terminal_id: str, key: str, route: str, digest: str, at: str, order_id: str | None = None
) -> bool:
    """Claim (terminal, key) for this process's request: True when this call made the claim, False when
    the key is already claimed or answered (atomic: one INSERT OR IGNORE)."""
    return (
        ledger.write_one(
            "INSERT OR IGNORE INTO idempotency (terminal_id, key, route, request_hash, status,"
            " content_type, body, created_at, order_id, claimed_by) VALUES (?,?,?,?,?,?,?,?,?,?)",
            (terminal_id, key, route, digest, PENDING, "", b"", at, order_id, os.getpid()),
        )
        == 1
    )


def release_claim(ledger: Ledger, terminal_id: str, key: str, pid: int | None = None) -> None:
    """Drop a claim whose request ended without a storable answer (or whose process, ``pid``, died)."""
    ledger.write_one(
        "DELETE FROM idempotency WHERE terminal_id=? AND key=? AND status=? AND claimed_by=?",
        (terminal_id, key, PENDING, os.getpid() if pid is None else pid),
    )


def store_response(
    ledger: Ledger, terminal_id: str, key: str, resp: StoredResponse, at: str, order_id: str | None = None
) -> None:
    """Store the first answer under (terminal, key): it replaces this process's claim (one UPDATE); a
    second store for an answered key is ignored. An answer about an order names it (``order_id``): the
    issuing call's answer is deleted when the order ends."""
    answer = (resp.route, resp.request_hash, resp.status, resp.content_type, resp.body, at, order_id)
    replaced = ledger.write_one(
        "UPDATE idempotency SET route=?, request_hash=?, status=?, content_type=?, body=?, created_at=?,"
        " order_id=?, claimed_by=NULL WHERE terminal_id=? AND key=? AND status=? AND claimed_by=?",
        (*answer, terminal_id, key, PENDING, os.getpid()),
    )
    if replaced == 0:  # not claimed by this process (a caller outside the middleware)
        ledger.write_one(
            "INSERT OR IGNORE INTO idempotency"
            " (terminal_id, key, route, request_hash, status, content_type, body, created_at, order_id)"
            " VALUES (?,?,?,?,?,?,?,?,?)",
            (terminal_id, key, *answer),
        )


def _alive(pid: int | None) -> bool:
    if pid is None or pid == os.getpid():
        return pid is not None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def request_hash(method: str, path: str, body: bytes) -> str:
    """sha256 over method, path and body (the identity of a request under one key)."""
    h = hashlib.sha256()
    for part in (method.encode(), path.encode(), body):
        h.update(len(part).to_bytes(8, "big"))
        h.update(part)
    return h.hexdigest()


def _storable(resp: web.Response) -> bool:
    if resp.status >= 500:
        return False
    if resp.content_type == PROBLEM_TYPE and isinstance(resp.body, bytes):
        try:
            return not json.loads(resp.body).get("retryable", False)
        except ValueError:
            return False
    return True


@web.middleware
async def middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    """Enforce and honour ``Idempotency-Key`` on POST. Raises ApiProblem for a missing key or a conflict."""
    if request.method != "POST" or request.match_info.http_exception is not None:  # 404/405 pass through
        result: web.StreamResponse = await handler(request)
        return result
    key = request.headers.get(HEADER, "")
    if not _KEY_RE.match(key):
        raise ApiProblem(
            "idempotency_key_missing", f"every POST needs an {HEADER} header (1-128 visible ASCII)"
        )
    center = request.app[CENTER_KEY]
    terminal: str = request[TERMINAL]
    route = route_name(request)
    digest = request_hash(request.method, request.path, await request.read())
    order_id = request.match_info.get("order_id")
    lock = center.locks.setdefault((terminal, key), asyncio.Lock())
    try:
        async with lock:
            while not claim(center.ledger, terminal, key, route, digest, iso(center.clock.now()), order_id):
                found = _row(center.ledger, terminal, key)
                if found is None:  # the claim was released as we looked: claim again
                    continue
                stored, claimed_by = found
                if stored.route != route or stored.request_hash != digest:
                    raise ApiProblem(
                        "idempotency_conflict", f"this {HEADER} was used for a different request"
                    )
                if stored.status != PENDING:
                    return web.Response(
                        status=stored.status,
                        body=stored.body,
                        content_type=stored.content_type,
                        headers={"Idempotent-Replayed": "true"},
                    )
                if not _alive(claimed_by):
                    release_claim(center.ledger, terminal, key, claimed_by)
                    continue
                await asyncio.sleep(_POLL_S)  # another API process runs this key's request
            return await _run_claimed(request, handler, terminal, key, route, digest, order_id)
    finally:
        if not lock.locked():
            center.locks.pop((terminal, key), None)


async def _run_claimed(
    request: web.Request, handler: Any, terminal: str, key: str, route: str, digest: str, order_id: str | None
) -> web.StreamResponse:
    """Run the request whose key this process claimed; store its answer or release the claim."""
    center = request.app[CENTER_KEY]
    stored = False
    try:
        resp: web.StreamResponse
        try:
            resp = await handler(request)
        except ApiProblem as exc:
            resp = problem_response(exc.code, exc.detail, status=exc.status, instance=request.path)
        if isinstance(resp, web.Response) and isinstance(resp.body, bytes) and _storable(resp):
            record = StoredResponse(route, digest, resp.status, resp.content_type, resp.body)
            store_response(center.ledger, terminal, key, record, iso(center.clock.now()), order_id)
            stored = True
        return resp
    finally:
        if not stored:
            release_claim(center.ledger, terminal, key)
