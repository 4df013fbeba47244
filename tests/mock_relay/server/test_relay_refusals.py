"""Refusals reach the kiosk as stable problem codes: eligibility rules with the seeded residents,
service hours, year-end closure, maintenance windows, and certificate checks."""

from __future__ import annotations

from datetime import timedelta

import pytest
from relay_server_helpers import open_and_authenticate

from mock_relay.model import JST


@pytest.mark.parametrize(
    ("resident", "code"),
    [("C-003", "under_15"), ("C-009", "moved_out"), ("Y-007", "deceased"), ("C-007", "support_measure")],
)
def test_person_level_refusals_at_authentication(kiosk, cards, resident, code):
    _, auth = open_and_authenticate(kiosk, cards(resident))
    assert auth.status == 403 and auth.code == code, auth.body
    assert auth.body["retryable"] is False and auth.body["reason"]
    assert "山田" not in auth.raw.decode() and "鈴木" not in auth.raw.decode()


@pytest.mark.parametrize(
    ("resident", "items", "code"),
    [
        ("C-002", [{"type": "inkan", "copies": 1}], "seal_abolished"),
        ("Y-009", [{"type": "juminhyo", "copies": 1}], "issued_today"),
        ("C-004", [{"type": "juminhyo", "copies": 99}], "copies_exceeded"),
        ("C-004", [{"type": "no_such_type", "copies": 1}], "type_not_offered"),
    ],
)
def test_order_level_refusals(kiosk, cards, resident, items, code):
    opened, auth = open_and_authenticate(kiosk, cards(resident))
    assert auth.status == 200, auth.body
    order = kiosk.post(f"/v1/sessions/{opened.body['session_id']}/orders", {"items": items})
    assert order.code == code, order.body
    assert order.status in (403, 422)


def test_honseki_route_needs_registration(kiosk, cards):
    _, auth = open_and_authenticate(kiosk, cards("C-006"), route="honseki")
    assert auth.code == "not_registered_honseki"
    _, ok = open_and_authenticate(kiosk, cards("C-005"), route="honseki")
    assert ok.status == 200 and ok.body["route"] == "honseki"
    assert ok.body["municipality"]["code"] != "131016"


def test_menu_carries_no_personal_data(kiosk, cards):
    _, auth = open_and_authenticate(kiosk, cards("C-001"))
    body = auth.body
    assert set(body) == {
        "session_id",
        "route",
        "resident_ref",
        "cert_serial_hash",
        "municipality",
        "menu",
        "expires_at",
    }
    text = auth.raw.decode()
    assert "山田" not in text and "208900447876" not in text and "C-00" not in text
    juminhyo = next(e for e in body["menu"] if e["type"] == "juminhyo")
    assert juminhyo["fee"] > 0 and juminhyo["max_copies"] >= 1 and juminhyo["available_now"] is True


def test_expired_certificate_is_refused(kiosk, cards):
    _, auth = open_and_authenticate(kiosk, cards("C-004", expired=True))
    assert auth.code == "certificate_expired" and auth.body["reason"] == "card_expired"


def test_unbound_card_is_refused(relay, kiosk, cards, tmp_path, key_pool):
    from relay_server_helpers import Card

    from firmware_sim.personalise import personalise_card
    from mock_relay.cli.cards import holder_for

    resident = relay.center.registry.resident("C-004")
    path = tmp_path / "unbound.card"
    personalise_card(path, pki=relay.center.jpki, holder=holder_for(resident), key_factory=key_pool)
    _, auth = open_and_authenticate(kiosk, Card(path))
    assert auth.code == "card_not_bound"


def _at(relay, moment):
    relay.clock.set(moment)


@pytest.mark.parametrize(
    ("shift", "code"),
    [(timedelta(hours=13, minutes=30), "out_of_hours"), (None, "year_end_closure")],
)
def test_hours_and_closure(relay, kiosk, shift, code):
    start = relay.clock.now()
    if shift is None:
        moment = start.replace(month=12, day=30, year=start.year)
    else:
        moment = start + shift  # 23:30 JST
    relay.clock.set(moment)
    try:
        reply = kiosk.post("/v1/sessions", {})
        health = kiosk.get("/v1/health").body
    finally:
        relay.clock.set(start)
    assert reply.status == 503 and reply.code == code and reply.body["retryable"] is False
    assert health["in_service_hours"] is False and health["status"] == "closed"


def test_maintenance_window(relay, kiosk):
    now = relay.clock.now()
    relay.maintenance.add(now - timedelta(minutes=1), now + timedelta(hours=1))
    try:
        reply = kiosk.post("/v1/sessions", {})
        assert reply.code == "maintenance" and reply.status == 503
        assert kiosk.get("/v1/health").body["status"] == "maintenance"
    finally:
        relay.maintenance.clear()
    assert kiosk.post("/v1/sessions", {}).status == 201
    assert relay.clock.now().tzinfo is not None and relay.clock.now().utcoffset() == JST.utcoffset(None)


def test_members_are_chosen_by_per_session_refs(kiosk, cards):
    opened, auth = open_and_authenticate(kiosk, cards("C-004"))
    entry = next(e for e in auth.body["menu"] if e["type"] == "juminhyo")
    members = next(o for o in entry["options"] if o["name"] == "members")
    assert all(v.startswith("M-") for v in members["values"]) and len(members["values"]) >= 2
    chosen = members["values"][:2]
    sid = opened.body["session_id"]
    order = kiosk.post(
        f"/v1/sessions/{sid}/orders",
        {"items": [{"type": "juminhyo", "copies": 1, "options": {"scope": "selected", "members": chosen}}]},
    )
    assert order.status == 201, order.body
    assert sorted(order.body["items"][0]["options"]["members"]) == sorted(chosen)
    opened2, _ = open_and_authenticate(kiosk, cards("C-004"))
    stale = kiosk.post(
        f"/v1/sessions/{opened2.body['session_id']}/orders",
        {"items": [{"type": "juminhyo", "copies": 1, "options": {"scope": "selected", "members": chosen}}]},
    )
    assert stale.status == 422, stale.body  # another session's refs name nobody here
