"""Certificate documents: one A4 PDF per copy, in the municipality's format (service.md §5).

Public API (stable):
    build_document_request(registry, resident, priced_item, copy_index, document_id, verification_code,
                           verify_url, now) -> DocumentRequest                  raises ValueError
    render_document(request) -> RenderedDocument                                raises ValueError
The server never needs to know layouts: it calls ``build_document_request`` then ``render_document`` per copy.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from mock_relay.model import CertType, Municipality, OptionValue, PricedItem, Resident

if TYPE_CHECKING:
    from mock_relay.registry import Registry


@dataclass(frozen=True)
class DocumentRequest:
    """Everything printed on one copy."""

    municipality: Municipality  # the issuing municipality (本籍地 for 戸籍 on the honseki route)
    cert_type: CertType
    applicant: Resident  # the cardholder
    subjects: tuple[Resident, ...]  # persons printed, register order
    options: Mapping[str, OptionValue]  # normalised options of the priced item
    household_head: Resident | None  # 世帯主 (住民票 types)
    tax_year: int | None  # 年度 (tax types)
    document_id: str
    copy_index: int  # 0-based
    copy_count: int
    verification_code: str
    verify_url: str
    issued_at: datetime


@dataclass(frozen=True)
class RenderedDocument:
    """The PDF bytes of one copy and its page count."""

    pdf: bytes
    page_count: int


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
    """Resolve the priced item's subjects and municipality from the registry.

    Raises:
        ValueError: unknown municipality/subject, or ``copy_index`` outside ``0..copies-1``.
    """
    raise NotImplementedError


def render_document(request: DocumentRequest) -> RenderedDocument:
    """Render one copy as an A4 PDF (embedded IPAex fonts, ground pattern, 公印, QR, ID and page i/n).

    Raises:
        ValueError: the request cannot be laid out (e.g. no subjects).
    """
    raise NotImplementedError
