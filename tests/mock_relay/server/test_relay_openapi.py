"""openapi.yaml stays true: every registered route is in the spec and vice versa, every answer of a
real transaction (and of refusals) validates against it, every problem code the server can send is
listed, and schemathesis fuzzes the live mTLS server (bounded)."""

from __future__ import annotations

import importlib.resources
import json
import re
import uuid
from pathlib import Path

import pytest
import requests
import schemathesis
import yaml
from hypothesis import HealthCheck, settings
from openapi_core import Config, OpenAPI
from openapi_core.testing import MockRequest, MockResponse
from relay_server_helpers import Kiosk, Reply, open_and_authenticate, transact
from schemathesis.specs.openapi import checks as oa_checks

import mock_relay
from mock_relay.app import build_api_app, build_public_app
from mock_relay.model import REFUSAL_CODES

SPEC_PATH = Path(str(importlib.resources.files("mock_relay").joinpath("openapi.yaml")))
SPEC = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))


def _spec_operations() -> set[tuple[str, str]]:
    return {(m.upper(), p) for p, item in SPEC["paths"].items() for m in item if m in ("get", "post")}


def _app_operations(relay) -> set[tuple[str, str]]:
    ops = set()
    for app in (build_api_app(relay.center), build_public_app(relay.center)):
        for route in app.router.routes():
            if route.method != "HEAD":
                ops.add((route.method, route.resource.canonical))
    return ops


def test_every_route_is_in_the_spec_and_back(relay):
    assert _app_operations(relay) == _spec_operations()


def test_operation_ids_name_the_routes(relay):
    names = {r.resource.name for app in (build_api_app(relay.center),) for r in app.router.routes()}
    spec_ids = {
        op["operationId"] for item in SPEC["paths"].values() for m, op in item.items() if m in ("get", "post")
    }
    assert names - {None} <= spec_ids


def test_every_problem_code_is_listed():
    listed = set(SPEC["x-error-codes"])
    assert REFUSAL_CODES <= listed
    source = "".join(p.read_text() for p in Path(mock_relay.__file__).parent.rglob("*.py"))
    raised = set(
        re.findall(
            r'(?:ApiProblem|problem_response|_unavailable|JpkiCheckError|LedgerConflict)\(\s*"([a-z0-9_]+)"',
            source,
        )
    )
    assert raised and raised <= listed, raised - listed


def _validate(
    openapi: OpenAPI,
    base: str,
    method: str,
    path: str,
    reply: Reply,
    *,
    body: bytes | None = None,
    query: dict[str, str] | None = None,
) -> None:
    request = MockRequest(
        base,
        method.lower(),
        path,
        args=query or {},
        data=body or b"{}",
        headers={"Idempotency-Key": "k"} if method == "POST" else {},
    )
    ctype = reply.headers.get("content-type", "").split(";")[0]
    openapi.validate_response(request, MockResponse(reply.raw, status_code=reply.status, content_type=ctype))


def test_a_transactions_answers_match_the_spec(relay, kiosk, cards):
    config = Config(extra_media_type_deserializers={"application/problem+json": json.loads})
    openapi = OpenAPI.from_dict(SPEC, config=config)
    base = "https://127.0.0.1:8443"
    r = transact(
        kiosk, cards("O-005"), [{"type": "juminhyo", "copies": 1}, {"type": "inkan", "copies": 1}], fail=1
    )
    sid, oid = r["open"].body["session_id"], r["order"].body["order_id"]
    for name, method, path in [
        ("open", "POST", "/v1/sessions"),
        ("auth", "POST", f"/v1/sessions/{sid}/authenticate"),
        ("order", "POST", f"/v1/sessions/{sid}/orders"),
        ("documents", "POST", f"/v1/orders/{oid}/documents"),
        ("payment", "POST", f"/v1/orders/{oid}/payment"),
        ("result", "POST", f"/v1/orders/{oid}/result"),
    ]:
        _validate(openapi, base, method, path, r[name])
    since = r["open"].body["expires_at"][:10] + "T00:00:00+09:00"
    _validate(
        openapi,
        base,
        "GET",
        "/v1/reconcile",
        kiosk.get(f"/v1/reconcile?since={since.replace('+', '%2B')}"),
        query={"since": since},
    )
    _validate(openapi, base, "GET", "/v1/health", kiosk.get("/v1/health"))
    _validate(
        openapi,
        base,
        "POST",
        "/v1/terminals/heartbeat",
        kiosk.post("/v1/terminals/heartbeat", {"app_version": "1", "devices": {"printer": "ok"}}),
    )
    public = Kiosk(relay.public_url, None, ctx=kiosk.ctx)
    code = r["documents"].body["documents"][0]["verification_code"]
    _validate(
        openapi, "https://127.0.0.1:8444", "GET", f"/v1/verify/{code}", public.get(f"/v1/verify/{code}")
    )
    # problems too
    _validate(
        openapi, base, "POST", f"/v1/orders/{oid}/documents", kiosk.post(f"/v1/orders/{oid}/documents", {})
    )
    _validate(
        openapi, base, "POST", "/v1/sessions/S-nope/cancel", kiosk.post("/v1/sessions/S-nope/cancel", {})
    )
    opened, refused = open_and_authenticate(kiosk, cards("C-003"))
    _validate(openapi, base, "POST", f"/v1/sessions/{opened.body['session_id']}/authenticate", refused)
    cancelled = kiosk.post(f"/v1/sessions/{opened.body['session_id']}/cancel", {})
    _validate(openapi, base, "POST", f"/v1/sessions/{opened.body['session_id']}/cancel", cancelled)


schema = schemathesis.openapi.from_path(SPEC_PATH)


@pytest.fixture(scope="module")
def mtls_session(relay, terminals) -> requests.Session:
    tdir = terminals("T-0900")
    session = requests.Session()
    session.cert = (str(tdir / "terminal.pem"), str(tdir / "terminal.key"))
    session.verify = str(tdir / "center-ca.pem")
    return session


@pytest.mark.slow
@schema.parametrize()
@settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck), database=None)
def test_schemathesis_fuzz(case, relay, mtls_session):
    base = relay.public_url if case.path.startswith("/v1/verify") else relay.api_url
    if case.headers and "Idempotency-Key" in case.headers:
        case.headers["Idempotency-Key"] = f"{case.headers['Idempotency-Key'][:60]}-{uuid.uuid4()}"
    case.call_and_validate(
        base_url=base,
        session=mtls_session,
        timeout=20,
        verify=mtls_session.verify,
        cert=mtls_session.cert,
        excluded_checks=[
            oa_checks.positive_data_acceptance,
            oa_checks.use_after_free,
            oa_checks.ensure_resource_availability,
            oa_checks.ignored_auth,
        ],
    )
