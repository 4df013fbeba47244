"""Finding a terminal's own session and order for a request, and the deadline that voids what was never
paid for. Below every route module that needs them (sessions, orders, documents), so that none of them
imports another for these."""

from __future__ import annotations

import logging

from aiohttp import web

from mock_relay.center import Center
from mock_relay.ledger import OrderRow, SessionRow
from mock_relay.routes.common import ApiProblem, terminal_of

log = logging.getLogger(__name__)


def expire_overdue(center: Center) -> None:
    """Void the documents of every unpaid order whose session deadline has passed (see
    ``Ledger.expire_overdue``). Run before anything reads or changes an order's state."""
    voided = center.ledger.expire_overdue(center.clock.now().timestamp())
    if voided:
        log.info("%d unpaid documents voided: their session's deadline passed", voided)


def load_session(center: Center, request: web.Request, session_id: str) -> SessionRow:
    """This terminal's session ``session_id``. Raises ApiProblem ``session_not_found``."""
    row = center.ledger.session(session_id, terminal_of(request))
    if row is None:
        raise ApiProblem("session_not_found", "no such session for this terminal")
    return row


def load_order(center: Center, request: web.Request) -> OrderRow:
    """This terminal's order from the path, deadlines applied first.

    Raises ApiProblem ``order_not_found``.
    """
    expire_overdue(center)
    order = center.ledger.order(request.match_info["order_id"], terminal_of(request))
    if order is None:
        raise ApiProblem("order_not_found", "no such order for this terminal")
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
