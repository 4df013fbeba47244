"""Request bodies are decided by the compiled validator (jsonschema-rs) and worded by the reference one
(jsonschema): the two must agree on every body, or the center would accept what its contract refuses."""

from __future__ import annotations

import json
import random

import pytest

from fuzz.center import REQUEST_WORDS, SCHEMAS
from fuzz.recipe import json_document
from mock_relay.routes import common
from mock_relay.routes.common import ApiProblem, parse_json, validate_body


def _bodies(count: int) -> list[tuple[str, object]]:
    """JSON objects made of the contract's own words (the fuzz target's recipe), for every schema."""
    rng = random.Random(5)
    out = []
    while len(out) < count:
        schema = SCHEMAS[rng.randrange(len(SCHEMAS))]
        recipe = bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 120)))
        try:
            body = parse_json(json_document(recipe, REQUEST_WORDS))
        except ApiProblem:
            continue
        if body is not None:
            out.append((schema, body))
    return out


def test_the_compiled_and_the_reference_validator_agree() -> None:
    for schema, body in _bodies(3000):
        fast = common._fast_validator(schema).is_valid(body)
        reference = next(iter(common._validator(schema).iter_errors(body)), None) is None
        assert fast == reference, (schema, body)


@pytest.mark.parametrize(
    ("schema", "body", "where"),
    [
        ("AuthenticateRequest", {"route": "residence", "certificate": "AA=="}, "(body)"),
        ("PaymentRequest", {"amount_received": "200", "change_given": 0}, "amount_received"),
        ("OrderRequest", {"items": []}, "items"),
    ],
)
def test_a_refused_body_is_worded_by_the_reference_validator(schema: str, body: object, where: str) -> None:
    with pytest.raises(ApiProblem) as refused:
        validate_body(json.dumps(body).encode(), schema)
    assert refused.value.code == "bad_request" and refused.value.detail.startswith(f"{where}: ")
