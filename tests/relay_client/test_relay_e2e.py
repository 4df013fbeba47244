"""End to end: IssuanceClient against the real mock center over mutual TLS, cards signing via reader.jpki.

One center per module; cards and terminal certificates are made once and shared.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import requests
from e2e_helpers import (
    Center,
    authenticate,
    issue,
    items_of,
    refusal_code,
    service_time,
    start_center,
)

from mock_relay.cli.cards import revoke_card
from mock_relay.faults import JST, FaultRule
from relay_client import (
    CenterTlsError,
    CenterUnavailable,
    CopyOutcome,
    IssuanceClient,
    OrderItem,
    RetryPolicy,
    auth_message,
)
from relay_client.pdf import count_pages

pytestmark = pytest.mark.slow
SINCE = datetime(2020, 1, 1, tzinfo=JST)


@pytest.fixture(scope="module")
def center(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Center]:
    c = start_center(tmp_path_factory.mktemp("e2e"))
    yield c
    c.close()


_DAYS = itertools.count(1)


@pytest.fixture(autouse=True)
def _reset(center: Center) -> Iterator[None]:
    center.server.clock.set(service_time(next(_DAYS)))
    yield
    center.server.faults.clear()
    center.server.maintenance.clear()


RESIDENCE_TYPES = [
    "juminhyo",
    "juminhyo_kisai",
    "inkan",
    "koseki_zenbu",
    "koseki_kojin",
    "fuhyo",
    "shotoku_kazei",
    "nozei",
]


@pytest.mark.parametrize("cert_type", RESIDENCE_TYPES)
def test_happy_path_for_each_certificate_type(center: Center, cert_type: str) -> None:
    client = center.client()
    result = issue(client, center.card("C-001"), items_of(cert_type))
    (doc,) = result.documents
    assert doc.type == cert_type and count_pages(doc.pdf) == doc.page_count
    assert hashlib.sha256(doc.pdf).hexdigest() == doc.sha256
    check = client.verify_public(doc.verification_code)
    assert (check.valid, check.state, check.sha256) == (True, "printed", doc.sha256)


def test_honseki_route_with_registration(center: Center) -> None:
    result = issue(center.client(), center.card("C-005"), items_of("koseki_zenbu"), route="honseki")
    assert result.auth.route == "honseki" and result.documents[0].page_count >= 1


@pytest.mark.parametrize(
    ("resident", "route", "types", "codes"),
    [
        ("C-003", "residence", ["juminhyo"], {"under_15"}),
        ("C-009", "residence", ["juminhyo"], {"moved_out"}),
        ("Y-007", "residence", ["juminhyo"], {"deceased"}),
        ("C-007", "residence", ["juminhyo"], {"support_measure"}),
        ("C-006", "honseki", ["koseki_zenbu"], {"not_registered_honseki", "registration_pending"}),
        ("C-004", "residence", ["inkan"], {"seal_not_registered"}),
        ("C-002", "residence", ["inkan"], {"seal_abolished"}),
    ],
    ids=[
        "under-15",
        "moved-out",
        "deceased",
        "support-measure",
        "honseki-unregistered",
        "seal-none",
        "seal-abolished",
    ],
)
def test_refusal_rules(center: Center, resident: str, route: str, types: list[str], codes: set[str]) -> None:
    client, card = center.client(), center.card(resident)

    def attempt() -> None:
        auth = authenticate(client, card, route)
        client.create_order(auth, items_of(*types))

    assert refusal_code(attempt) in codes


def test_issued_today(center: Center) -> None:
    center.server.clock.set(datetime.now(JST).replace(hour=12, minute=0))
    client, card = center.client(), center.card("Y-009")
    code = refusal_code(lambda: client.create_order(authenticate(client, card), items_of("juminhyo")))
    assert code == "issued_today"


def test_tax_certificate_for_another_person(center: Center) -> None:
    client = center.client()
    auth = authenticate(client, center.card("C-001"))
    code = refusal_code(
        lambda: client.create_order(auth, [OrderItem("shotoku_kazei", 1, {"members": ("C-002",)})])
    )
    assert code == "tax_cardholder_only"


def test_copies_exceeded(center: Center) -> None:
    client = center.client()
    auth = authenticate(client, center.card("C-001"))
    limit = next(e.max_copies for e in auth.menu if e.type == "juminhyo")
    assert (
        refusal_code(lambda: client.create_order(auth, [OrderItem("juminhyo", limit + 1)]))
        == "copies_exceeded"
    )


@pytest.mark.parametrize(
    ("moment", "code"),
    [
        (service_time(hour=23).replace(minute=30), "out_of_hours"),
        (
            service_time().replace(month=12, day=30) + timedelta(days=365 * (service_time().month == 1)),
            "year_end_closure",
        ),
    ],
    ids=["23:30", "12-30"],
)
def test_service_window(center: Center, moment: datetime, code: str) -> None:
    center.server.clock.set(moment)
    assert refusal_code(center.client().open_session) == code


def test_maintenance(center: Center) -> None:
    now = center.server.clock.now()
    center.server.maintenance.add(now - timedelta(minutes=5), now + timedelta(hours=1))
    assert refusal_code(center.client().open_session) == "maintenance"


def test_revoked_certificate_via_ocsp(center: Center) -> None:
    card = center.card("C-008")
    issue(center.client(), card, items_of("juminhyo"))  # usable before revocation
    revoke_card(center.data, card.path, "key_compromise")
    assert refusal_code(lambda: authenticate(center.client(), card)) == "certificate_revoked"


def test_expired_certificate(center: Center) -> None:
    card = center.card("C-011", expired=True)
    assert refusal_code(lambda: authenticate(center.client(), card)) == "certificate_expired"


def test_certificate_from_a_foreign_ca(center: Center) -> None:
    card = center.card("C-010", pki_dir=center.root / "foreign-jpki")
    assert refusal_code(lambda: authenticate(center.client(), card)) in {
        "certificate_untrusted",
        "certificate_invalid",
    }


def test_wrong_signature(center: Center) -> None:
    client, card = center.client(), center.card("C-001")
    session = client.open_session()
    code = refusal_code(lambda: client.authenticate(session, card.certificate, lambda m: card.sign(m + b"x")))
    assert code == "signature_invalid"


def test_replayed_and_cross_session_signatures(center: Center) -> None:
    client, card = center.client(), center.card("C-001")
    first = client.open_session()
    signature = card.sign(auth_message(first.session_id, first.challenge, client.terminal_id))
    client.authenticate(first, card.certificate, lambda m: signature)
    # the same signature again on its own session: the challenge was consumed
    assert refusal_code(lambda: client.authenticate(first, card.certificate, lambda m: signature)) in {
        "challenge_reused",
        "already_authenticated",
        "session_closed",
    }
    # a signature for session 1 posted to session 2
    second = client.open_session()
    code = refusal_code(lambda: client.authenticate(second, card.certificate, lambda m: signature))
    assert code == "signature_invalid"


def test_tls_refuses_clients_without_or_with_foreign_certificates(center: Center, tmp_path: Path) -> None:
    ca = center.terminal_dir("T-0001") / "center-ca.pem"
    with pytest.raises((requests.exceptions.SSLError, requests.exceptions.ConnectionError)):
        requests.get(center.server.api_url + "/v1/health", verify=str(ca), timeout=5)
    # a terminal certificate issued by another center's terminal CA
    from mock_relay.tls import CenterPki

    other = CenterPki.open(tmp_path / "other-center").issue_terminal("T-0001", tmp_path / "t")
    foreign = IssuanceClient(
        center.server.api_url,
        other / "terminal.pem",
        other / "terminal.key",
        ca,
        retry=RetryPolicy(attempts=2, base=0.01),
    )
    # Under TLS 1.3 the server checks the client certificate after the client's handshake is done, so
    # the refusal reaches the client as an alert (CenterTlsError) or the connection closing (Unavailable).
    with pytest.raises((CenterTlsError, CenterUnavailable)):
        foreign.health()
    foreign.close()


def test_dropped_documents_answer_is_retried_and_issued_once(center: Center) -> None:
    client, card = center.client("T-0002"), center.card("C-001")
    auth = authenticate(client, card)
    order = client.create_order(auth, [OrderItem("juminhyo", 2)])
    center.server.faults.add(FaultRule(kind="drop_after", route="issueDocuments", count=1))
    docs = client.issue_documents(order, idempotency_key="K-docs-1")  # answer lost; the retry gets it back
    assert [d.copy_index for d in docs] == [0, 1]
    again = client.issue_documents(order, idempotency_key="K-docs-1")  # the same operation: the same answer
    assert [d.document_id for d in again] == [d.document_id for d in docs]
    # a new operation for the same order is refused: documents are issued once per order
    assert refusal_code(lambda: client.issue_documents(order)) == "documents_already_issued"
    (row,) = [o for o in client.reconcile(SINCE, limit=500).orders if o.order_id == order.order_id]
    assert sorted(d.document_id for d in row.documents) == sorted(d.document_id for d in docs)


def test_restart_in_the_middle_keeps_the_ledger_exact(center: Center) -> None:
    client, card = center.client("T-0003"), center.card("C-001")
    result = issue(client, card, items_of("juminhyo"), finish=False)
    before = client.reconcile(SINCE, limit=500)
    center.restart()
    client = center.client("T-0003")
    after = client.reconcile(SINCE, limit=500)
    assert after.orders == before.orders
    client.record_payment(result.order.order_id, result.order.total, 0)
    outcome = client.report_result(
        result.order.order_id,
        [CopyOutcome(result.documents[0].document_id, False, pages_printed=0, error="jam")],
    )
    assert outcome.refund_due == result.order.total
    (row,) = [o for o in client.reconcile(SINCE, limit=500).orders if o.order_id == result.order.order_id]
    assert (row.paid, row.refund_due, row.result_reported) == (result.order.total, result.order.total, True)
    assert [d.state for d in row.documents] == ["failed"]


def _run_concurrent(center: Center, sessions: int, terminals: int) -> list[tuple[str, str, tuple[str, ...]]]:
    residents = ["V-001", "V-002", "V-003"]  # 大衡村 allows the same certificate twice a day
    cards = [center.card(r) for r in residents]
    clients = [center.client(f"T-{100 + t:04d}") for t in range(terminals)]

    def one(n: int) -> tuple[str, str, tuple[str, ...]]:
        client = clients[n % terminals]
        result = issue(client, cards[n % len(cards)], items_of("juminhyo"))
        for doc in result.documents:  # verified by the client already; re-state the invariant here
            assert doc.document_id
        return client.terminal_id, result.auth.session_id, tuple(d.document_id for d in result.documents)

    with ThreadPoolExecutor(max_workers=terminals * 2) as pool:
        return list(pool.map(one, range(sessions)))


def test_200_concurrent_sessions_from_20_terminals(center: Center) -> None:
    results = _run_concurrent(center, 200, 20)
    assert len({sid for _, sid, _ in results}) == 200
    all_docs = [d for _, _, docs in results for d in docs]
    assert len(all_docs) == len(set(all_docs)) == 200
    # the center's ledger agrees: each document is bound to the session that received it
    for terminal in {t for t, _, _ in results}:
        view = {
            o.session_id: {d.document_id for d in o.documents}
            for o in center.client(terminal).reconcile(SINCE, limit=500).orders
        }
        for t, sid, docs in results:
            if t == terminal:
                assert view[sid] == set(docs)
