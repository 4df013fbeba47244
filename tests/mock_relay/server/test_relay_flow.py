"""A whole transaction through the real server: envelope, binding, signature, ledger states."""

from __future__ import annotations

import base64
import hashlib
import json
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from relay_server_helpers import Kiosk, open_and_authenticate, signer_public_key, transact

# Same-day reissue is refused (issued_today), so each test prints a (resident, type) pair once.


def test_complete_transaction_binds_every_document(kiosk, cards):
    card = cards("C-001")
    r = transact(kiosk, card, [{"type": "juminhyo", "copies": 2}, {"type": "inkan", "copies": 1}])
    assert r["result"].status == 200, r["result"].body
    assert r["result"].body == {
        "order_id": r["order"].body["order_id"],
        "state": "completed",
        "printed": 3,
        "failed": 0,
        "refund_due": 0,
    }
    docs = r["documents"].body
    key = signer_public_key(docs["signer_certificate"])
    assert len(docs["documents"]) == 3
    for env in docs["documents"]:
        pdf = base64.b64decode(env["pdf"])
        assert hashlib.sha256(pdf).hexdigest() == env["sha256"] == env["binding"]["sha256"]
        b = env["binding"]
        assert b["terminal_id"] == "T-0001"
        assert b["session_id"] == r["open"].body["session_id"]
        assert b["order_id"] == r["order"].body["order_id"]
        assert b["cert_serial_hash"] == r["auth"].body["cert_serial_hash"]
        canonical = json.dumps(b, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
        key.verify(base64.b64decode(env["signature"]), canonical, ec.ECDSA(hashes.SHA256()))


def test_failed_copies_are_refunded_and_voided(relay, kiosk, cards):
    r = transact(kiosk, cards("C-008"), [{"type": "juminhyo", "copies": 3}], fail=2)
    unit = r["order"].body["items"][0]["unit_fee"]
    assert r["result"].body["state"] == "partially_failed"
    assert r["result"].body["refund_due"] == 2 * unit
    public = Kiosk(relay.public_url, None, ctx=kiosk.ctx)
    states = [
        public.get(f"/v1/verify/{d['verification_code']}").body for d in r["documents"].body["documents"]
    ]
    assert [(s["valid"], s["state"]) for s in states] == [
        (True, "printed"),
        (False, "failed"),
        (False, "failed"),
    ]
    assert all("name" not in s and "address" not in s for s in states)


def test_reconcile_shows_this_terminals_orders_only(kiosk, kiosk2, cards):
    r = transact(kiosk, cards("O-002"), [{"type": "juminhyo", "copies": 1}])
    since = r["open"].body["expires_at"][:10] + "T00:00:00+09:00"
    mine = kiosk.get(f"/v1/reconcile?since={since}").body
    assert r["order"].body["order_id"] in [o["order_id"] for o in mine["orders"]]
    entry = next(o for o in mine["orders"] if o["order_id"] == r["order"].body["order_id"])
    assert entry["state"] == "completed" and entry["result_reported"] and entry["paid"] == entry["total"]
    theirs = kiosk2.get(f"/v1/reconcile?since={since}").body
    assert theirs["terminal_id"] == "T-0002" and r["order"].body["order_id"] not in [
        o["order_id"] for o in theirs["orders"]
    ]
    assert kiosk.get("/v1/reconcile").code == "bad_request"


def test_another_terminal_can_never_reach_a_session_or_order(kiosk, kiosk2, cards):
    card = cards("C-004")
    opened, auth = open_and_authenticate(kiosk, card)
    assert auth.status == 200
    sid = opened.body["session_id"]
    assert kiosk2.post(f"/v1/sessions/{sid}/orders", {"items": [{"type": "juminhyo", "copies": 1}]}).code == (
        "session_not_found"
    )
    order = kiosk.post(f"/v1/sessions/{sid}/orders", {"items": [{"type": "juminhyo", "copies": 1}]})
    oid = order.body["order_id"]
    assert kiosk2.post(f"/v1/orders/{oid}/documents", {}).code == "order_not_found"
    assert kiosk2.post(f"/v1/sessions/{sid}/cancel", {}).code == "session_not_found"
    assert kiosk.post(f"/v1/orders/{oid}/documents", {}).status == 200


def test_a_signature_for_one_session_does_not_open_another(kiosk, kiosk2, cards):
    card = cards("C-004")
    first = kiosk.post("/v1/sessions", {}).body
    second = kiosk.post("/v1/sessions", {}).body
    # signed for the first session, presented on the second
    replay = kiosk.post(f"/v1/sessions/{second['session_id']}/authenticate", card.auth_body(first, "T-0001"))
    assert replay.status == 403 and replay.code == "signature_invalid"
    # signed for this session but another terminal id
    third = kiosk.post("/v1/sessions", {}).body
    wrong_terminal = kiosk.post(
        f"/v1/sessions/{third['session_id']}/authenticate", card.auth_body(third, "T-0002")
    )
    assert wrong_terminal.code == "signature_invalid"
    # a failed attempt consumed the challenge: a correct signature now is refused
    again = kiosk.post(f"/v1/sessions/{third['session_id']}/authenticate", card.auth_body(third, "T-0001"))
    assert again.code == "challenge_reused"


def test_challenge_is_single_use_and_expires(relay, kiosk, cards):
    card = cards("C-004")
    opened, auth = open_and_authenticate(kiosk, card)
    assert auth.status == 200
    sid = opened.body["session_id"]
    replayed = kiosk.post(f"/v1/sessions/{sid}/authenticate", card.auth_body(opened.body, "T-0001"))
    assert replayed.code in ("session_closed", "challenge_reused") and replayed.status in (403, 409)
    late = kiosk.post("/v1/sessions", {}).body
    start = relay.clock.now()
    relay.clock.set(start + timedelta(seconds=121))
    try:
        expired = kiosk.post(
            f"/v1/sessions/{late['session_id']}/authenticate", card.auth_body(late, "T-0001")
        )
    finally:
        relay.clock.set(start)
    assert expired.code == "challenge_expired" and expired.body["retryable"] is False


def test_cancel_voids_issued_documents_and_closes_the_session(relay, kiosk, cards):
    opened, _ = open_and_authenticate(kiosk, cards("C-004"))
    sid = opened.body["session_id"]
    oid = kiosk.post(f"/v1/sessions/{sid}/orders", {"items": [{"type": "juminhyo", "copies": 1}]}).body[
        "order_id"
    ]
    docs = kiosk.post(f"/v1/orders/{oid}/documents", {}).body["documents"]
    cancelled = kiosk.post(f"/v1/sessions/{sid}/cancel", {"reason": "resident"})
    assert cancelled.body == {"session_id": sid, "state": "cancelled", "voided_documents": 1, "refund_due": 0}
    public = Kiosk(relay.public_url, None, ctx=kiosk.ctx)
    assert public.get(f"/v1/verify/{docs[0]['verification_code']}").body["state"] == "void"
    assert (
        kiosk.post(f"/v1/orders/{oid}/payment", {"amount_received": 500, "change_given": 0}).code
        == "order_state"
    )


def test_documents_are_issued_once_and_payment_must_add_up(kiosk, cards):
    opened, _ = open_and_authenticate(kiosk, cards("C-004"))
    sid = opened.body["session_id"]
    order = kiosk.post(f"/v1/sessions/{sid}/orders", {"items": [{"type": "juminhyo", "copies": 1}]}).body
    oid = order["order_id"]
    assert kiosk.post(f"/v1/sessions/{sid}/orders", {"items": [{"type": "juminhyo", "copies": 1}]}).code == (
        "order_exists"
    )
    assert kiosk.post(f"/v1/orders/{oid}/payment", {"amount_received": 1000, "change_given": 0}).code == (
        "order_state"
    )
    docs = kiosk.post(f"/v1/orders/{oid}/documents", {}).body["documents"]
    assert kiosk.post(f"/v1/orders/{oid}/documents", {}).code == "documents_already_issued"
    short = kiosk.post(
        f"/v1/orders/{oid}/payment", {"amount_received": order["total"] - 10, "change_given": 0}
    )
    assert short.code == "payment_mismatch"
    paid = kiosk.post(f"/v1/orders/{oid}/payment", {"amount_received": order["total"], "change_given": 0})
    assert paid.status == 200
    partial = kiosk.post(f"/v1/orders/{oid}/result", {"copies": []})
    assert partial.code == "bad_request"
    stranger = kiosk.post(
        f"/v1/orders/{oid}/result", {"copies": [{"document_id": "D-x", "outcome": "printed"}]}
    )
    assert stranger.code == "result_mismatch"
    ok = kiosk.post(
        f"/v1/orders/{oid}/result",
        {"copies": [{"document_id": docs[0]["document_id"], "outcome": "failed", "error": "jam"}]},
    )
    assert ok.body["state"] == "failed" and ok.body["refund_due"] == order["total"]


def test_concurrent_transactions_never_mix(relay, terminals, cards):
    """Many kiosks at once (the 2023 incidents): every document is bound to its own transaction."""
    residents = ["Y-002", "S-002", "S-005", "S-009", "O-005", "V-002"]  # each prints 住民票 once today
    kiosks = [Kiosk(relay.api_url, terminals(f"T-01{i:02d}")) for i in range(len(residents))]
    for rid in residents:
        cards(rid)

    def one(i: int) -> tuple[int, dict]:
        return i, transact(kiosks[i], cards(residents[i]), [{"type": "juminhyo", "copies": 2}])

    with ThreadPoolExecutor(len(residents)) as pool:
        results = list(pool.map(one, range(len(residents))))
    seen: set[str] = set()
    for i, r in results:
        for env in r["documents"].body["documents"]:
            b = env["binding"]
            assert b["terminal_id"] == f"T-01{i:02d}"
            assert b["session_id"] == r["open"].body["session_id"]
            assert b["cert_serial_hash"] == r["auth"].body["cert_serial_hash"]
            assert env["document_id"] not in seen
            seen.add(env["document_id"])
