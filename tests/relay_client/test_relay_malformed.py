"""Whatever JSON the center answers, parsing ends in a value or a typed error, never in anything else.

Each well-formed answer has one node (any field, at any depth, or the whole answer) replaced by arbitrary
JSON; the parser must return or raise CenterProtocolError (DocumentBindingError too, for documents that are
then verified). Bytes that are no JSON at all are a ValueError of the strict decoder, nothing else.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from relay_helpers import NOW, DocSpec, Pki, T, auth_body, envelope, order_body, session_body

from relay_client import CenterProtocolError, DocumentBindingError, Expected, verify_documents
from relay_client import models as m
from relay_client.body import loads_strict
from relay_client.fields import Fields

HASH = "ab" * 32
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=12), inner, max_size=3),
    max_leaves=12,
)
SAMPLES: dict[str, tuple[Callable[[Fields], Any], Any]] = {
    "health": (m.parse_health, {"status": "ok", "server_time": T, "version": "1", "in_service_hours": True}),
    "heartbeat": (
        m.parse_heartbeat,
        {"terminal_id": "T-0001", "server_time": T, "next_heartbeat_s": 60, "status": "ok"},
    ),
    "session": (m.parse_session, session_body()),
    "authenticated": (m.parse_authenticated, auth_body(HASH)),
    "cancelled": (m.parse_cancelled, {"session_id": "S-1", "state": "cancelled", "voided_documents": 0}),
    "order": (m.parse_order, order_body(2)),
    "payment": (
        m.parse_payment,
        {"order_id": "O-1", "total": 400, "amount_received": 500, "change_given": 100, "state": "paid"},
    ),
    "result": (
        m.parse_result,
        {"order_id": "O-1", "state": "completed", "printed": 2, "failed": 0, "refund_due": 0},
    ),
    "reconcile": (
        m.parse_reconcile,
        {
            "terminal_id": "T-0001",
            "server_time": T,
            "orders": [
                {
                    "order_id": "O-1",
                    "session_id": "S-1",
                    "created_at": T,
                    "state": "completed",
                    "total": 200,
                    "paid": 200,
                    "refund_due": 0,
                    "result_reported": True,
                    "documents": [
                        {"document_id": "D-1", "item_index": 0, "copy_index": 0, "state": "printed"}
                    ],
                }
            ],
        },
    ),
    "verification": (
        m.parse_verification,
        {
            "verification_code": "V-1",
            "valid": True,
            "state": "printed",
            "document_type": "juminhyo",
            "municipality_code": "131016",
            "issued_at": T,
            "page_count": 1,
            "sha256": HASH,
        },
    ),
}


def paths(node: Any, here: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in ``node`` a value can be put (the root included)."""
    found = [here]
    if isinstance(node, dict):
        for key, child in node.items():
            found += paths(child, (*here, key))
    elif isinstance(node, list):
        for i, child in enumerate(node):
            found += paths(child, (*here, i))
    return found


def replaced(body: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    out = copy.deepcopy(body)
    node = out
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value
    return out


@pytest.mark.parametrize("name", sorted(SAMPLES))
@settings(max_examples=30, deadline=None, derandomize=True)
@given(data=st.data())
def test_a_mutated_answer_parses_or_is_a_protocol_error(name: str, data: st.DataObject) -> None:
    parse, good = SAMPLES[name]
    parse(Fields(good, name))  # the sample itself is well formed
    path = data.draw(st.sampled_from(paths(good)), label="path")
    body = replaced(good, path, data.draw(JSON, label="value"))
    try:
        parse(Fields(body, name))
    except CenterProtocolError:
        pass


@pytest.fixture(scope="module")
def documents_body(pki: Pki) -> dict[str, Any]:
    spec = DocSpec("T-0001", "S-1", "O-1", 0, 0, HASH, pages=1)
    return {
        "order_id": "O-1",
        "documents": [envelope(spec, pki.signer)],
        "signer_certificate": pki.signer.pem.decode(),
    }


@settings(max_examples=40, deadline=None, derandomize=True)
@given(data=st.data())
def test_a_mutated_documents_answer_is_verified_or_a_typed_error(
    documents_body: dict[str, Any], pki: Pki, data: st.DataObject
) -> None:
    expected = Expected("T-0001", "S-1", "O-1", HASH, (1,))
    assert (
        len(
            verify_documents(
                m.parse_documents(Fields(documents_body, "d")), expected, pki.center_ca.cert, now=NOW
            )
        )
        == 1
    )
    candidates = [p for p in paths(documents_body) if p[:1] != ("signer_certificate",)]
    path = data.draw(st.sampled_from(candidates), label="path")
    body = replaced(documents_body, path, data.draw(JSON, label="value"))
    try:
        verify_documents(m.parse_documents(Fields(body, "d")), expected, pki.center_ca.cert, now=NOW)
    except (CenterProtocolError, DocumentBindingError):
        pass


@settings(max_examples=100, deadline=None, derandomize=True)
@given(
    st.binary(max_size=64)
    | st.text(alphabet='[]{}",:0123456789.eE+-aNIfinty \\u', max_size=64).map(str.encode)
)
def test_bytes_that_are_no_strict_json_are_a_value_error(content: bytes) -> None:
    try:
        loads_strict(content, depth=4)
    except ValueError:
        pass
