"""The JPKI OCSP responder (RFC 6960) over the test PKI of ``firmware_sim.pki.hierarchy``.

One responder answers for every generation of both JPKI CAs (user-authentication and signature). The
CA a request is about is found by its issuer key hash (all generations share one DN, so the name hash
cannot tell them apart). Answers for the current generation are signed by that CA's delegated
responder certificate (EKU OCSPSigning, sent along in the response); answers for an older generation
are signed by the CA key itself, which RFC 6960 §4.2.2.2 allows without a delegated certificate.

Status: ``revoked`` (time and reason from the PKI's revocation store), ``good`` for a serial that CA
issued, ``unknown`` otherwise. The request nonce is echoed. thisUpdate is "now" on the real clock and
nextUpdate one hour later — OCSP freshness is about real time, not the center's injectable clock.
A request for a CA we do not serve gets ``unauthorized``; an unparsable one ``malformedRequest``.
"""

from __future__ import annotations

import base64
import binascii
import functools
import logging
import urllib.parse
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509 import ocsp

from firmware_sim.pki.hierarchy import TestPki

log = logging.getLogger(__name__)

NEXT_UPDATE = timedelta(hours=1)
BACKDATE = timedelta(minutes=5)  # clock-skew allowance for relying parties
KINDS = ("auth", "sign")
_HASHES: dict[str, type[hashes.HashAlgorithm]] = {"sha1": hashes.SHA1, "sha256": hashes.SHA256}


@dataclass(frozen=True)
class _Target:
    kind: str
    generation: int  # index, oldest first
    ca: x509.Certificate
    current: bool


def issuer_key_hash(ca: x509.Certificate, algorithm: hashes.HashAlgorithm) -> bytes:
    """Hash of the CA's subjectPublicKey BIT STRING contents (RFC 6960 CertID.issuerKeyHash). Kept per CA
    certificate (compared by its DER) for the hashes kiosks use: every request is matched against every CA
    generation."""
    if algorithm.name in _KEPT:
        return _kept_key_hash(ca, algorithm.name)
    return _key_hash(ca, algorithm)


_KEPT = {"sha1": hashes.SHA1, "sha256": hashes.SHA256}


@functools.lru_cache(maxsize=64)
def _kept_key_hash(ca: x509.Certificate, algorithm_name: str) -> bytes:
    return _key_hash(ca, _KEPT[algorithm_name]())


def _key_hash(ca: x509.Certificate, algorithm: hashes.HashAlgorithm) -> bytes:
    key = ca.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("JPKI CAs are RSA")
    raw = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)
    h = hashes.Hash(algorithm)
    h.update(raw)
    return h.finalize()


def decode_get_path(tail: str) -> bytes:
    """The DER request from the GET form ``/ocsp/<url-encoded base64>``. Raises ValueError if garbled."""
    try:
        return base64.b64decode(urllib.parse.unquote(tail), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("the GET path is not base64") from exc


class OcspResponder:
    """Answers DER OCSP requests from the PKI's issued/revoked records."""

    def __init__(self, pki: TestPki) -> None:
        self._pki = pki

    def _find(self, key_hash: bytes, algorithm: hashes.HashAlgorithm) -> _Target | None:
        for kind in KINDS:
            cas = self._pki.ca_certs(kind)  # type: ignore[arg-type]
            for index, ca in enumerate(cas):
                if issuer_key_hash(ca, algorithm) == key_hash:
                    return _Target(kind, index, ca, index == len(cas) - 1)
        return None

    def respond(self, request_der: bytes) -> bytes:
        """The DER OCSP response to ``request_der``; never raises for bad input (answers an error status)."""
        try:
            req = ocsp.load_der_ocsp_request(request_der)
            algorithm = req.hash_algorithm
            key_hash, serial = req.issuer_key_hash, req.serial_number
        except (ValueError, TypeError, NotImplementedError, x509.UnsupportedGeneralNameType) as exc:
            log.info("malformed OCSP request: %s", exc)
            return _unsuccessful(ocsp.OCSPResponseStatus.MALFORMED_REQUEST)
        target = self._find(key_hash, algorithm)
        if target is None:
            log.info("OCSP request for a CA we do not serve (serial %X)", serial)
            return _unsuccessful(ocsp.OCSPResponseStatus.UNAUTHORIZED)
        status, revoked_at, reason = self._status(target, serial)
        now = datetime.now(UTC).replace(microsecond=0) - BACKDATE
        builder = ocsp.OCSPResponseBuilder().add_response_by_hash(
            req.issuer_name_hash,
            key_hash,
            serial,
            algorithm,
            status,
            now,
            now + NEXT_UPDATE + BACKDATE,
            revoked_at,
            reason,
        )
        for ext in req.extensions:
            if isinstance(ext.value, x509.OCSPNonce):
                builder = builder.add_extension(ext.value, critical=False)
        if target.current:
            responder, responder_key = self._pki.issue_ocsp_responder(target.kind)  # type: ignore[arg-type]
            builder = builder.responder_id(ocsp.OCSPResponderEncoding.HASH, responder).certificates(
                [responder]
            )
            signing_key = responder_key
        else:
            builder = builder.responder_id(ocsp.OCSPResponderEncoding.HASH, target.ca)
            signing_key = self._pki.ca_key(target.kind, target.generation)  # type: ignore[arg-type]
        log.info("OCSP %s gen %d serial %X -> %s", target.kind, target.generation + 1, serial, status.name)
        return builder.sign(signing_key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)

    def _status(
        self, target: _Target, serial: int
    ) -> tuple[ocsp.OCSPCertStatus, datetime | None, x509.ReasonFlags | None]:
        issued = self._pki.issued(serial)
        if issued is None or issued.kind != target.kind or issued.generation != target.generation:
            return ocsp.OCSPCertStatus.UNKNOWN, None, None
        revoked = self._pki.revocation_status(serial)
        if revoked is None:
            return ocsp.OCSPCertStatus.GOOD, None, None
        reason = None if revoked.reason == x509.ReasonFlags.unspecified else revoked.reason
        return ocsp.OCSPCertStatus.REVOKED, revoked.revoked_at.astimezone(UTC).replace(microsecond=0), reason


def _unsuccessful(status: ocsp.OCSPResponseStatus) -> bytes:
    return ocsp.OCSPResponseBuilder.build_unsuccessful(status).public_bytes(serialization.Encoding.DER)


def try_later() -> bytes:
    """A ``tryLater`` response (the responder is "down" by operator fault)."""
    return _unsuccessful(ocsp.OCSPResponseStatus.TRY_LATER)
