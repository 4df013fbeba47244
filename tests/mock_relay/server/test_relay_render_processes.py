"""A center that renders in worker processes (``render_processes``): the same documents, bound and signed
the same way; a worker that dies costs one retryable answer, not the center."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from relay_server_helpers import Card, KeyPool, Kiosk, open_and_authenticate, signer_public_key, start_relay

from mock_relay.center import CenterConfig
from mock_relay.cli.cards import personalise_for
from mock_relay.documents.renderer import ProcessRenderer
from mock_relay.server import RelayServer


@pytest.fixture(scope="module")
def relay(tmp_path_factory: pytest.TempPathFactory, key_pool: KeyPool) -> Iterator[RelayServer]:
    server = start_relay(tmp_path_factory.mktemp("center"), key_pool, CenterConfig(render_processes=2))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def card_for(
    relay: RelayServer, tmp_path_factory: pytest.TempPathFactory, key_pool: KeyPool
) -> Callable[[str], Card]:
    def make(resident_id: str) -> Card:
        assert relay.center is not None
        path = tmp_path_factory.mktemp("cards") / f"{resident_id}.card"
        personalise_for(relay.center.jpki, relay.center.registry, resident_id, path, key_factory=key_pool)
        return Card(path)

    return make


def _order(kiosk: Kiosk, card: Card, items: list[dict[str, object]]) -> str:
    opened, auth = open_and_authenticate(kiosk, card)
    assert auth.status == 200, auth.body
    order = kiosk.post(f"/v1/sessions/{opened.body['session_id']}/orders", {"items": items})
    assert order.status == 201, order.body
    return str(order.body["order_id"])


def _text(pdf: bytes, tmp_path: Path, name: str) -> str:
    path = tmp_path / f"{name}.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(
        ["pdftotext", str(path), "-"], capture_output=True, text=True, timeout=30, check=True
    )
    return "".join(out.stdout.split())


def test_documents_from_worker_processes_are_bound_signed_and_readable(
    relay: RelayServer, kiosk: Kiosk, card_for: Callable[[str], Card], tmp_path: Path
) -> None:
    assert relay.center is not None and isinstance(relay.center.renderer, ProcessRenderer)
    resident = relay.center.registry.resident("C-001")
    assert resident is not None
    oid = _order(
        kiosk, card_for("C-001"), [{"type": "juminhyo", "copies": 2}, {"type": "inkan", "copies": 1}]
    )
    docs = kiosk.post(f"/v1/orders/{oid}/documents", {})
    assert docs.status == 200, docs.body
    key = signer_public_key(docs.body["signer_certificate"])
    ids = set()
    for env in docs.body["documents"]:
        pdf = base64.b64decode(env["pdf"])
        assert hashlib.sha256(pdf).hexdigest() == env["sha256"] == env["binding"]["sha256"]
        canonical = json.dumps(env["binding"], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        key.verify(base64.b64decode(env["signature"]), canonical.encode(), ec.ECDSA(hashes.SHA256()))
        text = _text(pdf, tmp_path, env["document_id"])
        assert env["document_id"] in text and env["verification_code"] in text
        assert resident.family_name in text
        ids.add(env["document_id"])
    assert len(ids) == 3
    assert [env["type"] for env in docs.body["documents"]] == ["juminhyo", "juminhyo", "inkan"]


def test_a_dead_worker_costs_one_retryable_answer(
    relay: RelayServer, kiosk: Kiosk, card_for: Callable[[str], Card]
) -> None:
    assert relay.center is not None
    renderer = relay.center.renderer
    assert isinstance(renderer, ProcessRenderer)
    oid = _order(kiosk, card_for("C-008"), [{"type": "juminhyo", "copies": 1}])
    for worker in list(renderer._pool._processes.values()):  # what a crash or the OOM killer would do
        worker.kill()
    failed = kiosk.post(f"/v1/orders/{oid}/documents", {})
    assert failed.status == 500 and failed.body["code"] == "internal_error" and failed.body["retryable"]
    retried = kiosk.post(f"/v1/orders/{oid}/documents", {})
    assert retried.status == 200, retried.body
    assert len(retried.body["documents"]) == 1


def test_render_processes_are_bounded_on_the_command_line(tmp_path: Path) -> None:
    from mock_relay.cli.main import main

    for bad in ("-1", "65", "two"):
        with pytest.raises(SystemExit) as exc:
            main(["serve", "--data", str(tmp_path / "c"), "--render-processes", bad])
        assert exc.value.code == 2
    assert not (tmp_path / "c").exists()
