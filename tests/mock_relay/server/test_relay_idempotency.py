"""Idempotency-Key semantics and durability of the ledger across a server restart."""

from __future__ import annotations

import uuid
from pathlib import Path

from relay_server_helpers import Card, Kiosk, open_and_authenticate, start_relay

from mock_relay.cli.cards import personalise_for


def test_every_post_needs_a_key(kiosk):
    reply = kiosk.request("POST", "/v1/sessions", {})
    assert reply.status == 400 and reply.code == "idempotency_key_missing"


def test_same_key_same_body_returns_the_stored_answer(kiosk, cards):
    key = str(uuid.uuid4())
    first = kiosk.post("/v1/sessions", {}, key=key)
    again = kiosk.post("/v1/sessions", {}, key=key)
    assert first.status == again.status == 201
    assert again.raw == first.raw and again.headers.get("idempotent-replayed") == "true"
    assert "idempotent-replayed" not in first.headers


def test_same_key_different_body_or_route_is_a_conflict(kiosk):
    key = str(uuid.uuid4())
    assert kiosk.post("/v1/sessions", {}, key=key).status == 201
    other_body = kiosk.post("/v1/sessions", {"language": "en"}, key=key)
    assert other_body.status == 422 and other_body.code == "idempotency_conflict"
    other_route = kiosk.post("/v1/terminals/heartbeat", {}, key=key)
    assert other_route.code == "idempotency_conflict"


def test_keys_are_scoped_by_terminal(kiosk, kiosk2):
    key = str(uuid.uuid4())
    mine = kiosk.post("/v1/sessions", {}, key=key)
    theirs = kiosk2.post("/v1/sessions", {}, key=key)
    assert theirs.status == 201 and theirs.body["session_id"] != mine.body["session_id"]
    assert theirs.body["terminal_id"] == "T-0002"


def test_documents_replay_is_byte_identical_and_issues_nothing_new(relay, kiosk, cards):
    opened, _ = open_and_authenticate(kiosk, cards("S-001"))
    oid = kiosk.post(
        f"/v1/sessions/{opened.body['session_id']}/orders", {"items": [{"type": "juminhyo", "copies": 1}]}
    ).body["order_id"]
    key = str(uuid.uuid4())
    before = relay.center.ledger.counts()["documents"]
    first = kiosk.post(f"/v1/orders/{oid}/documents", {}, key=key)
    again = kiosk.post(f"/v1/orders/{oid}/documents", {}, key=key)
    assert first.status == 200 and again.raw == first.raw
    assert relay.center.ledger.counts()["documents"] == before + 1


def test_answers_and_ledger_survive_a_restart(tmp_path: Path, key_pool):
    server = start_relay(tmp_path / "center", key_pool)
    try:
        tdir = server.center.center_pki.issue_terminal("T-0001", tmp_path / "t")
        personalise_for(
            server.center.jpki, server.center.registry, "C-001", tmp_path / "c.card", key_factory=key_pool
        )
        kiosk, card = Kiosk(server.api_url, tdir), Card(tmp_path / "c.card")
        opened, auth = open_and_authenticate(kiosk, card)
        assert auth.status == 200
        key = str(uuid.uuid4())
        order = kiosk.post(
            f"/v1/sessions/{opened.body['session_id']}/orders",
            {"items": [{"type": "inkan", "copies": 1}]},
            key=key,
        )
        assert order.status == 201
        since = opened.body["expires_at"][:10] + "T00:00:00+09:00"
        clock_at = server.clock.now()
    finally:
        server.stop()
    again = start_relay(tmp_path / "center", key_pool)
    try:
        again.clock.set(clock_at)
        kiosk = Kiosk(again.api_url, tdir)
        replay = kiosk.post(
            f"/v1/sessions/{opened.body['session_id']}/orders",
            {"items": [{"type": "inkan", "copies": 1}]},
            key=key,
        )
        assert replay.raw == order.raw and replay.headers.get("idempotent-replayed") == "true"
        orders = kiosk.get(f"/v1/reconcile?since={since}").body["orders"]
        assert [o["order_id"] for o in orders] == [order.body["order_id"]]
        assert orders[0]["state"] == "priced"
        docs = kiosk.post(f"/v1/orders/{order.body['order_id']}/documents", {})
        assert docs.status == 200, docs.body
    finally:
        again.stop()


def _stored_pdfs(relay) -> int:
    """Stored answers in the ledger that carry a PDF (base64 of "%PDF-" starts with "JVBER")."""
    row = relay.center.ledger.query_one(
        "SELECT COUNT(*) AS n FROM idempotency WHERE instr(body, ?) > 0", (b"JVBERi0",)
    )
    return int(row["n"])


def test_the_documents_answer_is_kept_until_its_order_ends_and_no_longer(relay, kiosk, cards):
    opened, _ = open_and_authenticate(kiosk, cards("V-002"))
    order = kiosk.post(
        f"/v1/sessions/{opened.body['session_id']}/orders", {"items": [{"type": "juminhyo", "copies": 1}]}
    ).body
    oid, key = order["order_id"], str(uuid.uuid4())
    before = _stored_pdfs(relay)
    docs = kiosk.post(f"/v1/orders/{oid}/documents", {}, key=key)
    assert docs.status == 200 and _stored_pdfs(relay) == before + 1  # a lost answer can still be asked again
    paid = kiosk.post(f"/v1/orders/{oid}/payment", {"amount_received": order["total"], "change_given": 0})
    assert paid.status == 200, paid.body
    copies = [{"document_id": d["document_id"], "outcome": "printed"} for d in docs.body["documents"]]
    assert kiosk.post(f"/v1/orders/{oid}/result", {"copies": copies}).status == 200
    assert _stored_pdfs(relay) == before  # the order ended: the PDFs are gone from the center's books
    late = kiosk.post(f"/v1/orders/{oid}/documents", {}, key=key)
    assert late.status == 409 and late.code == "documents_already_issued"


def test_a_cancelled_orders_documents_answer_is_deleted(relay, kiosk, cards):
    opened, _ = open_and_authenticate(kiosk, cards("V-001"))
    sid = opened.body["session_id"]
    oid = kiosk.post(f"/v1/sessions/{sid}/orders", {"items": [{"type": "juminhyo", "copies": 1}]}).body[
        "order_id"
    ]
    before = _stored_pdfs(relay)
    assert kiosk.post(f"/v1/orders/{oid}/documents", {}).status == 200
    assert _stored_pdfs(relay) == before + 1
    assert kiosk.post(f"/v1/sessions/{sid}/cancel", {}).status == 200
    assert _stored_pdfs(relay) == before
