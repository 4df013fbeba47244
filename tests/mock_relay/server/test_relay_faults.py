"""Operator faults: injected errors, latency, dropped connections (before and after the commit)."""

from __future__ import annotations

import http.client
import time
import uuid

import pytest
from relay_server_helpers import open_and_authenticate

from mock_relay.faults import CenterClock, FaultError, FaultRule, Faults


def test_error_fault_is_retryable_and_counted(relay, kiosk):
    relay.faults.add(FaultRule(kind="error", route="openSession", status=502, count=1))
    hit = kiosk.post("/v1/sessions", {})
    assert hit.status == 502 and hit.code == "injected_fault" and hit.body["retryable"] is True
    assert kiosk.post("/v1/sessions", {}).status == 201
    assert relay.faults.rules() == ()


def test_faults_match_terminal(relay, kiosk, kiosk2):
    relay.faults.add(FaultRule(kind="error", terminal="T-0002"))
    try:
        assert kiosk.post("/v1/sessions", {}).status == 201
        assert kiosk2.post("/v1/sessions", {}).code == "injected_fault"
    finally:
        relay.faults.clear()


def test_latency_fault_delays(relay, kiosk):
    relay.faults.add(FaultRule(kind="latency", route="health", delay_s=0.4, count=1))
    start = time.monotonic()
    assert kiosk.get("/v1/health").status == 200
    assert time.monotonic() - start >= 0.4


def test_drop_closes_without_an_answer(relay, kiosk):
    relay.faults.add(FaultRule(kind="drop", route="openSession", count=1))
    with pytest.raises((http.client.RemoteDisconnected, ConnectionResetError, http.client.IncompleteRead)):
        kiosk.post("/v1/sessions", {})


def test_answer_lost_after_commit_is_recovered_with_the_same_key(relay, kiosk, cards):
    opened, auth = open_and_authenticate(kiosk, cards("S-004"))
    assert auth.status == 200
    relay.faults.add(FaultRule(kind="drop_after", route="createOrder", count=1))
    key = str(uuid.uuid4())
    body = {"items": [{"type": "juminhyo", "copies": 1}]}
    path = f"/v1/sessions/{opened.body['session_id']}/orders"
    with pytest.raises((http.client.RemoteDisconnected, ConnectionResetError, http.client.IncompleteRead)):
        kiosk.post(path, body, key=key)
    retried = kiosk.post(path, body, key=key)
    assert retried.status == 201 and retried.headers.get("idempotent-replayed") == "true"
    assert kiosk.post(path, body).code == "order_exists"  # a new key does not make a second order


def test_admin_http_routes_need_the_token(relay):
    import json
    import urllib.error
    import urllib.request

    req = urllib.request.Request(f"{relay.admin_url}/admin/faults", method="GET")
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req, timeout=10)
    assert err.value.code == 401
    req = urllib.request.Request(
        f"{relay.admin_url}/admin/faults",
        method="POST",
        data=json.dumps({"kind": "nope"}).encode(),
        headers={"Authorization": f"Bearer {relay.center.admin_token}"},
    )
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req, timeout=10)
    assert err.value.code == 400


def test_rules_and_clock_validate():
    with pytest.raises(FaultError):
        Faults().add(FaultRule(kind="error", status=200))
    with pytest.raises(FaultError):
        FaultRule.from_json({"kind": "latency", "colour": "red"})
    clock = CenterClock()
    from datetime import datetime

    with pytest.raises(FaultError):
        clock.set(datetime(2026, 12, 1, 10, 0))
    frozen = datetime.fromisoformat("2026-12-01T10:00:00+09:00")
    clock.set(frozen, frozen=True)
    assert clock.now() == frozen and clock.describe()["frozen"] is True
