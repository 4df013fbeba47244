"""Document issuance: render each copy, bind it to its transaction, sign the binding.

Binding and signature are exactly docs/center-protocol.md: ``binding`` names terminal, session, order,
item, copy, certificate-serial hash, page count, document id and the PDF's SHA-256, and the center's
document-signing key signs ``canonical(binding)`` with ECDSA P-256 / SHA-256.

Every binding field comes from the ledger rows reached through the requesting terminal's own order
(order → its session → that session's certificate hash and resident); nothing is taken from the request
body or from shared state, and the ledger refuses a second issuance for one order. The eligibility rules
are re-run against the registry just before rendering (a seal abolished since the order was priced is
refused here — the 2023 廃印 incidents), and each copy is rendered from a request built for exactly that
(resident, item, copy, document id), in this handler's locals.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import secrets
from typing import Any

from aiohttp import web
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from mock_relay.center import Center
from mock_relay.documents.renderer import RenderError, RenderJob
from mock_relay.ledger import ISSUE_ROUTE, DocumentRow, LedgerConflict, OrderRow, SessionRow
from mock_relay.model import OrderItem, PricedItem, Refusal, Route
from mock_relay.routes.common import CENTER_KEY, ApiProblem, b64, iso, read_body, terminal_of
from mock_relay.routes.idempotency import Spliced, answer_with
from mock_relay.routes.lookup import load_order, require_live_session
from mock_relay.rules import menu as rules

log = logging.getLogger(__name__)

_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read off paper by people


def canonical(binding: dict[str, Any]) -> bytes:
    """``json.dumps(binding, sort_keys=True, separators=(",", ":"), ensure_ascii=False)`` as UTF-8."""
    return json.dumps(binding, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def new_verification_code() -> str:
    """16 random characters in four groups (about 80 bits), e.g. ``K7QF-2MZX-…``."""
    raw = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(16))
    return "-".join(raw[i : i + 4] for i in range(0, 16, 4))


def reprice(center: Center, session: SessionRow, order: OrderRow) -> tuple[PricedItem, ...]:
    """Re-run the rules for the stored items at the current time. Raises ApiProblem on a refusal."""
    now = center.clock.now()
    resident = center.registry.resident(session.resident_id or "")
    if resident is None or session.route is None:
        raise ApiProblem("unknown_resident", "the session's resident is no longer in the register")
    items = [OrderItem.parse({"type": i.type, "options": i.options, "copies": i.copies}) for i in order.items]
    try:
        menu = rules.open_menu(center.registry, resident, Route(session.route), now)
        priced = rules.price_order(center.registry, resident, menu, items, now, menu_is_fresh=True)
    except Refusal as refusal:
        raise ApiProblem(refusal.code, refusal.detail) from None
    if rules.order_total(priced) != order.total:
        raise ApiProblem("order_state", "the fees changed since the order was priced; start over")
    return priced


def _job(center: Center, session: SessionRow, priced: PricedItem, copy_index: int) -> RenderJob:
    """A fresh document id and verification code for one copy of ``priced``, for the session's resident.
    Raises ApiProblem when the resident left the register."""
    resident = center.registry.resident(session.resident_id or "")
    if resident is None or session.cert_serial_hash is None:
        raise ApiProblem("unknown_resident", "the session's resident is no longer in the register")
    code = new_verification_code()
    return RenderJob(
        resident.id,
        priced,
        copy_index,
        "D-" + secrets.token_urlsafe(18),
        code,
        center.urls.verify(code),
        center.clock.now(),
    )


def _pdf_slot(document_id: str) -> str:
    """What stands for a copy's base64 PDF in the answer until :func:`_answer` splices it in."""
    return f"@pdf:{document_id}@"


async def _issue_one(
    center: Center, session: SessionRow, order: OrderRow, item_index: int, priced: PricedItem, copy_index: int
) -> tuple[dict[str, Any], DocumentRow, str, str, bytes]:
    job = _job(center, session, priced, copy_index)
    rendered = await center.renderer.render(job)
    document_id, code = job.document_id, job.verification_code
    digest = hashlib.sha256(rendered.pdf).hexdigest()
    binding = {
        "terminal_id": order.terminal_id,
        "session_id": order.session_id,
        "order_id": order.order_id,
        "item_index": item_index,
        "copy_index": copy_index,
        "cert_serial_hash": session.cert_serial_hash,
        "page_count": rendered.page_count,
        "document_id": document_id,
        "sha256": digest,
    }
    signature = center.center_pki.signer.key.sign(canonical(binding), ec.ECDSA(hashes.SHA256()))
    envelope = {
        "document_id": document_id,
        "item_index": item_index,
        "copy_index": copy_index,
        "type": priced.item.type.value,
        "page_count": rendered.page_count,
        "sha256": digest,
        "pdf": _pdf_slot(document_id),
        "verification_code": code,
        "binding": binding,
        "signature": b64(signature),
    }
    row = DocumentRow(
        document_id,
        order.order_id,
        item_index,
        copy_index,
        priced.item.type.value,
        digest,
        rendered.page_count,
        code,
        "issued",
        iso(job.now),
        priced.municipality_code,
    )
    return envelope, row, canonical(binding).decode("utf-8"), b64(signature), rendered.pdf


def _answer(obj: dict[str, Any], pdfs: dict[str, bytes]) -> tuple[web.Response, Spliced]:
    """``json_response(obj)`` with each document's ``pdf`` slot replaced by the base64 of its PDF, spliced in
    as bytes: the JSON encoder never scans the ~130 kB of base64 per copy (base64 needs no JSON escaping).
    Also the answer as text and raw parts, the form the ledger stores it in (idempotency.Spliced)."""
    body = json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    slots = {document_id: json.dumps(_pdf_slot(document_id)).encode("ascii") for document_id in pdfs}
    if any(body.count(slot) != 1 for slot in slots.values()):  # pragma: no cover - one slot per envelope
        raise ValueError("a PDF slot missing or repeated")
    texts: list[bytes] = []
    raws: list[bytes] = []
    rest = body
    for document_id in sorted(pdfs, key=lambda d: body.index(slots[d])):
        before, _, rest = rest.partition(slots[document_id])
        texts.append((b'"' if texts else b"") + before + b'"')
        raws.append(pdfs[document_id])
    texts.append((b'"' if texts else b"") + rest)
    spliced = Spliced(tuple(texts), tuple(raws))
    return web.Response(status=200, body=spliced.joined(), content_type="application/json"), spliced


async def issue_documents(request: web.Request) -> web.Response:
    """POST /v1/orders/{order_id}/documents."""
    center = request.app[CENTER_KEY]
    await read_body(request, "IssueRequest")
    order = load_order(center, request)
    session = require_live_session(center, request, order)
    if order.state != "priced":
        raise ApiProblem("documents_already_issued", "this order's documents were already issued")
    assert session.terminal_id == order.terminal_id == terminal_of(request)
    priced = reprice(center, session, order)
    jobs = [
        _issue_one(center, session, order, index, item, copy)
        for index, item in enumerate(priced)
        for copy in range(item.item.copies)
    ]
    try:
        rendered = await asyncio.gather(*jobs)
    except (ValueError, RenderError) as exc:
        log.error("rendering failed for order %s: %s", order.order_id, exc)
        raise ApiProblem("internal_error", "the document could not be produced") from exc
    answer, spliced = _answer(
        {
            "order_id": order.order_id,
            "documents": [env for env, *_ in rendered],
            "signer_certificate": center.center_pki.signer_pem(),
        },
        {env["document_id"]: pdf for env, *_, pdf in rendered},
    )
    answer_with(answer, spliced)  # stored with the documents' rows, in one ledger transaction
    try:
        center.ledger.record_documents(
            order.order_id, [(row, binding, sig) for _, row, binding, sig, _ in rendered]
        )
    except LedgerConflict as exc:
        raise ApiProblem(exc.code, exc.detail) from None
    log.info("order %s: %d documents issued", order.order_id, len(rendered))
    return answer


def add_routes(app: web.Application) -> None:
    """Register the issuing route (name = OpenAPI operationId)."""
    app.router.add_post("/v1/orders/{order_id}/documents", issue_documents, name=ISSUE_ROUTE)
