"""Finding a terminal's own session and order for a request, and the deadline that voids what was never
paid for. Below every route module that needs them (sessions, orders, documents), so that none of them
imports another for these."""

from __future__ import annotations

import logging
import time

from aiohttp import web

from mock_relay.center import Center
from mock_relay.ledger import OrderRow, SessionRow
from mock_relay.routes.common import ApiProblem, terminal_of

log = logging.getLogger(__name__)


SWEEP_INTERVAL_S = 0.25
"""At most one sweep over every overdue order per this many seconds (monotonic) in a process. A request
for one order does not rely on it: ``load_order`` and ``expire_order`` apply that order's own deadline."""

_last_sweep = -SWEEP_INTERVAL_S  # time.monotonic() of this process's last sweep


def expire_overdue(center: Center, *, force: bool = False) -> None:
    """Void the documents of every unpaid order whose session deadline has passed (see
    ``Ledger.expire_overdue``), at most once per SWEEP_INTERVAL_S unless ``force`` (for a request that reads
    many orders at once, which must see every deadline applied)."""
    global _last_sweep
    mono = time.monotonic()
    if not force and mono - _last_sweep < SWEEP_INTERVAL_S:
        return
    _last_sweep = mono
    voided = center.ledger.expire_overdue(center.clock.now().timestamp())
    if voided:
        log.info("%d unpaid documents voided: their session's deadline passed", voided)


def expire_order(center: Center, order_id: str) -> bool:
    """Apply the deadline of the one order ``order_id`` (see ``Ledger.expire_order``). Run before anything
    reads or changes that order's state. Returns whether it expired now."""
    expired, voided = center.ledger.expire_order(center.clock.now().timestamp(), order_id)
    if voided:
        log.info("%d unpaid documents of order %s voided: its session's deadline passed", voided, order_id)
    return expired


def load_session(center: Center, request: web.Request, session_id: str) -> SessionRow:
    """This terminal's session ``session_id``. Raises ApiProblem ``session_not_found``."""
    row = center.ledger.session(session_id, terminal_of(request))
    if row is None:
        raise ApiProblem("session_not_found", "no such session for this terminal")
    return row


def load_order(center: Center, request: web.Request) -> OrderRow:
    """This terminal's order from the path, its deadline applied first (and, throttled, every order's).

    Raises ApiProblem ``order_not_found``.
    """
    expire_overdue(center)
    order_id, terminal = request.match_info["order_id"], terminal_of(request)
    order = center.ledger.order(order_id, terminal)
    if order is None:
        raise ApiProblem("order_not_found", "no such order for this terminal")
    if order.state in ("priced", "issued") and expire_order(center, order_id):  # missed by a throttled sweep
        order = center.ledger.order(order_id, terminal)
        assert order is not None
    return order


def require_live_session(center: Center, request: web.Request, order: OrderRow) -> SessionRow:
    """The order's session, still open for business. Raises ApiProblem ``session_closed`` or
    ``session_expired``."""
    session = load_session(center, request, order.session_id)
    if session.state == "cancelled" or order.state == "cancelled":
        raise ApiProblem("session_closed", "the session was cancelled")
    if order.state == "expired" or (
        center.clock.now().timestamp() >= session.expires_ts and order.state == "priced"
    ):
        raise ApiProblem("session_expired", "the session timed out; start over")
    return session
