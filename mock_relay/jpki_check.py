"""Center-side check of a card's user-authentication certificate and signature (docs/architecture.md step 5).

Order of checks (cheap and local first, so a forged request never costs an OCSP round trip):
1. the DER parses → else ``certificate_invalid``;
2. it was signed by one of the configured JPKI user-authentication CA generations (chosen by signature
   via ``TestPki.issuer_of``, since all generations share one DN) → else ``certificate_untrusted``;
3. validity at the center's (injectable) clock → ``certificate_expired`` / ``certificate_not_yet_valid``;
4. keyUsage present with digitalSignature → else ``certificate_invalid``;
5. RSA PKCS#1 v1.5 / SHA-256 signature over ``auth_message(...)`` (docs/center-protocol.md) → else
   ``signature_invalid``. The message carries session id, challenge and terminal id, so a signature
   made for another session, challenge or terminal never verifies here;
6. revocation through a real OCSP request (DER, with a fresh nonce) to the responder: over HTTP to the
   responder URL, or, when the center answers its own OCSP (``local``), handed to its responder in
   process — the same request and the same checks of the answer, without the HTTP hop: ``revoked`` →
   ``certificate_revoked``, ``unknown`` → ``certificate_unknown``; no answer, a non-200, ``tryLater``,
   a bad responder signature, a wrong nonce or serial, or a stale answer → ``ocsp_unavailable``
   (retryable). OCSP freshness is judged on the real clock (the responder's own time base).

Challenge single use and expiry are the caller's (the ledger's atomic test-and-set).
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import aiohttp
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID

from firmware_sim.pki.hierarchy import TestPki

log = logging.getLogger(__name__)

AUTH_PREFIX = b"myna-kiosk-auth/1"
OCSP_SKEW = timedelta(minutes=10)


class JpkiCheckError(Exception):
    """The card's certificate or signature is not accepted; ``code`` is an x-error-codes value."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


@dataclass(frozen=True)
class CheckedCard:
    """A certificate that passed every check."""

    serial: int
    cert_serial_hash: str


def auth_message(session_id: str, challenge: bytes, terminal_id: str) -> bytes:
    """``b"myna-kiosk-auth/1" || session_id || challenge || terminal_id`` (docs/center-protocol.md)."""
    return AUTH_PREFIX + session_id.encode("ascii") + challenge + terminal_id.encode("ascii")


def cert_serial_hash(serial: int) -> str:
    """``sha256(serial.to_bytes(20, "big")).hexdigest()``. Raises OverflowError for a > 20-byte serial."""
    return hashlib.sha256(serial.to_bytes(20, "big")).hexdigest()


#: An in-process OCSP responder: the DER answer to a DER request, or None when it is down.
LocalResponder = Callable[[bytes], bytes | None]


class JpkiChecker:
    """Checks certificates against the PKI's user-auth CA generations and the OCSP responder: over HTTP
    at ``ocsp_url``, or ``local`` (the center's own responder, called in process) when given."""

    def __init__(
        self, pki: TestPki, ocsp_url: str, *, timeout: float = 5.0, local: LocalResponder | None = None
    ) -> None:
        self._pki = pki
        self.ocsp_url = ocsp_url
        self._timeout = timeout
        self.local = local
        self._issuers: dict[x509.Certificate, x509.Certificate] = {}  # certificates by DER

    def check_local(
        self, cert_der: bytes, signature: bytes, message: bytes, now: datetime
    ) -> tuple[x509.Certificate, x509.Certificate]:
        """Steps 1–5; returns (certificate, issuing CA). Raises JpkiCheckError."""
        try:
            cert = x509.load_der_x509_certificate(cert_der)
            public_key = cert.public_key()
        except (ValueError, x509.InvalidVersion) as exc:  # InvalidVersion is not a ValueError
            raise JpkiCheckError("certificate_invalid", "the certificate cannot be parsed") from exc
        issuer = self._issuers.get(cert) or self._pki.issuer_of(cert)
        if issuer is not None and len(self._issuers) < 4096:  # who signed a certificate never changes
            self._issuers[cert] = issuer
        if issuer is None or issuer not in self._pki.auth_ca_certs:
            raise JpkiCheckError("certificate_untrusted", "not issued by a JPKI user-authentication CA")
        if now < cert.not_valid_before_utc:
            raise JpkiCheckError("certificate_not_yet_valid", "the certificate is not valid yet")
        if now > cert.not_valid_after_utc:
            raise JpkiCheckError("certificate_expired", "the certificate has expired")
        try:
            usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
        except x509.ExtensionNotFound as exc:
            raise JpkiCheckError("certificate_invalid", "no keyUsage extension") from exc
        if not usage.digital_signature or not isinstance(public_key, rsa.RSAPublicKey):
            raise JpkiCheckError("certificate_invalid", "not an RSA digitalSignature certificate")
        try:
            public_key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature as exc:
            raise JpkiCheckError("signature_invalid", "the signature does not match this session") from exc
        return cert, issuer

    async def check(
        self,
        cert_der: bytes,
        signature: bytes,
        message: bytes,
        now: datetime,
        http: aiohttp.ClientSession | None = None,
    ) -> CheckedCard:
        """All checks, OCSP included. Raises JpkiCheckError (``ocsp_unavailable`` is retryable)."""
        cert, issuer = self.check_local(cert_der, signature, message, now)
        await self._revocation(cert, issuer, http)
        return CheckedCard(cert.serial_number, cert_serial_hash(cert.serial_number))

    async def _revocation(
        self, cert: x509.Certificate, issuer: x509.Certificate, http: aiohttp.ClientSession | None
    ) -> None:
        nonce = os.urandom(16)
        req = (
            ocsp.OCSPRequestBuilder()
            .add_certificate(cert, issuer, hashes.SHA256())
            .add_extension(x509.OCSPNonce(nonce), critical=False)
            .build()
        )
        body = req.public_bytes(serialization.Encoding.DER)
        if self.local is not None:
            raw_local = self.local(body)
            if raw_local is None:
                raise _unavailable("responder answered HTTP 503 (tryLater)")
            self._judge(raw_local, cert, issuer, nonce)
            return
        if http is None:
            raise _unavailable("no HTTP client for the OCSP responder")
        try:
            async with http.post(
                self.ocsp_url,
                data=body,
                headers={"Content-Type": "application/ocsp-request"},
                timeout=aiohttp.ClientTimeout(total=self._timeout),
            ) as resp:
                if resp.status != 200:
                    raise _unavailable(f"responder answered HTTP {resp.status}")
                raw = await resp.read()
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise _unavailable(f"responder unreachable ({type(exc).__name__})") from exc
        self._judge(raw, cert, issuer, nonce)

    def _judge(self, raw: bytes, cert: x509.Certificate, issuer: x509.Certificate, nonce: bytes) -> None:
        try:
            resp = ocsp.load_der_ocsp_response(raw)
        except ValueError as exc:
            raise _unavailable("unparsable OCSP response") from exc
        if resp.response_status != ocsp.OCSPResponseStatus.SUCCESSFUL:
            raise _unavailable(f"OCSP status {resp.response_status.name}")
        _verify_response_signature(resp, issuer)
        if resp.serial_number != cert.serial_number:
            raise _unavailable("OCSP answer is about another certificate")
        nonces = [e.value.nonce for e in resp.extensions if isinstance(e.value, x509.OCSPNonce)]
        if nonces != [nonce]:
            raise _unavailable("OCSP nonce mismatch")
        real_now = datetime.now(UTC)
        nxt = resp.next_update_utc
        if resp.this_update_utc > real_now + OCSP_SKEW or (nxt is not None and nxt < real_now - OCSP_SKEW):
            raise _unavailable("stale OCSP answer")
        if resp.certificate_status == ocsp.OCSPCertStatus.REVOKED:
            raise JpkiCheckError("certificate_revoked", "the certificate is revoked")
        if resp.certificate_status == ocsp.OCSPCertStatus.UNKNOWN:
            raise JpkiCheckError("certificate_unknown", "the JPKI responder does not know this certificate")


@functools.lru_cache(maxsize=64)
def _delegated_by(candidate: x509.Certificate, issuer: x509.Certificate) -> bool:
    """``candidate`` is an OCSP responder certificate issued by ``issuer`` (signature and EKU OCSPSigning).
    Kept per pair (certificates compare and hash by their DER): the same responder signs every answer."""
    try:
        candidate.verify_directly_issued_by(issuer)
        eku = candidate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except (ValueError, TypeError, InvalidSignature, x509.ExtensionNotFound):
        return False
    return ExtendedKeyUsageOID.OCSP_SIGNING in eku


def _verify_response_signature(resp: ocsp.OCSPResponse, issuer: x509.Certificate) -> None:
    """The response is signed by the issuing CA or by a responder it delegated to (EKU OCSPSigning)."""
    signer = issuer
    for candidate in resp.certificates:
        if _delegated_by(candidate, issuer):
            signer = candidate
            break
    key = signer.public_key()
    if not isinstance(key, rsa.RSAPublicKey) or resp.signature_hash_algorithm is None:
        raise _unavailable("OCSP responder key is not RSA")
    try:
        key.verify(resp.signature, resp.tbs_response_bytes, padding.PKCS1v15(), resp.signature_hash_algorithm)
    except InvalidSignature as exc:
        raise _unavailable("OCSP response signature does not verify") from exc


def _unavailable(why: str) -> JpkiCheckError:
    log.warning("OCSP unavailable: %s", why)
    return JpkiCheckError("ocsp_unavailable", why)
