"""Targets of the center side: the kiosk reading the center's JSON answers and its PDFs, and the mock
center reading the kiosk's request bodies (JSON parsing and openapi.yaml validation, no server)."""

from __future__ import annotations

import dataclasses
import io
import json
from collections.abc import Callable, Iterator
from typing import Any

from fuzz.core import JSON_TOKENS, Target
from fuzz.recipe import json_document
from mock_relay.routes.common import ApiProblem, parse_json, spec, validate_body
from relay_client import models
from relay_client.body import DEFAULT_LIMITS, loads_strict
from relay_client.errors import CenterError, CenterProtocolError, error_from_problem
from relay_client.pdf import PdfError, count_pages

# --- the center's answers, as the kiosk reads them -------------------------------------------------
ANSWERS: list[tuple[str, Callable[[models.Fields], object]]] = [
    ("health", models.parse_health),
    ("heartbeat", models.parse_heartbeat),
    ("session", models.parse_session),
    ("authenticated", models.parse_authenticated),
    ("cancelled", models.parse_cancelled),
    ("order", models.parse_order),
    ("documents", models.parse_documents),
    ("payment", models.parse_payment),
    ("result", models.parse_result),
    ("reconcile", models.parse_reconcile),
    ("verification", models.parse_verification),
]


ANSWER_WORDS = tuple(
    sorted(
        {
            f.name
            for cls in vars(models).values()
            if dataclasses.is_dataclass(cls)
            for f in dataclasses.fields(cls)
        }
        | {"code", "status", "retryable", "reason", "detail", "municipality", "binding", "signer_certificate"}
    )
)


def run_relay_answers(data: bytes) -> None:
    """Byte 0, low 7 bits: which answer (or, past the parsers, an error answer with HTTP status 390 + it);
    bit 7: the rest is a recipe (fuzz/recipe.py) of a JSON object, else the body itself. The body goes
    through the client's strict JSON reader first (its ValueError is the client's 'malformed')."""
    if not data:
        return
    body = json_document(data[1:], ANSWER_WORDS) if data[0] & 0x80 else data[1:]
    try:
        parsed = loads_strict(body, depth=DEFAULT_LIMITS.depth)
    except ValueError:
        return
    choice = data[0] & 0x7F
    if choice < len(ANSWERS):
        name, parse = ANSWERS[choice]
        parse(models.Fields(parsed, name))
        return
    status = 390 + choice  # 401 to 517
    error = error_from_problem(status, parsed if isinstance(parsed, dict) else None, "fallback")
    if not isinstance(error, CenterError):
        raise AssertionError(f"error_from_problem gave {error!r}")
    str(error)


_HASH = "0" * 64
_TIME = "2026-04-01T10:00:00+09:00"


def _answer_samples() -> dict[str, Any]:
    item = {"item_index": 0, "type": "juminhyo", "label": "住民票の写し", "options": {"scope": "all"}}
    item |= {"copies": 2, "unit_fee": 200, "fee": 400}
    binding = {"terminal_id": "T-1", "session_id": "S-1", "order_id": "O-1", "item_index": 0, "copy_index": 0}
    binding |= {"cert_serial_hash": _HASH, "page_count": 2, "document_id": "D-1", "sha256": _HASH}
    envelope = {k: binding[k] for k in ("document_id", "item_index", "copy_index", "page_count", "sha256")}
    envelope |= {"type": "juminhyo", "pdf": "JVBERi0=", "verification_code": "1", "binding": binding}
    envelope |= {"signature": "AA=="}
    option = {"name": "scope", "kind": "choice", "label": "範囲", "values": ["all", "self"], "default": "all"}
    menu = {"type": "juminhyo", "label": "住民票の写し", "fee": 200, "max_copies": 5, "available_now": True}
    menu |= {"unavailable_code": None, "options": [option]}
    return {
        "health": {"status": "ok", "server_time": _TIME, "version": "1", "in_service_hours": True},
        "heartbeat": {"terminal_id": "T-1", "server_time": _TIME, "next_heartbeat_s": 60, "status": "ok"},
        "session": {
            "session_id": "S-1",
            "challenge": "A" * 43,
            "expires_at": _TIME,
            "terminal_id": "T-1",
            "auth_message_version": "myna-kiosk-auth/1",
        },
        "authenticated": {
            "session_id": "S-1",
            "route": "residence",
            "resident_ref": "R-1",
            "cert_serial_hash": _HASH,
            "municipality": {"code": "141003", "name": "横浜市"},
            "menu": [menu],
            "expires_at": _TIME,
        },
        "cancelled": {"session_id": "S-1", "state": "cancelled", "voided_documents": 0, "refund_due": 0},
        "order": {
            "order_id": "O-1",
            "session_id": "S-1",
            "items": [item],
            "total": 400,
            "currency": "JPY",
            "state": "priced",
        },
        "documents": {
            "order_id": "O-1",
            "signer_certificate": "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n",
            "documents": [envelope],
        },
        "payment": {
            "order_id": "O-1",
            "total": 400,
            "amount_received": 500,
            "change_given": 100,
            "state": "paid",
        },
        "result": {"order_id": "O-1", "state": "completed", "printed": 2, "failed": 0, "refund_due": 0},
        "reconcile": {
            "terminal_id": "T-1",
            "server_time": _TIME,
            "orders": [
                {
                    "order_id": "O-1",
                    "session_id": "S-1",
                    "created_at": _TIME,
                    "state": "completed",
                    "total": 400,
                    "paid": 500,
                    "refund_due": 0,
                    "result_reported": True,
                    "documents": [
                        {"document_id": "D-1", "item_index": 0, "copy_index": 0, "state": "printed"}
                    ],
                }
            ],
        },
        "verification": {
            "verification_code": "123456",
            "valid": True,
            "state": "issued",
            "document_type": "juminhyo",
            "municipality_code": "141003",
            "issued_at": _TIME,
            "page_count": 2,
            "sha256": _HASH,
        },
    }


def seeds_relay_answers() -> dict[str, bytes]:
    samples = _answer_samples()
    out = {
        name: bytes((index,)) + json.dumps(samples[name], ensure_ascii=False).encode("utf-8")
        for index, (name, _) in enumerate(ANSWERS)
    }
    problem = {"type": "urn:myna-kiosk:problem:session_expired", "title": "session expired", "status": 409}
    problem |= {"code": "session_expired", "retryable": False, "reason": "session_expired", "detail": "x"}
    out["problem-409"] = bytes((19,)) + json.dumps(problem).encode("utf-8")
    out["problem-503"] = bytes((113,)) + json.dumps(problem | {"status": 503}).encode("utf-8")
    out["recipe-order"] = bytes((0x85,)) + bytes(range(1, 160, 5))
    return out


# --- PDF page counter ------------------------------------------------------------------------------
PDF_TOKENS = (" obj", "stream\n", "\nendstream", " 0 R", *"%PDF-1.7 endobj << >> [ ] trailer ( ) < >".split())
PDF_TOKENS += tuple("/Type /Catalog /Pages /Page /Kids /Count /Root /Parent /ObjStm /N /First".split())
PDF_TOKENS += tuple("/Filter /FlateDecode /Length xref startxref %%EOF".split())


def run_pdf(data: bytes) -> None:
    """relay_client.pdf.count_pages: a count of at least one page, or PdfError."""
    if count_pages(data) < 0:
        raise AssertionError("negative page count")


def seeds_pdf() -> dict[str, bytes]:
    from reportlab.pdfgen import canvas

    out: dict[str, bytes] = {}
    for name, compress in (("reportlab-2-pages", 0), ("reportlab-compressed", 1)):
        buffer = io.BytesIO()
        pdf = canvas.Canvas(buffer, pageCompression=compress, invariant=1)
        for page in (1, 2):
            pdf.drawString(72, 720, f"page {page}")
            pdf.showPage()
        pdf.save()
        out[name] = buffer.getvalue()
    out["minimal"] = (
        b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
        b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n3 0 obj<</Type/Page/Parent 2 0 R>>endobj\n"
        b"trailer<</Root 1 0 R>>\n%%EOF\n"
    )
    return out


# --- the kiosk's requests, as the mock center reads them -------------------------------------------
SCHEMAS = (
    "OpenSessionRequest",
    "AuthenticateRequest",
    "CancelRequest",
    "IssueRequest",
    "HeartbeatRequest",
    "OrderRequest",
    "PaymentRequest",
    "ResultRequest",
)


def _schema_words(node: object) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "properties" and isinstance(value, dict):
                yield from value
            if key in ("enum", "const"):
                yield from (str(v) for v in (value if isinstance(value, list) else [value]))
            yield from _schema_words(value)
    elif isinstance(node, list):
        for item in node:
            yield from _schema_words(item)


REQUEST_WORDS = tuple(sorted(set(_schema_words(spec()["components"]["schemas"]))))


def run_center_requests(data: bytes) -> None:
    """Byte 0, low 7 bits: the request's schema (or, past them, the admin routes' bare parse_json); bit 7:
    the rest is a recipe (fuzz/recipe.py) of a JSON object of the schemas' words, else the body itself."""
    if not data:
        return
    raw = json_document(data[1:], REQUEST_WORDS) if data[0] & 0x80 else data[1:]
    choice = data[0] & 0x7F
    if choice < len(SCHEMAS):
        body = validate_body(raw, SCHEMAS[choice])
        if not isinstance(body, dict):
            raise AssertionError(f"validated body is a {type(body).__name__}")
    else:
        parse_json(raw)


def seeds_center_requests() -> dict[str, bytes]:
    order = {"items": [models.OrderItem("juminhyo", 1, {"scope": "all", "members": ("R-1",)}).to_json()]}
    result = {"copies": [models.CopyOutcome("D-1", False, 1, "paper_out").to_json()]}
    bodies: dict[str, tuple[int, Any]] = {
        "open": (0, {"language": "ja"}),
        "authenticate": (1, {"route": "residence", "certificate": "MII=", "signature": "AA=="}),
        "cancel": (2, {"reason": "resident"}),
        "issue": (3, {}),
        "heartbeat": (4, {"app_version": "0.1.0", "devices": {"reader": "ok", "printer": "paper_out"}}),
        "order": (5, order),
        "payment": (6, {"amount_received": 500, "change_given": 300}),
        "result": (7, result),
        "admin": (8, {"resident": "C-001", "faults": [{"route": "issue", "status": 503}]}),
    }
    seeds = {
        name: bytes((index,)) + json.dumps(body).encode("utf-8") for name, (index, body) in bodies.items()
    }
    seeds["recipe-result"] = bytes((0x87,)) + bytes(range(2, 180, 7))
    return seeds


TARGETS = [
    Target(
        "relay_answers",
        run_relay_answers,
        (CenterProtocolError,),
        "relay_client: loads_strict, every models.parse_* and error_from_problem",
        max_len=4096,
        seeds=seeds_relay_answers,
        dictionary=(*JSON_TOKENS, *"code status retryable reason items menu binding".split()),
    ),
    Target(
        "pdf_pages",
        run_pdf,
        (PdfError,),
        "relay_client/pdf.py count_pages (xref-free scan, object streams, page tree)",
        max_len=8192,
        seeds=seeds_pdf,
        dictionary=PDF_TOKENS,
    ),
    Target(
        "center_requests",
        run_center_requests,
        (ApiProblem,),
        "mock_relay/routes/common.py: parse_json and validate_body against openapi.yaml's request schemas",
        max_len=4096,
        seeds=seeds_center_requests,
        dictionary=(*JSON_TOKENS, *"items copies options document_id outcome route devices".split()),
    ),
]
