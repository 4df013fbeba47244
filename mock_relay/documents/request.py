"""What one printed copy carries (``DocumentRequest``) and what rendering gives back (``RenderedDocument``):
the values that ``build`` fills in and ``layout`` and ``pdf`` read."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from mock_relay.model import CertType, Municipality, OptionValue, Resident


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
