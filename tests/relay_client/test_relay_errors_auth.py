"""The problem+json table, and the pure functions both sides compute (auth message, serial hash)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import yaml

from relay_client import CenterProtocolError, CenterRefusal, CenterUnavailable, auth_message, cert_serial_hash
from relay_client.auth import b64url_decode, b64url_encode, canonical
from relay_client.errors import error_from_problem, known_codes

SPEC = Path(__file__).resolve().parents[2] / "mock_relay" / "openapi.yaml"


def contract_codes() -> dict[str, dict[str, object]]:
    return dict(yaml.safe_load(SPEC.read_text(encoding="utf-8"))["x-error-codes"])


def test_table_equals_the_contract() -> None:
    codes = contract_codes()
    assert set(codes) <= known_codes()  # every contract code mapped (extras are harmless)
    for code, row in codes.items():
        err = error_from_problem(int(row["status"]), {"code": code, "retryable": row["retryable"]})
        assert (err.code, err.reason, err.retryable, err.status) == (
            code,
            row["reason"],
            row["retryable"],
            row["status"],
        )


def test_known_code_uses_our_reason_even_if_the_center_says_otherwise() -> None:
    err = error_from_problem(403, {"code": "under_15", "reason": "something_else", "retryable": True})
    assert isinstance(err, CenterRefusal)
    assert (err.reason, err.retryable) == ("not_available_for_you", False)


def test_unknown_code_is_kept_with_the_centers_values() -> None:
    err = error_from_problem(
        403, {"code": "brand_new_rule", "reason": "ask_city_hall", "retryable": False, "detail": "rule 42"}
    )
    assert (type(err), err.code, err.reason, err.retryable, err.detail) == (
        CenterRefusal,
        "brand_new_rule",
        "ask_city_hall",
        False,
        "rule 42",
    )


def test_unknown_retryable_5xx_is_unavailable() -> None:
    err = error_from_problem(503, {"code": "brand_new_outage", "retryable": True})
    assert isinstance(err, CenterUnavailable) and err.retryable and err.reason == "try_again"


@pytest.mark.parametrize(
    ("status", "cls", "retryable"), [(502, CenterUnavailable, True), (400, CenterProtocolError, False)]
)
def test_non_problem_bodies(status: int, cls: type, retryable: bool) -> None:
    err = error_from_problem(status, None, "<html>bad gateway</html>")
    assert isinstance(err, cls) and err.retryable is retryable and err.code == f"http_{status}"


def test_auth_message_bytes() -> None:
    challenge = bytes(range(32))
    assert auth_message("S-1", challenge, "T-0001") == b"myna-kiosk-auth/1" + b"S-1" + challenge + b"T-0001"


@pytest.mark.parametrize(
    ("session", "challenge", "terminal"),
    [("S", b"x" * 31, "T"), ("", b"x" * 32, "T"), ("S", b"x" * 32, "端末")],
)
def test_auth_message_refuses_bad_parts(session: str, challenge: bytes, terminal: str) -> None:
    with pytest.raises(ValueError):
        auth_message(session, challenge, terminal)


def test_cert_serial_hash() -> None:
    assert cert_serial_hash(0x1234) == hashlib.sha256(b"\x00" * 18 + b"\x12\x34").hexdigest()
    with pytest.raises(ValueError):
        cert_serial_hash(1 << 160)


def test_canonical_and_b64url() -> None:
    assert canonical({"b": 1, "a": "住民票"}) == '{"a":"住民票","b":1}'.encode()
    raw = bytes(range(32))
    assert "=" not in b64url_encode(raw) and b64url_decode(b64url_encode(raw)) == raw
