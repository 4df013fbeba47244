"""Document verification: every binding field, the signature, the hash, the page count, the signer."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from relay_helpers import DocSpec, Issued, Pki, envelope, make_leaf, make_pdf

from relay_client import DOCUMENT_SIGNING_EKU, DocumentBindingError, Expected, verify_documents
from relay_client.fields import Fields
from relay_client.models import parse_documents

TERMINAL, SESSION, ORDER, HASH = "T-0001", "S-aaaa", "O-1111", "ab" * 32


def expected(copies: tuple[int, ...] = (2,)) -> Expected:
    return Expected(TERMINAL, SESSION, ORDER, HASH, copies)


def spec(item: int = 0, copy: int = 0, **kw: Any) -> DocSpec:
    return DocSpec(TERMINAL, SESSION, ORDER, item, copy, HASH, **kw)


def answer(specs: list[DocSpec], signer: Issued, *, order_id: str = ORDER) -> Any:
    body = {
        "order_id": order_id,
        "documents": [envelope(s, signer) for s in specs],
        "signer_certificate": signer.pem.decode(),
    }
    return parse_documents(Fields(body, "documents"))


def test_good_answer_returns_every_copy_in_order(pki: Pki) -> None:
    docs = verify_documents(
        answer([spec(0, 1, pages=3), spec(0, 0, pages=2)], pki.signer), expected(), pki.center_ca.cert
    )
    assert [(d.item_index, d.copy_index, d.page_count) for d in docs] == [(0, 0, 2), (0, 1, 3)]
    assert docs[0].pdf.startswith(b"%PDF-")


# Binding says something else than this session, but the center signed it (a center-side mix-up, as in 2023).
SIGNED_MISMATCHES = [
    ("terminal_id", {"terminal_id": "T-0002"}),
    ("session_id", {"session_id": "S-bbbb"}),
    ("order_id", {"order_id": "O-2222"}),
    ("cert_serial_hash", {"cert_serial_hash": "cd" * 32}),
    ("document_id", {"document_id": "D-other"}),
    ("item_index", {"item_index": 3}),
    ("copy_index", {"copy_index": 5}),
    ("page_count", {"page_count": 2}),
    ("sha256", {"sha256": "00" * 32}),
]


@pytest.mark.parametrize(("field", "override"), SIGNED_MISMATCHES, ids=[f for f, _ in SIGNED_MISMATCHES])
def test_each_signed_binding_mismatch_is_named(pki: Pki, field: str, override: dict[str, Any]) -> None:
    bad = spec(0, 1, binding_overrides=override)
    with pytest.raises(DocumentBindingError) as err:
        verify_documents(answer([spec(0, 0), bad], pki.signer), expected(), pki.center_ca.cert)
    assert err.value.field == field


@pytest.mark.parametrize(("field", "override"), SIGNED_MISMATCHES, ids=[f for f, _ in SIGNED_MISMATCHES])
def test_each_unsigned_tamper_breaks_the_signature(pki: Pki, field: str, override: dict[str, Any]) -> None:
    env = envelope(spec(0, 0), pki.signer)
    env["binding"].update(override)  # changed after signing (in transit)
    body = {"order_id": ORDER, "documents": [env], "signer_certificate": pki.signer.pem.decode()}
    with pytest.raises(DocumentBindingError) as err:
        verify_documents(parse_documents(Fields(body, "d")), expected((1,)), pki.center_ca.cert)
    assert err.value.field == "signature"


def test_corrupt_signature(pki: Pki) -> None:
    with pytest.raises(DocumentBindingError) as err:
        verify_documents(
            answer([spec(corrupt_signature=True)], pki.signer), expected((1,)), pki.center_ca.cert
        )
    assert err.value.field == "signature"


def test_pdf_bytes_swapped_for_another_persons(pki: Pki) -> None:
    other = base64.b64encode(make_pdf(1, "someone else")).decode()
    with pytest.raises(DocumentBindingError) as err:
        verify_documents(
            answer([spec(envelope_overrides={"pdf": other})], pki.signer), expected((1,)), pki.center_ca.cert
        )
    assert err.value.field == "sha256"


def test_page_count_bound_but_pdf_has_other_count(pki: Pki) -> None:
    # the center signs page_count 3 for a 2-page PDF (the Tokushima missing/foreign page case)
    pdf = make_pdf(2)
    with pytest.raises(DocumentBindingError) as err:
        verify_documents(answer([spec(pages=3, pdf=pdf)], pki.signer), expected((1,)), pki.center_ca.cert)
    assert err.value.field == "page_count"


def test_envelope_fields_must_equal_binding(pki: Pki) -> None:
    with pytest.raises(DocumentBindingError) as err:
        verify_documents(
            answer([spec(envelope_overrides={"copy_index": 1})], pki.signer),
            expected((2,)),
            pki.center_ca.cert,
        )
    assert err.value.field == "copy_index"


def test_unreadable_pdf(pki: Pki) -> None:
    with pytest.raises(DocumentBindingError) as err:
        verify_documents(
            answer([spec(pdf=b"%PDF-1.4\nnot really")], pki.signer), expected((1,)), pki.center_ca.cert
        )
    assert err.value.field == "pdf"


@pytest.mark.parametrize("which", ["foreign_signer", "tls_signer"])
def test_signer_from_another_ca_or_without_eku(pki: Pki, which: str) -> None:
    signer = getattr(pki, which)
    with pytest.raises(DocumentBindingError) as err:
        verify_documents(answer([spec()], signer), expected((1,)), pki.center_ca.cert)
    assert err.value.field == "signer_certificate"


def test_expired_signer(pki: Pki) -> None:
    old = make_leaf(pki.center_ca, "old signer", ekus=[DOCUMENT_SIGNING_EKU], days=-1)
    with pytest.raises(DocumentBindingError, match="validity"):
        verify_documents(answer([spec()], old), expected((1,)), pki.center_ca.cert)


def test_answer_for_another_order(pki: Pki) -> None:
    with pytest.raises(DocumentBindingError) as err:
        verify_documents(answer([spec()], pki.signer, order_id="O-9"), expected((1,)), pki.center_ca.cert)
    assert err.value.field == "order_id"


@pytest.mark.parametrize(
    ("copies", "specs", "field"),
    [
        ((2,), [(0, 0)], "copies"),  # a copy missing
        ((1,), [(0, 0), (0, 1)], "item_index"),  # a copy never ordered
        ((1,), [(0, 0), (1, 0)], "item_index"),  # an item never ordered
        ((2,), [(0, 0), (0, 0)], "copy_index"),  # the same copy twice
    ],
)
def test_coverage_of_the_order(
    pki: Pki, copies: tuple[int, ...], specs: list[tuple[int, int]], field: str
) -> None:
    docs = [spec(i, c, document_id=f"D-{n}") for n, (i, c) in enumerate(specs)]
    with pytest.raises(DocumentBindingError) as err:
        verify_documents(answer(docs, pki.signer), expected(copies), pki.center_ca.cert)
    assert err.value.field == field


def test_duplicate_document_id_on_two_copies(pki: Pki) -> None:
    docs = [spec(0, 0, document_id="D-same"), spec(0, 1, document_id="D-same")]
    with pytest.raises(DocumentBindingError) as err:
        verify_documents(answer(docs, pki.signer), expected((2,)), pki.center_ca.cert)
    assert err.value.field == "document_id"
