"""Certificate documents: one A4 PDF per copy, in the municipality's format (docs/service.md §5).

Public API (stable):
    build_document_request(registry, resident, priced_item, copy_index, document_id, verification_code,
                           verify_url, now) -> DocumentRequest                  raises ValueError
    render_document(request) -> RenderedDocument                                raises ValueError
The server never needs to know layouts: it calls ``build_document_request`` then ``render_document`` per copy.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime
from typing import TYPE_CHECKING

from mock_relay.documents.layout import build_content
from mock_relay.documents.pdf import render_pdf
from mock_relay.documents.request import DocumentRequest as DocumentRequest
from mock_relay.documents.request import RenderedDocument as RenderedDocument
from mock_relay.model import JST, JUMINHYO_TYPES, PricedItem, Resident
from mock_relay.rules.options import visible_household

if TYPE_CHECKING:
    from mock_relay.registry.store import Registry

log = logging.getLogger(__name__)
_RENDER_LOCK = threading.Lock()


def build_document_request(
    registry: Registry,
    resident: Resident,
    priced_item: PricedItem,
    copy_index: int,
    document_id: str,
    verification_code: str,
    verify_url: str,
    now: datetime,
) -> DocumentRequest:
    """Resolve the priced item's subjects and municipality from the registry (fresh records).

    Raises:
        ValueError: unknown municipality/subject, ``copy_index`` outside ``0..copies-1``, or a naive ``now``.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    copies = priced_item.item.copies
    if not 0 <= copy_index < copies:
        raise ValueError(f"copy_index {copy_index} outside 0..{copies - 1}")
    issuer = registry.municipality(priced_item.municipality_code)
    if issuer is None:
        raise ValueError(f"unknown municipality {priced_item.municipality_code}")
    found = tuple(s for s in map(registry.resident, priced_item.subject_ids) if s is not None)
    if len(found) != len(priced_item.subject_ids) or not found:
        raise ValueError("a subject of the priced item is not in the registry")
    current = registry.resident(resident.id) or resident
    cert_type = priced_item.item.type
    head = None
    if cert_type in JUMINHYO_TYPES:
        day = now.astimezone(JST).date()
        head = next((m for m in visible_household(registry, current, day) if m.is_head), None)
    year = priced_item.item.options.get("year") if cert_type.is_tax else None
    return DocumentRequest(
        municipality=issuer,
        cert_type=cert_type,
        applicant=current,
        subjects=found,
        options=priced_item.item.options,
        household_head=head,
        tax_year=year if isinstance(year, int) and not isinstance(year, bool) else None,
        document_id=document_id,
        copy_index=copy_index,
        copy_count=copies,
        verification_code=verification_code,
        verify_url=verify_url,
        issued_at=now,
    )


def render_document(request: DocumentRequest) -> RenderedDocument:
    """Render one copy as an A4 PDF (embedded IPAex fonts, ground pattern, 公印, QR, ID and page i/n).

    Raises:
        ValueError: the request cannot be laid out (no subjects, no 戸籍, no tax record for the year).
        FileNotFoundError: the IPAex fonts are not installed.
    """
    content = build_content(request)
    with _RENDER_LOCK:  # reportlab's TTF subsetting keeps per-font state: one render at a time
        pdf, pages = render_pdf(request, content)
    log.debug("rendered %s (%s, %d pages, %d bytes)", request.document_id, request.cert_type, pages, len(pdf))
    return RenderedDocument(pdf, pages)
