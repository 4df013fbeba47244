"""Idempotency-Key semantics and durability of the ledger across a server restart."""

from __future__ import annotations

import base64
import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from relay_server_helpers import Card, Kiosk, open_and_authenticate, start_relay

from mock_relay.cli.cards import personalise_for
from mock_relay.ledger import TRANSACTION_HOOK, Ledger
from mock_relay.routes import idempotency


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
    """Stored answers in the ledger that carry a PDF: as sent (base64 of "%PDF-" starts with "JVBER") or
    packed (the PDF itself)."""
    row = relay.center.ledger.query_one(
        "SELECT COUNT(*) AS n FROM idempotency WHERE instr(body, ?) > 0 OR instr(body, ?) > 0",
        (b"JVBERi0", b"%PDF-"),
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


def _write_transactions(statements: list[str]) -> list[list[str]]:
    """The ledger's write transactions among traced ``statements``: each BEGIN … COMMIT/ROLLBACK, and
    each write statement outside one (SQLite commits a lone statement by itself)."""
    out: list[list[str]] = []
    current: list[str] | None = None
    for sql in (s.strip() for s in statements):
        verb = sql.split(None, 1)[0].upper()
        if verb == "BEGIN":
            current = [sql]
        elif current is not None:
            current.append(sql)
            if verb in ("COMMIT", "ROLLBACK"):
                out.append(current)
                current = None
        elif verb in ("INSERT", "UPDATE", "DELETE", "REPLACE"):
            out.append([sql])
    return out


@contextlib.contextmanager
def _traced(relay) -> Iterator[list[str]]:
    """Every statement the center's ledger connection runs meanwhile (the center serves in this process)."""
    seen: list[str] = []
    db = relay.center.ledger._db
    db.set_trace_callback(seen.append)
    try:
        yield seen
    finally:
        db.set_trace_callback(None)


def test_a_folded_request_claims_and_answers_in_its_own_write_transaction(relay, kiosk, cards):
    opened, _ = open_and_authenticate(kiosk, cards("V-003"))
    sid = opened.body["session_id"]
    key = str(uuid.uuid4())
    with _traced(relay) as seen:
        order = kiosk.post(
            f"/v1/sessions/{sid}/orders", {"items": [{"type": "juminhyo", "copies": 1}]}, key=key
        )
    assert order.status == 201, order.body
    writes = _write_transactions(seen)
    assert len(writes) == 1, writes  # no claim and no stored answer of their own
    (only,) = writes
    assert only[0].upper().startswith("BEGIN IMMEDIATE") and only[-1].upper() == "COMMIT"
    assert any("INTO orders" in s for s in only) and any("INTO idempotency" in s for s in only)
    stored = relay.center.ledger.query_one(
        "SELECT status, body, claimed_by FROM idempotency WHERE key=?", (key,)
    )
    assert stored["status"] == 201 and bytes(stored["body"]) == order.raw and stored["claimed_by"] is None
    again = kiosk.post(f"/v1/sessions/{sid}/orders", {"items": [{"type": "juminhyo", "copies": 1}]}, key=key)
    assert again.raw == order.raw and again.headers.get("idempotent-replayed") == "true"


def test_a_failure_inside_a_folded_transaction_leaves_neither_claim_nor_writes(relay, kiosk, cards):
    opened, _ = open_and_authenticate(kiosk, cards("V-001"))
    sid = opened.body["session_id"]
    order = kiosk.post(f"/v1/sessions/{sid}/orders", {"items": [{"type": "juminhyo", "copies": 1}]}).body
    oid = order["order_id"]
    assert kiosk.post(f"/v1/orders/{oid}/documents", {}).status == 200
    key, payment = str(uuid.uuid4()), {"amount_received": order["total"], "change_given": 0}
    db = relay.center.ledger._db
    # The payment's row fails after the order's state changed, in the same transaction (a disk error would).
    db.execute(
        "CREATE TEMP TRIGGER payment_fails BEFORE INSERT ON payments BEGIN SELECT RAISE(ABORT, 'x'); END"
    )
    try:
        failed = kiosk.post(f"/v1/orders/{oid}/payment", payment, key=key)
    finally:
        db.execute("DROP TRIGGER payment_fails")
    assert failed.status == 500
    ledger = relay.center.ledger
    assert ledger.query_one("SELECT * FROM idempotency WHERE key=?", (key,)) is None  # no claim left
    assert ledger.query_one("SELECT state FROM orders WHERE order_id=?", (oid,))["state"] == "issued"
    retried = kiosk.post(f"/v1/orders/{oid}/payment", payment, key=key)  # runs afresh, not a replay
    assert retried.status == 200 and "idempotent-replayed" not in retried.headers


def test_the_second_writer_under_one_key_rolls_back_whole(tmp_path: Path):
    ledger = Ledger(tmp_path / "ledger.sqlite")
    first = idempotency._Slot("T-0001", "k", "heartbeat", "d", None, "2026-01-05T10:00:00+09:00")
    second = idempotency._Slot("T-0001", "k", "heartbeat", "d", None, "2026-01-05T10:00:00+09:00")
    token = TRANSACTION_HOOK.set(first)
    try:
        ledger.heartbeat("T-0001", "first", {})
    finally:
        TRANSACTION_HOOK.reset(token)
    token = TRANSACTION_HOOK.set(second)
    try:
        with pytest.raises(idempotency.KeyTaken):
            ledger.heartbeat("T-0001", "second", {})
    finally:
        TRANSACTION_HOOK.reset(token)
    assert first.claimed and not second.claimed
    assert ledger.query_one("SELECT at FROM heartbeats WHERE terminal_id='T-0001'", ())["at"] == "first"
    row = ledger.query_one("SELECT status, claimed_by FROM idempotency WHERE key='k'", ())
    assert row["status"] == idempotency.PENDING and row["claimed_by"] == os.getpid()
    ledger.close()


def test_a_heartbeat_and_its_answer_are_one_write_transaction(relay, kiosk):
    key = str(uuid.uuid4())
    with _traced(relay) as seen:
        beat = kiosk.post("/v1/terminals/heartbeat", {}, key=key)
    assert beat.status == 200, beat.body
    writes = _write_transactions(seen)
    assert len(writes) == 1 and any("heartbeats" in s for s in writes[0]), writes
    again = kiosk.post("/v1/terminals/heartbeat", {}, key=key)
    assert again.raw == beat.raw and again.headers.get("idempotent-replayed") == "true"


def test_the_documents_answer_is_stored_with_its_pdfs_raw_and_replayed_as_sent(relay, kiosk, cards):
    opened, _ = open_and_authenticate(kiosk, cards("V-003"))
    order = kiosk.post(
        f"/v1/sessions/{opened.body['session_id']}/orders", {"items": [{"type": "juminhyo", "copies": 2}]}
    ).body
    key = str(uuid.uuid4())
    docs = kiosk.post(f"/v1/orders/{order['order_id']}/documents", {}, key=key)
    assert docs.status == 200 and len(docs.body["documents"]) == 2
    row = relay.center.ledger.query_one("SELECT body, body_form FROM idempotency WHERE key=?", (key,))
    stored = bytes(row["body"])
    assert row["body_form"] == idempotency.BODY_PACKED and b"JVBERi0" not in stored
    assert stored.count(b"%PDF-") == 2 and len(stored) < 0.8 * len(docs.raw)  # a quarter less than base64
    again = kiosk.post(f"/v1/orders/{order['order_id']}/documents", {}, key=key)
    assert again.raw == docs.raw and again.headers.get("idempotent-replayed") == "true"


@pytest.mark.parametrize("raws", [(), (b"",), (b"%PDF-1.4 \x00\xff" * 50, b"x"), (b"a", b"b", b"c")])
def test_a_spliced_body_packs_and_unpacks_to_itself(raws: tuple[bytes, ...]) -> None:
    texts = tuple(f'{{"n":{i}}}"'.encode() for i in range(len(raws) + 1))
    spliced = idempotency.Spliced(texts, raws)
    assert idempotency.Spliced.unpack(spliced.packed()) == spliced
    sent = [texts[0]]
    for raw, text in zip(raws, texts[1:], strict=True):
        sent += (base64.b64encode(raw), text)
    assert spliced.joined() == b"".join(sent)
    for broken in (spliced.packed()[:-1], b"nope"):
        with pytest.raises(ValueError):
            idempotency.Spliced.unpack(broken)


def test_a_whole_transaction_is_seven_ledger_write_transactions(relay, kiosk, cards):
    """open, authenticate (the challenge taken, then the session authenticated), order, documents, payment,
    result: each key claimed and answered inside them (six claims and six answers of their own before)."""
    with _traced(relay) as seen:
        opened, auth = open_and_authenticate(kiosk, cards("V-001"))
        sid = opened.body["session_id"]
        order = kiosk.post(f"/v1/sessions/{sid}/orders", {"items": [{"type": "juminhyo", "copies": 1}]}).body
        oid = order["order_id"]
        docs = kiosk.post(f"/v1/orders/{oid}/documents", {})
        paid = kiosk.post(f"/v1/orders/{oid}/payment", {"amount_received": order["total"], "change_given": 0})
        copies = [{"document_id": d["document_id"], "outcome": "printed"} for d in docs.body["documents"]]
        result = kiosk.post(f"/v1/orders/{oid}/result", {"copies": copies})
    assert (auth.status, docs.status, paid.status, result.status) == (200, 200, 200, 200)
    writes = _write_transactions(seen)
    assert len(writes) == 7, [w[:2] for w in writes]
    assert all(any("INTO idempotency" in s or "UPDATE idempotency" in s for s in w) for w in writes)
