"""Verification of document envelopes before anything reaches the kiosk (docs/center-protocol.md).

A document is accepted only if: the signer certificate chains to the pinned center CA, is valid now, is
an EC P-256 key with keyUsage digitalSignature and the document-signing EKU; the ECDSA signature over
canonical(binding) verifies; sha256(pdf) equals the envelope's and the binding's ``sha256``; every
binding field equals this session's values (terminal, session, order, item, copy, cert-serial hash,
document id) and the envelope's; the PDF's page tree holds exactly ``page_count`` pages; and the set of
copies is exactly what was ordered (none missing, none twice, none extra). Any failure raises
:class:`DocumentBindingError` naming the field, and no document at all is returned: one bad copy voids
the answer (the 2023 incidents printed other people's pages because nothing checked).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from relay_client.errors import DocumentBindingError
from relay_client.models import DocumentEnvelope, DocumentsAnswer, IssuedDocument
from relay_client.pdf import PdfError, count_pages

#: extendedKeyUsage of the center's document-signing certificate ("myna-kiosk document signing").
DOCUMENT_SIGNING_EKU = x509.ObjectIdentifier("2.25.17815800442082450193213709336674062858")


@dataclass(frozen=True)
class Expected:
    """What this session expects every binding to say, computed by the kiosk (not taken from the answer)."""

    terminal_id: str
    session_id: str
    order_id: str
    cert_serial_hash: str
    copies: tuple[int, ...]  # copies ordered, per item_index (0, 1, …)


def verify_documents(
    answer: DocumentsAnswer, expected: Expected, center_ca: x509.Certificate, *, now: datetime | None = None
) -> tuple[IssuedDocument, ...]:
    """Verify every envelope of ``answer`` and return them as IssuedDocuments, in item then copy order.

    Raises DocumentBindingError (with ``field``) on the first failure; nothing is returned then.
    """
    if answer.order_id != expected.order_id:
        raise DocumentBindingError("order_id", "the answer is for another order")
    signer = check_signer(answer.signer_certificate_pem, center_ca, now=now)
    verified = [_verify_one(env, expected, signer) for env in answer.documents]
    _check_coverage(((d.item_index, d.copy_index, d.document_id) for d in verified), expected.copies)
    return tuple(sorted(verified, key=lambda d: (d.item_index, d.copy_index)))


def check_signer(
    pem: bytes, center_ca: x509.Certificate, *, now: datetime | None = None
) -> ec.EllipticCurvePublicKey:
    """Check the signer certificate against the pinned CA; return its P-256 public key.

    Raises DocumentBindingError("signer_certificate", ...) when it is unreadable, not issued by the CA,
    outside its validity, not P-256, or lacks keyUsage digitalSignature or the document-signing EKU.
    """
    try:
        cert = x509.load_pem_x509_certificate(pem)
    except (ValueError, x509.InvalidVersion) as exc:  # InvalidVersion is not a ValueError
        raise DocumentBindingError("signer_certificate", "not a PEM certificate") from exc
    try:
        cert.verify_directly_issued_by(center_ca)
    except (ValueError, TypeError, InvalidSignature) as exc:
        raise DocumentBindingError("signer_certificate", "not issued by the pinned center CA") from exc
    moment = now or datetime.now(UTC)
    if not cert.not_valid_before_utc <= moment <= cert.not_valid_after_utc:
        raise DocumentBindingError("signer_certificate", "outside its validity period")
    key = cert.public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        raise DocumentBindingError("signer_certificate", "not an EC P-256 key")
    _require_usage(cert)
    return key


def _require_usage(cert: x509.Certificate) -> None:
    try:
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
        ekus = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound as exc:
        raise DocumentBindingError("signer_certificate", "keyUsage or extendedKeyUsage missing") from exc
    if not usage.digital_signature:
        raise DocumentBindingError("signer_certificate", "keyUsage lacks digitalSignature")
    if DOCUMENT_SIGNING_EKU not in list(ekus):
        raise DocumentBindingError("signer_certificate", "lacks the document-signing extendedKeyUsage")


def _verify_one(env: DocumentEnvelope, exp: Expected, key: ec.EllipticCurvePublicKey) -> IssuedDocument:
    doc = env.document_id
    try:
        key.verify(env.signature, env.signed_bytes, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature as exc:
        raise DocumentBindingError(
            "signature", "the center's signature does not verify", document_id=doc
        ) from exc
    digest = hashlib.sha256(env.pdf).hexdigest()
    if not hmac.compare_digest(digest, env.sha256):
        raise DocumentBindingError(
            "sha256", "the PDF bytes do not match the envelope's sha256", document_id=doc
        )
    b = env.binding
    wanted: tuple[tuple[str, object, object], ...] = (
        ("terminal_id", b.terminal_id, exp.terminal_id),
        ("session_id", b.session_id, exp.session_id),
        ("order_id", b.order_id, exp.order_id),
        ("cert_serial_hash", b.cert_serial_hash, exp.cert_serial_hash),
        ("document_id", b.document_id, env.document_id),
        ("item_index", b.item_index, env.item_index),
        ("copy_index", b.copy_index, env.copy_index),
        ("page_count", b.page_count, env.page_count),
        ("sha256", b.sha256, digest),
    )
    for field, got, want in wanted:
        if got != want:
            raise DocumentBindingError(field, f"binding says {got!r}, expected {want!r}", document_id=doc)
    try:
        pages = count_pages(env.pdf)
    except PdfError as exc:
        raise DocumentBindingError("pdf", f"unreadable page tree: {exc}", document_id=doc) from exc
    if pages != env.page_count:
        raise DocumentBindingError(
            "page_count", f"PDF has {pages} pages, bound to {env.page_count}", document_id=doc
        )
    return IssuedDocument(
        env.document_id,
        env.item_index,
        env.copy_index,
        env.type,
        env.page_count,
        env.sha256,
        env.pdf,
        env.verification_code,
    )


def _check_coverage(got: Iterable[tuple[int, int, str]], copies: tuple[int, ...]) -> None:
    seen: set[tuple[int, int]] = set()
    ids: set[str] = set()
    for item, copy, doc in got:
        if item >= len(copies) or copy >= copies[item]:
            raise DocumentBindingError(
                "item_index", f"copy ({item}, {copy}) was not ordered", document_id=doc
            )
        if (item, copy) in seen:
            raise DocumentBindingError("copy_index", f"copy ({item}, {copy}) sent twice", document_id=doc)
        if doc in ids:
            raise DocumentBindingError("document_id", "the same document id on two copies", document_id=doc)
        seen.add((item, copy))
        ids.add(doc)
    missing = sum(copies) - len(seen)
    if missing:
        raise DocumentBindingError("copies", f"{missing} ordered copies missing from the answer")
