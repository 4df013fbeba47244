"""本籍地 利用登録 at the center (route honseki_registration, POST …/honseki-registration, the 本籍地's delay,
refusals) and smartphone certificates (accepted per terminal, refused with form_not_accepted)."""

from __future__ import annotations

import dataclasses
import importlib.resources
import json
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
import yaml
from openapi_core import Config, OpenAPI
from openapi_core.testing import MockRequest, MockResponse
from relay_server_helpers import Card, KeyPool, Kiosk, Reply, open_and_authenticate, start_relay

from mock_relay.center import CenterConfig
from mock_relay.cli.cards import personalise_for
from mock_relay.model import JST, Refusal
from mock_relay.rules.menu import registration_issuer
from mock_relay.server import RelayServer


@pytest.fixture(scope="module")
def relay(tmp_path_factory: pytest.TempPathFactory, key_pool: KeyPool) -> Iterator[RelayServer]:
    """T-0002 accepts cards only; T-0001 (no entry) accepts every form."""
    config = CenterConfig(terminal_forms={"T-0002": frozenset({"card"})})
    server = start_relay(tmp_path_factory.mktemp("center"), key_pool, config)
    yield server
    server.stop()


def check_against_spec(path: str, body: dict[str, object], reply: Reply) -> None:
    """Raises unless ``reply`` is what mock_relay/openapi.yaml says POST ``path`` answers."""
    spec = yaml.safe_load(
        Path(str(importlib.resources.files("mock_relay").joinpath("openapi.yaml"))).read_text(
            encoding="utf-8"
        )
    )
    config = Config(extra_media_type_deserializers={"application/problem+json": json.loads})
    request = MockRequest(
        "https://127.0.0.1:8443",
        "post",
        path,
        data=json.dumps(body).encode(),
        headers={"Idempotency-Key": "k"},
    )
    ctype = reply.headers.get("content-type", "").split(";")[0]
    response = MockResponse(reply.raw, status_code=reply.status, content_type=ctype)
    OpenAPI.from_dict(spec, config=config).validate_response(request, response)


def register(kiosk: Kiosk, card: Card) -> tuple[int, dict[str, object]]:
    opened, auth = open_and_authenticate(kiosk, card, route="honseki_registration")
    assert auth.status == 200, auth.body
    assert auth.body["route"] == "honseki_registration" and auth.body["menu"] == []
    path = f"/v1/sessions/{opened.body['session_id']}/honseki-registration"
    reply = kiosk.post(path, {"confirmed": True})
    check_against_spec(path, {"confirmed": True}, reply)
    return reply.status, reply.body


def test_registration_then_pending_then_usable(relay: RelayServer, kiosk: Kiosk, cards) -> None:  # type: ignore[no-untyped-def]
    card = cards("C-006")  # 本籍 横浜市中区, not registered
    _, before = open_and_authenticate(kiosk, card, route="honseki")
    assert before.code == "not_registered_honseki"
    status, body = register(kiosk, card)
    assert relay.center is not None
    today = relay.center.clock.now().astimezone(JST).date()
    assert status == 201 and body["municipality"] == {"code": "141011", "name": "横浜市中区"}, body
    assert (body["filed_on"], body["usable_from"]) == (str(today), str(today + timedelta(days=1)))
    _, pending = open_and_authenticate(kiosk, card, route="honseki")
    assert pending.code == "registration_pending" and pending.status == 403
    _, again = open_and_authenticate(kiosk, card, route="honseki_registration")
    assert again.code == "registration_pending"
    assert relay.center is not None
    relay.center.clock.set(relay.center.clock.now() + timedelta(days=1))
    try:
        _, usable = open_and_authenticate(kiosk, card, route="honseki")
        assert usable.status == 200 and {m["type"] for m in usable.body["menu"]} >= {"koseki_zenbu"}
        _, done = open_and_authenticate(kiosk, card, route="honseki_registration")
        assert done.code == "honseki_already_registered"
    finally:
        relay.center.clock.set(relay.center.clock.now() - timedelta(days=1))


def test_registration_problems_match_the_spec(kiosk: Kiosk, cards) -> None:  # type: ignore[no-untyped-def]
    opened, _ = open_and_authenticate(kiosk, cards("O-004"), route="residence")
    path = f"/v1/sessions/{opened.body['session_id']}/honseki-registration"
    refused = kiosk.post(path, {"confirmed": True})
    assert refused.code == "session_closed"
    check_against_spec(path, {"confirmed": True}, refused)
    malformed = kiosk.post(path, {"confirmed": False})
    assert malformed.status == 400
    check_against_spec(path, {"confirmed": False}, malformed)


def test_registration_refusals(kiosk: Kiosk, cards) -> None:  # type: ignore[no-untyped-def]
    _, same = open_and_authenticate(kiosk, cards("C-001"), route="honseki_registration")
    assert same.code in ("honseki_same_as_residence", "no_koseki")
    _, not_participating = open_and_authenticate(kiosk, cards("Y-006"), route="honseki_registration")
    assert not_participating.code == "honseki_not_participating"
    opened, auth = open_and_authenticate(kiosk, cards("C-004"))  # a residence-route session cannot register
    assert auth.status == 200
    wrong = kiosk.post(f"/v1/sessions/{opened.body['session_id']}/honseki-registration", {"confirmed": True})
    assert wrong.code == "session_closed"


def test_registration_is_suspended_on_the_honseki_maintenance_day(relay: RelayServer) -> None:
    assert relay.center is not None
    registry = relay.center.registry
    resident = registry.resident("C-006")
    assert resident is not None and resident.koseki is not None
    resident = dataclasses.replace(
        resident, koseki=dataclasses.replace(resident.koseki, registration_date=None)
    )
    now = relay.center.clock.now()
    honseki = registry.municipality("141011")
    home = registry.municipality(resident.municipality_code)
    assert honseki is not None and home is not None

    class OneMunicipality:
        def municipality(self, _code: str) -> object:
            return dataclasses.replace(honseki, maintenance_days=(now.astimezone(JST).date(),))

    with pytest.raises(Refusal) as refused:
        registration_issuer(OneMunicipality(), resident, home, now)  # type: ignore[arg-type]
    assert refused.value.code == "maintenance"


def test_android_certificates_are_refused_where_the_terminal_takes_cards_only(
    relay: RelayServer, kiosk: Kiosk, kiosk2: Kiosk, key_pool: KeyPool, tmp_path: Path
) -> None:
    assert relay.center is not None
    path = tmp_path / "phone.json"
    personalise_for(
        relay.center.jpki, relay.center.registry, "C-004", path, key_factory=key_pool, form="android"
    )
    assert relay.center.registry.form_of_cert(_hash(path)) == "android"
    phone = Card(path)
    _, accepted = open_and_authenticate(kiosk, phone)
    assert accepted.status == 200, accepted.body
    _, refused = open_and_authenticate(kiosk2, phone)
    assert (refused.status, refused.code, refused.body["reason"]) == (403, "form_not_accepted", "use_card")


def _hash(path: Path) -> str:
    from firmware_sim.card.image import CardImage
    from mock_relay.jpki_check import cert_serial_hash

    return cert_serial_hash(int(CardImage.load(path).meta["auth_cert_serial"], 16))


def test_an_old_register_gets_the_form_column(tmp_path: Path) -> None:
    import sqlite3

    from mock_relay.registry.store import Registry

    db = tmp_path / "registry.sqlite"
    Registry(db).close()
    with sqlite3.connect(db) as conn:
        conn.execute("ALTER TABLE card_bindings DROP COLUMN form")
    registry = Registry(db)
    try:
        assert registry.form_of_cert("0" * 64) == "card"
        registry.bind_card("C-001", "1" * 64, "0A", form="iphone")
        assert registry.form_of_cert("1" * 64) == "iphone"
    finally:
        registry.close()


def test_registration_date_survives_in_the_register(relay: RelayServer) -> None:
    assert relay.center is not None
    updated = relay.center.registry.register_honseki("V-003", date(2030, 1, 2))
    assert updated.koseki is not None and updated.koseki.registration_date == date(2030, 1, 2)
    again = relay.center.registry.resident("V-003")
    assert (
        again is not None and again.koseki is not None and again.koseki.registration_date == date(2030, 1, 2)
    )
