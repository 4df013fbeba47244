"""``Idempotency-Key`` on every POST of the kiosk API.

The key is scoped by terminal (from the verified certificate). The first final answer for
(terminal, key) is stored in the ledger with the route and a hash of method, path and body; a repeat
with the same route and body gets that stored answer back byte for byte (header
``Idempotent-Replayed: true``), also after a restart. The same key on another route or with another
body is refused with 422 ``idempotency_conflict``. Retryable failures (5xx, or a problem with
``retryable: true``) are not stored, so a retry with the same key runs again. Requests with the same
key run one at a time (an asyncio lock per key), so a retry racing the original waits for its answer.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
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


@dataclass(frozen=True)
class StoredResponse:
    """The first final answer under one (terminal, key)."""

    route: str
    request_hash: str
    status: int
    content_type: str
    body: bytes


def stored_response(ledger: Ledger, terminal_id: str, key: str) -> StoredResponse | None:
    """The answer stored under (terminal, key), or None."""
    r = ledger.query_one("SELECT * FROM idempotency WHERE terminal_id=? AND key=?", (terminal_id, key))
    if r is None:
        return None
    return StoredResponse(r["route"], r["request_hash"], r["status"], r["content_type"], bytes(r["body"]))


def store_response(
    ledger: Ledger, terminal_id: str, key: str, resp: StoredResponse, at: str, order_id: str | None = None
) -> None:
    """Store the first answer under (terminal, key); a second store for the same key is ignored. An answer
    about an order names it (``order_id``): the issuing call's answer is deleted when the order ends."""
    with ledger.transaction() as db:
        db.execute(
            "INSERT OR IGNORE INTO idempotency"
            " (terminal_id, key, route, request_hash, status, content_type, body, created_at, order_id)"
            " VALUES (?,?,?,?,?,?,?,?,?)",
            (
                terminal_id,
                key,
                resp.route,
                resp.request_hash,
                resp.status,
                resp.content_type,
                resp.body,
                at,
                order_id,
            ),
        )


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
    lock = center.locks.setdefault((terminal, key), asyncio.Lock())
    try:
        async with lock:
            stored = stored_response(center.ledger, terminal, key)
            if stored is not None:
                if stored.route != route or stored.request_hash != digest:
                    raise ApiProblem(
                        "idempotency_conflict", f"this {HEADER} was used for a different request"
                    )
                return web.Response(
                    status=stored.status,
                    body=stored.body,
                    content_type=stored.content_type,
                    headers={"Idempotent-Replayed": "true"},
                )
            resp: web.StreamResponse
            try:
                resp = await handler(request)
            except ApiProblem as exc:
                resp = problem_response(exc.code, exc.detail, status=exc.status, instance=request.path)
            if isinstance(resp, web.Response) and isinstance(resp.body, bytes) and _storable(resp):
                record = StoredResponse(route, digest, resp.status, resp.content_type, resp.body)
                order_id = request.match_info.get("order_id")
                store_response(center.ledger, terminal, key, record, iso(center.clock.now()), order_id)
            return resp
    finally:
        if not lock.locked():
            center.locks.pop((terminal, key), None)
