"""The center keeps its books (issue #14, items 8–10 and the registry part of 14): order limits per type
and per order, a refund due for money taken before a cancel, unpaid documents void at the session
deadline, and owner-only data files."""

from __future__ import annotations

import stat
from datetime import timedelta
from typing import Any

from relay_server_helpers import Kiosk, open_and_authenticate

from mock_relay.routes import lookup
from mock_relay.server import RelayServer


def _ordered(kiosk: Kiosk, card: Any, items: list[dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    opened, auth = open_and_authenticate(kiosk, card)
    assert auth.status == 200, auth.body
    sid = opened.body["session_id"]
    order = kiosk.post(f"/v1/sessions/{sid}/orders", {"items": items})
    assert order.status == 201, order.body
    return sid, order.body


def _reconciled(kiosk: Kiosk, order_id: str) -> dict[str, Any]:
    view = kiosk.get("/v1/reconcile?since=2000-01-01T00:00:00%2B09:00&limit=500")
    assert view.status == 200, view.body
    entry: dict[str, Any] = next(o for o in view.body["orders"] if o["order_id"] == order_id)
    return entry


def test_ten_items_of_ten_seal_certificates_are_refused_before_anything_is_priced(relay, kiosk, cards):
    opened, auth = open_and_authenticate(kiosk, cards("C-001"))
    assert auth.status == 200
    before = relay.center.ledger.counts()["orders"]
    refused = kiosk.post(
        f"/v1/sessions/{opened.body['session_id']}/orders", {"items": [{"type": "inkan", "copies": 10}] * 10}
    )
    assert refused.status == 422 and refused.code == "copies_exceeded", refused.body
    assert refused.body["retryable"] is False and refused.body["reason"] == "too_many_copies"
    too_large = kiosk.post(
        f"/v1/sessions/{opened.body['session_id']}/orders",
        {
            "items": [
                {"type": "juminhyo", "copies": 10},
                {"type": "inkan", "copies": 10},
                {"type": "juminhyo_kisai", "copies": 1},
            ]
        },
    )
    assert too_large.status == 422 and too_large.code == "order_too_large", too_large.body
    assert relay.center.ledger.counts()["orders"] == before


def test_a_cancel_after_payment_records_the_refund_due(relay, kiosk, cards):
    sid, order = _ordered(kiosk, cards("C-004"), [{"type": "juminhyo", "copies": 1}])
    oid = order["order_id"]
    docs = kiosk.post(f"/v1/orders/{oid}/documents", {}).body["documents"]
    paid = kiosk.post(f"/v1/orders/{oid}/payment", {"amount_received": 500, "change_given": 300})
    assert paid.status == 200 and paid.body["total"] == 200
    refunds = relay.center.ledger.counts()["refunds"]

    cancelled = kiosk.post(f"/v1/sessions/{sid}/cancel", {"reason": "fault"})
    assert cancelled.body == {
        "session_id": sid,
        "state": "cancelled",
        "voided_documents": 1,
        "refund_due": 200,
    }
    assert relay.center.ledger.counts()["refunds"] == refunds + 1
    entry = _reconciled(kiosk, oid)
    assert (entry["state"], entry["paid"], entry["refund_due"], entry["result_reported"]) == (
        "cancelled",
        200,
        200,
        True,  # settled: a recovering kiosk does not try to report a result for it
    )
    assert [d["state"] for d in entry["documents"]] == ["void"]

    again = kiosk.post(f"/v1/sessions/{sid}/cancel", {"reason": "fault"})
    assert again.body["refund_due"] == 200 and again.body["voided_documents"] == 0
    assert relay.center.ledger.counts()["refunds"] == refunds + 1  # recorded once
    late = kiosk.post(
        f"/v1/orders/{oid}/result", {"copies": [{"document_id": docs[0]["document_id"], "outcome": "failed"}]}
    )
    assert late.status == 409 and late.code == "order_state" and "200 yen" in late.body["detail"]
    public = Kiosk(relay.public_url, None, ctx=kiosk.ctx)
    verdict = public.get(f"/v1/verify/{docs[0]['verification_code']}").body
    assert (verdict["valid"], verdict["state"], verdict["void_reason"]) == (False, "void", "cancelled")


def test_unpaid_documents_are_void_once_the_session_deadline_passes(relay: RelayServer, kiosk, cards):
    start = relay.clock.now()
    sid, order = _ordered(kiosk, cards("C-008"), [{"type": "juminhyo", "copies": 2}])
    oid = order["order_id"]
    docs = kiosk.post(f"/v1/orders/{oid}/documents", {}).body["documents"]
    public = Kiosk(relay.public_url, None, ctx=kiosk.ctx)
    code = docs[0]["verification_code"]
    fresh = public.get(f"/v1/verify/{code}").body
    assert (fresh["valid"], fresh["state"], fresh["void_reason"]) == (True, "issued", None)
    relay.clock.set(start + timedelta(seconds=601))  # the session lives 600 s after authentication
    try:
        verdict = public.get(f"/v1/verify/{code}").body
        assert (verdict["valid"], verdict["state"], verdict["void_reason"]) == (False, "void", "expired")
        late = kiosk.post(f"/v1/orders/{oid}/payment", {"amount_received": 400, "change_given": 0})
        assert late.status == 409 and late.code == "session_expired"
        entry = _reconciled(kiosk, oid)
        assert entry["state"] == "expired" and entry["paid"] == 0 and entry["refund_due"] == 0
        assert [d["state"] for d in entry["documents"]] == ["void", "void"]
        assert kiosk.post(f"/v1/sessions/{sid}/cancel", {}).body["voided_documents"] == 0
    finally:
        relay.clock.set(start)


def test_each_request_applies_its_own_orders_deadline_between_sweeps(
    relay: RelayServer, kiosk, cards, monkeypatch
):
    """The sweep over every overdue order is throttled; a request for one order still sees that order's
    deadline: a late payment is refused and a document never paid for verifies void, with no sweep run."""
    monkeypatch.setattr(lookup, "SWEEP_INTERVAL_S", float("inf"))  # no sweep from here on
    start = relay.clock.now()
    _, paying = _ordered(kiosk, cards("C-008"), [{"type": "juminhyo", "copies": 1}])
    _, verified = _ordered(kiosk, cards("O-002"), [{"type": "juminhyo", "copies": 1}])
    assert kiosk.post(f"/v1/orders/{paying['order_id']}/documents", {}).status == 200
    docs = kiosk.post(f"/v1/orders/{verified['order_id']}/documents", {}).body["documents"]
    relay.clock.set(start + timedelta(seconds=601))
    try:
        late = kiosk.post(
            f"/v1/orders/{paying['order_id']}/payment",
            {"amount_received": paying["total"], "change_given": 0},
        )
        assert late.status == 409 and late.code == "session_expired", late.body
        public = Kiosk(relay.public_url, None, ctx=kiosk.ctx)
        verdict = public.get(f"/v1/verify/{docs[0]['verification_code']}").body
        assert (verdict["valid"], verdict["state"], verdict["void_reason"]) == (False, "void", "expired")
    finally:
        relay.clock.set(start)


def test_a_paid_order_outlives_its_session_deadline(relay: RelayServer, kiosk, cards):
    start = relay.clock.now()
    _, order = _ordered(kiosk, cards("O-002"), [{"type": "juminhyo", "copies": 1}])
    oid = order["order_id"]
    docs = kiosk.post(f"/v1/orders/{oid}/documents", {}).body["documents"]
    payment = {"amount_received": order["total"], "change_given": 0}
    assert kiosk.post(f"/v1/orders/{oid}/payment", payment).status == 200
    relay.clock.set(start + timedelta(seconds=3600))  # the printer was slow; the kiosk reports late
    try:
        public = Kiosk(relay.public_url, None, ctx=kiosk.ctx)
        assert public.get(f"/v1/verify/{docs[0]['verification_code']}").body["valid"] is True
        result = kiosk.post(
            f"/v1/orders/{oid}/result",
            {"copies": [{"document_id": docs[0]["document_id"], "outcome": "printed"}]},
        )
        assert result.status == 200 and result.body["state"] == "completed"
    finally:
        relay.clock.set(start)


def test_the_centers_secrets_and_personal_data_are_owner_only(relay: RelayServer):
    data = relay.data_dir

    def mode(name: str) -> int:
        return stat.S_IMODE((data / name).stat().st_mode)

    assert mode(".") == 0o700
    assert {n: mode(n) for n in ("center", "jpki")} == {"center": 0o700, "jpki": 0o700}
    files = ("admin-token", "registry.sqlite", "ledger.sqlite", "center/center-ca.key")
    assert {n: mode(n) for n in files} == dict.fromkeys(files, 0o600)
    journals = [p for p in data.iterdir() if p.name.endswith(("-wal", "-shm"))]
    assert journals and all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in journals)
