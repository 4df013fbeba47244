"""Order routes: create (price), payment, result (refund due), reconcile (issuing: routes.documents)."""

from __future__ import annotations

import json
import logging
import secrets
from dataclasses import replace
from datetime import datetime
from typing import Any

from aiohttp import web

from mock_relay.ledger import ItemRow, LedgerConflict, OrderRow
from mock_relay.model import CertType, OrderItem, Refusal, Route
from mock_relay.routes.common import CENTER_KEY, ApiProblem, iso, json_response, read_body, terminal_of
from mock_relay.routes.idempotency import answer_with
from mock_relay.routes.lookup import expire_overdue, load_order, load_session
from mock_relay.routes.sessions import jsonable, members_in, members_out
from mock_relay.rules import menu as rules

log = logging.getLogger(__name__)


def order_json(order: OrderRow) -> dict[str, Any]:
    """The API's Order."""
    return {
        "order_id": order.order_id,
        "session_id": order.session_id,
        "total": order.total,
        "currency": "JPY",
        "state": order.state,
        "items": [
            {
                "item_index": i.item_index,
                "type": i.type,
                "label": i.label,
                "options": members_out(order.session_id, i.options),
                "copies": i.copies,
                "unit_fee": i.unit_fee,
                "fee": i.unit_fee * i.copies,
            }
            for i in order.items
        ],
    }


async def create_order(request: web.Request) -> web.Response:
    """POST /v1/sessions/{session_id}/orders."""
    center = request.app[CENTER_KEY]
    body = await read_body(request, "OrderRequest")
    session = load_session(center, request, request.match_info["session_id"])
    if session.state == "open":
        raise ApiProblem("not_authenticated", "authenticate the session first")
    if session.state != "authenticated":
        code = "order_exists" if session.state in ("ordered", "issued") else "session_closed"
        raise ApiProblem(code, f"the session is {session.state}")
    now = center.clock.now()
    if now.timestamp() >= session.expires_ts:
        raise ApiProblem("session_expired", "the session timed out; start over")
    resident = center.registry.resident(session.resident_id or "")
    if resident is None or session.route is None:
        raise ApiProblem("unknown_resident", "the session's resident is no longer in the register")
    try:
        menu = rules.open_menu(center.registry, resident, Route(session.route), now)
        items = [
            OrderItem.parse({**raw, "options": members_in(session.session_id, menu, raw.get("options", {}))})
            for raw in body["items"]
        ]
        priced = rules.price_order(center.registry, resident, menu, items, now, menu_is_fresh=True)
    except Refusal as refusal:
        raise ApiProblem(refusal.code, refusal.detail) from None
    rows = [
        ItemRow(
            index,
            p.item.type.value,
            p.label_ja,
            {k: jsonable(v) for k, v in p.item.options.items()},
            p.item.copies,
            p.unit_fee_yen,
        )
        for index, p in enumerate(priced)
    ]
    order_id = "O-" + secrets.token_urlsafe(18)
    # The answer is the order as the ledger will hold it (options as stored: JSON with sorted keys), made
    # first so that it is stored in the order's own transaction (idempotency.answer_with).
    order = OrderRow(
        order_id,
        session.session_id,
        session.terminal_id,
        iso(now),
        "priced",
        sum(r.unit_fee * r.copies for r in rows),
        0,
        0,
        False,
        tuple(replace(r, options=json.loads(json.dumps(r.options, sort_keys=True))) for r in rows),
    )
    answer = answer_with(json_response(order_json(order), status=201))
    try:
        center.ledger.create_order(
            order_id, session.session_id, session.terminal_id, iso(now), now.timestamp(), rows
        )
    except LedgerConflict as exc:
        raise ApiProblem(exc.code, exc.detail) from None
    log.info("order %s priced: %d yen", order_id, order.total)
    return answer


async def record_payment(request: web.Request) -> web.Response:
    """POST /v1/orders/{order_id}/payment."""
    center = request.app[CENTER_KEY]
    body = await read_body(request, "PaymentRequest")
    order = load_order(center, request)
    received, change = int(body["amount_received"]), int(body["change_given"])
    if order.state == "expired":
        raise ApiProblem("session_expired", "the session timed out before payment; its documents are void")
    if order.state != "issued":
        raise ApiProblem("order_state", f"the order is {order.state}, not waiting for payment")
    if received - change != order.total:
        raise ApiProblem("payment_mismatch", f"received {received} - change {change} != total {order.total}")
    answer = answer_with(
        json_response(
            {
                "order_id": order.order_id,
                "total": order.total,
                "amount_received": received,
                "change_given": change,
                "state": "paid",
            }
        )
    )
    try:
        center.ledger.record_payment(order.order_id, received, change, iso(center.clock.now()))
    except LedgerConflict as exc:
        raise ApiProblem(exc.code, exc.detail) from None
    return answer


async def report_result(request: web.Request) -> web.Response:
    """POST /v1/orders/{order_id}/result."""
    center = request.app[CENTER_KEY]
    body = await read_body(request, "ResultRequest")
    order = load_order(center, request)
    if order.state == "cancelled" and order.result_reported:
        raise ApiProblem(
            "order_state",
            f"the order was cancelled after payment; its refund of {order.refund_due} yen is recorded",
        )
    if order.state != "paid":
        raise ApiProblem("order_state", f"the order is {order.state}, not waiting for a result")
    docs = {d.document_id: d for d in center.ledger.documents(order.order_id)}
    outcomes = {c["document_id"]: c["outcome"] for c in body["copies"]}
    if len(outcomes) != len(body["copies"]) or set(outcomes) != set(docs):
        raise ApiProblem("result_mismatch", "report every document of the order exactly once")
    refund = sum(docs[d].unit_fee for d, o in outcomes.items() if o == "failed")
    failed = sum(1 for o in outcomes.values() if o == "failed")
    state = "completed" if failed == 0 else ("failed" if failed == len(outcomes) else "partially_failed")
    now = center.clock.now()
    answer = answer_with(
        json_response(
            {
                "order_id": order.order_id,
                "state": state,
                "printed": len(outcomes) - failed,
                "failed": failed,
                "refund_due": refund,
            }
        )
    )
    try:
        center.ledger.record_result(
            order.order_id, outcomes, refund, state, json.dumps(body["copies"]), iso(now)
        )
    except LedgerConflict as exc:
        raise ApiProblem(exc.code, exc.detail) from None
    session = center.ledger.session(order.session_id, order.terminal_id)
    printed_types = {docs[d].type for d, o in outcomes.items() if o == "printed"}
    for cert_type in sorted(printed_types):
        if session is not None and session.resident_id:
            center.registry.record_issue(session.resident_id, CertType(cert_type), now)
    log.info("order %s result: %s, refund %d", order.order_id, state, refund)
    return answer


async def reconcile(request: web.Request) -> web.Response:
    """GET /v1/reconcile?since=…&limit=…."""
    center = request.app[CENTER_KEY]
    terminal = terminal_of(request)
    since = _parse_since(request.query.get("since"))
    limit = _parse_limit(request.query.get("limit"))
    expire_overdue(center, force=True)  # every order listed with its deadline applied
    orders = center.ledger.orders_since(terminal, since.timestamp(), limit)
    out = []
    for o in orders:
        docs = center.ledger.documents(o.order_id)
        out.append(
            {
                "order_id": o.order_id,
                "session_id": o.session_id,
                "created_at": o.created_at,
                "state": o.state,
                "total": o.total,
                "paid": o.paid,
                "refund_due": o.refund_due,
                "result_reported": o.result_reported,
                "documents": [
                    {
                        "document_id": d.document_id,
                        "item_index": d.item_index,
                        "copy_index": d.copy_index,
                        "state": d.state,
                    }
                    for d in docs
                ],
            }
        )
    return json_response({"terminal_id": terminal, "server_time": iso(center.clock.now()), "orders": out})


def _parse_since(raw: str | None) -> datetime:
    if raw is None:
        raise ApiProblem("bad_request", "the since query parameter is required (RFC 3339 date-time)")
    if len(raw) > 64:
        raise ApiProblem("bad_request", "since must be an RFC 3339 date-time")
    try:
        # An unencoded "+09:00" arrives as " 09:00" after query decoding; accept it.
        since = datetime.fromisoformat(
            raw.strip().replace(" ", "+").replace("Z", "+00:00").replace("z", "+00:00")
        )
    except ValueError:
        raise ApiProblem("bad_request", "since must be an RFC 3339 date-time") from None
    if since.tzinfo is None:
        raise ApiProblem("bad_request", "since needs an offset")
    return since


def _parse_limit(raw: str | None) -> int:
    # The length is checked before any conversion: int() of thousands of digits raises (and is slow).
    if raw is None:
        return 100
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 3 and 1 <= int(raw) <= 500):
        raise ApiProblem("bad_request", "limit must be an integer 1..500")
    return int(raw)


def add_routes(app: web.Application) -> None:
    """Register the order routes (names = OpenAPI operationIds)."""
    app.router.add_post("/v1/sessions/{session_id}/orders", create_order, name="createOrder")
    app.router.add_post("/v1/orders/{order_id}/payment", record_payment, name="recordPayment")
    app.router.add_post("/v1/orders/{order_id}/result", report_result, name="reportResult")
    app.router.add_get("/v1/reconcile", reconcile, name="reconcile")
