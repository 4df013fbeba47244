"""``Idempotency-Key`` on every POST of the kiosk API.

The key is scoped by terminal (from the verified certificate). The first final answer for
(terminal, key) is stored in the ledger with the route and a hash of method, path and body; a repeat
with the same route and body gets that stored answer back byte for byte (header
``Idempotent-Replayed: true``), also after a restart. The same key on another route or with another
body is refused with 422 ``idempotency_conflict``. Retryable failures (5xx, or a problem with
``retryable: true``) are not stored, so a retry with the same key runs again.

A key is claimed in the ledger: one INSERT of a row with status 0 ("in hand", naming the process),
atomic in SQLite, so of two requests with one key — on one connection or two, in one API process or two
(``mock-relay serve --api-processes N``) — only one changes anything; the other waits for that row to turn
into the stored answer (or to disappear, when the answer was not storable, and then claims the key
itself). A claim left by a process that died is taken over. Within one process an asyncio lock per key
spares the waiting. On a route not in ``FOLDED`` the claim comes before the request runs.

On the routes in ``FOLDED`` (those that change nothing outside the ledger before their first ledger write)
the claim and the stored answer ride in the request's own ledger transactions instead of costing two write
transactions of their own: the key is claimed in the request's first write transaction (the same
``INSERT OR IGNORE``, its last statement), and a handler that knows its answer before its last write says so
(:func:`answer_with`), so that the answer is stored in that transaction — a request with one write is then one
transaction: claim, writes and answer commit together or not at all. Until its first write such a request
only reads, so a second request with the same key may run that far beside it; whichever commits its first
write second finds the key taken, its transaction rolls back whole (:class:`KeyTaken`) and it waits for, and
answers with, the first one's stored answer, as above.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import re
import sqlite3
import struct
from dataclasses import dataclass
from typing import Any, TypeGuard

from aiohttp import web

from mock_relay.ledger import TRANSACTION_HOOK, Ledger
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
BODY_AS_SENT, BODY_PACKED = 0, 1  # idempotency.body_form: the body as sent, or Spliced.packed()
_POLL_S = 0.005

#: Routes whose claim and answer ride in their own ledger transactions (module docstring). A route belongs
#: here only if nothing it changes outside the ledger (the register, files) comes before its first ledger
#: write: until then a duplicate may run beside it. 本籍地 registration writes the register first.
FOLDED = frozenset(
    {
        "openSession",
        "authenticate",
        "cancelSession",
        "createOrder",
        "issueDocuments",
        "recordPayment",
        "reportResult",
        "heartbeat",
    }
)


class KeyTaken(Exception):
    """Another request claimed or answered this key first: this request's transaction rolled back."""


@dataclass(frozen=True)
class StoredResponse:
    """The first final answer under one (terminal, key); ``packed`` the form its body is stored in, when
    not as sent (:class:`Spliced`)."""

    route: str
    request_hash: str
    status: int
    content_type: str
    body: bytes
    packed: bytes | None = None


def _stored(route: str, digest: str, resp: web.Response, packed: bytes | None = None) -> StoredResponse:
    """The stored form of ``resp``, a response with its body in bytes (``_storable``)."""
    assert isinstance(resp.body, bytes)
    return StoredResponse(route, digest, resp.status, resp.content_type, resp.body, packed)


_PACKED = b"SPL1"  # the packed form's first bytes
_LEN = struct.Struct(">Q")


@dataclass(frozen=True)
class Spliced:
    """A body of text with base64 parts spliced in: ``texts[0] b64(raws[0]) texts[1] … texts[n]`` (the
    documents answer: its JSON around each copy's PDF). Stored packed, with the raw parts: three quarters of
    the bytes the ledger writes, and zeroes again when the answer is deleted."""

    texts: tuple[bytes, ...]
    raws: tuple[bytes, ...]

    def joined(self) -> bytes:
        """The body as sent."""
        parts = [self.texts[0]]
        for raw, text in zip(self.raws, self.texts[1:], strict=True):
            parts += (base64.b64encode(raw), text)
        return b"".join(parts)

    def packed(self) -> bytes:
        """The stored form: a mark, then each text and raw part after its length."""
        order = [self.texts[0]]
        for raw, text in zip(self.raws, self.texts[1:], strict=True):
            order += (raw, text)
        parts = [_PACKED]
        for part in order:
            parts += (_LEN.pack(len(part)), part)
        return b"".join(parts)

    @classmethod
    def unpack(cls, data: bytes) -> Spliced:
        """The body packed by :meth:`packed`. Raises ValueError if ``data`` is not one."""
        if not data.startswith(_PACKED):
            raise ValueError("not a packed body")
        parts, at = [], len(_PACKED)
        while at < len(data):
            (length,) = _LEN.unpack_from(data, at)
            at += _LEN.size
            if at + length > len(data):
                raise ValueError("a packed body cut short")
            parts.append(data[at : at + length])
            at += length
        if len(parts) % 2 != 1:
            raise ValueError("a packed body without its last text")
        return cls(tuple(parts[0::2]), tuple(parts[1::2]))


def _row(ledger: Ledger, terminal_id: str, key: str) -> tuple[StoredResponse, int | None] | None:
    r = ledger.query_one("SELECT * FROM idempotency WHERE terminal_id=? AND key=?", (terminal_id, key))
    if r is None:
        return None
    body = bytes(r["body"])
    if r["body_form"] == BODY_PACKED:
        body = Spliced.unpack(body).joined()
    stored = StoredResponse(r["route"], r["request_hash"], r["status"], r["content_type"], body)
    return stored, r["claimed_by"]


def stored_response(ledger: Ledger, terminal_id: str, key: str) -> StoredResponse | None:
    """The answer stored under (terminal, key), or None (also while the key's request is running)."""
    found = _row(ledger, terminal_id, key)
    return None if found is None or found[0].status == PENDING else found[0]


_INSERT = (
    "INSERT OR IGNORE INTO idempotency (terminal_id, key, route, request_hash, status, content_type, body,"
    " created_at, order_id, claimed_by, body_form) VALUES (?,?,?,?,?,?,?,?,?,?,?)"
)


def _insert_params(
    terminal_id: str, key: str, row: StoredResponse, at: str, order_id: str | None, claimed_by: int | None
) -> tuple[object, ...]:
    """The parameters of _INSERT: a claim (status PENDING, naming this process) or a stored answer."""
    body, form = _stored_body(row)
    return (
        terminal_id,
        key,
        row.route,
        row.request_hash,
        row.status,
        row.content_type,
        body,
        at,
        order_id,
        claimed_by,
        form,
    )


def _stored_body(row: StoredResponse) -> tuple[bytes, int]:
    """The body as the ledger keeps it, and its form."""
    return (row.body, BODY_AS_SENT) if row.packed is None else (row.packed, BODY_PACKED)


def _claim_row(route: str, digest: str) -> StoredResponse:
    return StoredResponse(route, digest, PENDING, "", b"")


def claim(
    ledger: Ledger, terminal_id: str, key: str, route: str, digest: str, at: str, order_id: str | None = None
) -> bool:
    """Claim (terminal, key) for this process's request: True when this call made the claim, False when
    the key is already claimed or answered (atomic: one INSERT OR IGNORE)."""
    params = _insert_params(terminal_id, key, _claim_row(route, digest), at, order_id, os.getpid())
    return ledger.write_one(_INSERT, params) == 1


def release_claim(ledger: Ledger, terminal_id: str, key: str, pid: int | None = None) -> None:
    """Drop a claim whose request ended without a storable answer (or whose process, ``pid``, died)."""
    ledger.write_one(
        "DELETE FROM idempotency WHERE terminal_id=? AND key=? AND status=? AND claimed_by=?",
        (terminal_id, key, PENDING, os.getpid() if pid is None else pid),
    )


_UPDATE_CLAIM = (
    "UPDATE idempotency SET route=?, request_hash=?, status=?, content_type=?, body=?, body_form=?,"
    " created_at=?, order_id=?, claimed_by=NULL WHERE terminal_id=? AND key=? AND status=? AND claimed_by=?"
)


def _update_params(
    terminal_id: str, key: str, resp: StoredResponse, at: str, order_id: str | None
) -> tuple[object, ...]:
    """The parameters of _UPDATE_CLAIM: this process's claim of (terminal, key) becomes the answer."""
    body, form = _stored_body(resp)
    answer = (resp.route, resp.request_hash, resp.status, resp.content_type, body, form, at, order_id)
    return (*answer, terminal_id, key, PENDING, os.getpid())


def store_response(
    ledger: Ledger, terminal_id: str, key: str, resp: StoredResponse, at: str, order_id: str | None = None
) -> None:
    """Store the first answer under (terminal, key): it replaces this process's claim (one UPDATE); a
    second store for an answered key is ignored. An answer about an order names it (``order_id``): the
    issuing call's answer is deleted when the order ends."""
    replaced = ledger.write_one(_UPDATE_CLAIM, _update_params(terminal_id, key, resp, at, order_id))
    if replaced == 0:  # not claimed by this process (a caller outside the middleware)
        ledger.write_one(_INSERT, _insert_params(terminal_id, key, resp, at, order_id, None))


@dataclass
class _Slot:
    """One folded request's key in the ledger (a ``mock_relay.ledger.TransactionHook``): its first write
    transaction claims the key, the one after :func:`answer_with` stores the answer (both, when that is
    its first)."""

    terminal: str
    key: str
    route: str
    digest: str
    order_id: str | None
    at: str
    claimed: bool = False  # a committed transaction holds this key for this request
    pending: web.Response | None = None  # the answer to store in the next write transaction
    packed: bytes | None = None  # the pending answer's body packed (answer_with's ``spliced``), if so
    answered: web.Response | None = None  # the answer stored with a committed transaction

    def record(self, resp: web.Response) -> StoredResponse:
        """The stored form of ``resp`` (a response with its body in bytes)."""
        return _stored(self.route, self.digest, resp, self.packed if resp is self.pending else None)

    def before_commit(self, db: sqlite3.Connection) -> None:
        """Claim the key (with the answer, when pending) or, claimed already, store the pending answer.
        Raises KeyTaken (the transaction rolls back) when another request has the key."""
        answer = None if self.pending is None else self.record(self.pending)
        if self.claimed:
            if answer is not None:
                params = _update_params(self.terminal, self.key, answer, self.at, self.order_id)
                if db.execute(_UPDATE_CLAIM, params).rowcount != 1:
                    self.pending = None  # not this process's claim any more: the middleware stores it
            return
        if answer is None:
            row, claimed_by = _claim_row(self.route, self.digest), os.getpid()
        else:
            row, claimed_by = answer, None
        params = _insert_params(self.terminal, self.key, row, self.at, self.order_id, claimed_by)
        if db.execute(_INSERT, params).rowcount != 1:
            raise KeyTaken(self.key)

    def committed(self) -> None:
        """The claim (and the pending answer) are in the ledger."""
        self.claimed = True
        if self.pending is not None:
            self.answered, self.pending, self.packed = self.pending, None, None

    def rolled_back(self) -> None:
        """Nothing of this transaction is in the ledger: the answer waits for the caller's next try."""
        self.pending = self.packed = None


def answer_with(resp: web.Response, spliced: Spliced | None = None) -> web.Response:
    """Store ``resp`` as this request's answer in its next ledger write transaction (a folded route's last
    write: the caller builds its answer first), its body packed when it is ``spliced`` (whose ``joined()``
    it must be). Without a folded key in hand, nothing. Returns ``resp``."""
    slot = TRANSACTION_HOOK.get()
    if isinstance(slot, _Slot) and _storable(resp):
        slot.pending = resp
        slot.packed = None if spliced is None else spliced.packed()
    return resp


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


def _storable(resp: web.StreamResponse) -> TypeGuard[web.Response]:
    """Whether ``resp`` is an answer to keep under its key: a whole body in hand, not a server fault, not a
    problem the client may retry."""
    if not isinstance(resp, web.Response) or not isinstance(resp.body, bytes) or resp.status >= 500:
        return False
    if resp.content_type == PROBLEM_TYPE:
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
            while True:
                found = _row(center.ledger, terminal, key)
                if found is None:
                    if route in FOLDED:
                        try:
                            return await _run_folded(request, handler, terminal, key, route, digest, order_id)
                        except KeyTaken:  # a request with this key wrote first: answer with its answer
                            continue
                    if claim(center.ledger, terminal, key, route, digest, iso(center.clock.now()), order_id):
                        return await _run_claimed(request, handler, terminal, key, route, digest, order_id)
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
    finally:
        if not lock.locked():
            center.locks.pop((terminal, key), None)


async def _answer_of(request: web.Request, handler: Any) -> web.StreamResponse:
    """The handler's answer, a refusal (ApiProblem) as its problem response: an answer to store too."""
    try:
        resp: web.StreamResponse = await handler(request)
    except ApiProblem as exc:
        return problem_response(exc.code, exc.detail, status=exc.status, instance=request.path)
    return resp


async def _run_folded(
    request: web.Request, handler: Any, terminal: str, key: str, route: str, digest: str, order_id: str | None
) -> web.StreamResponse:
    """Run a FOLDED route's request with its key riding in its ledger transactions; store its answer
    if that did not happen there, or release its claim. Raises KeyTaken when another request with the
    key claimed it first (nothing of this one was kept)."""
    center = request.app[CENTER_KEY]
    slot = _Slot(terminal, key, route, digest, order_id, iso(center.clock.now()))
    token = TRANSACTION_HOOK.set(slot)
    try:
        resp = await _answer_of(request, handler)
    except BaseException:
        if slot.claimed and slot.answered is None:
            release_claim(center.ledger, terminal, key)
        raise
    finally:
        TRANSACTION_HOOK.reset(token)
    if slot.answered is not None:  # stored with the request's last write
        return slot.answered
    if _storable(resp):
        record = slot.record(resp)
        if slot.claimed:
            store_response(center.ledger, terminal, key, record, slot.at, order_id)
        elif (
            center.ledger.write_one(_INSERT, _insert_params(terminal, key, record, slot.at, order_id, None))
            != 1
        ):
            raise KeyTaken(key)  # the request wrote nothing, and another one with this key answered first
        return resp
    if slot.claimed:
        release_claim(center.ledger, terminal, key)
    return resp


async def _run_claimed(
    request: web.Request, handler: Any, terminal: str, key: str, route: str, digest: str, order_id: str | None
) -> web.StreamResponse:
    """Run the request whose key this process claimed; store its answer or release the claim."""
    center = request.app[CENTER_KEY]
    stored = False
    try:
        resp = await _answer_of(request, handler)
        if _storable(resp):
            record = _stored(route, digest, resp)
            store_response(center.ledger, terminal, key, record, iso(center.clock.now()), order_id)
            stored = True
        return resp
    finally:
        if not stored:
            release_claim(center.ledger, terminal, key)
