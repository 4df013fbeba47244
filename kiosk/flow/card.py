"""The card seam over the real reader package: JPKI client on any transport, plus the kiosk's local
certificate checks (configured JPKI user-auth CA, validity, digitalSignature)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from kiosk.flow.ports import CardCheckError, CardRead
from reader.constants import TokenForm
from reader.errors import PinBlockedError, SecurityStatusNotSatisfiedError
from reader.jpki import JpkiClient
from reader.transport import Transport

log = logging.getLogger(__name__)


def check_certificate(der: bytes, trusted: Sequence[x509.Certificate], now: datetime) -> None:
    """The kiosk's own checks before any PIN is asked. Raises CardCheckError (reason key)."""
    try:
        cert = x509.load_der_x509_certificate(der)
    except (ValueError, x509.InvalidVersion) as exc:  # InvalidVersion is not a ValueError
        raise CardCheckError("card_not_usable", "certificate is not DER X.509") from exc
    if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
        raise CardCheckError("card_expired", "outside its validity")
    try:
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound as exc:
        raise CardCheckError("card_not_usable", "no key usage") from exc
    if not usage.digital_signature:
        raise CardCheckError("card_not_usable", "key usage lacks digitalSignature")
    if trusted and not any(_issued_by(cert, ca) for ca in trusted):
        raise CardCheckError("card_not_usable", "not issued by a configured JPKI user-auth CA")


def _issued_by(cert: x509.Certificate, ca: x509.Certificate) -> bool:
    if cert.issuer != ca.subject:
        return False
    key = ca.public_key()
    if not isinstance(key, rsa.RSAPublicKey) or cert.signature_hash_algorithm is None:
        return False
    try:
        key.verify(
            cert.signature, cert.tbs_certificate_bytes, padding.PKCS1v15(), cert.signature_hash_algorithm
        )
    except Exception:  # InvalidSignature and friends: simply not this CA
        return False
    return True


class JpkiCard:
    """CardPort over a reader Transport (pcsc://, sim://, pn532://)."""

    def __init__(
        self,
        transport: Transport,
        trusted: Sequence[x509.Certificate] = (),
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.transport = transport
        self.client = JpkiClient(transport)
        self.trusted = tuple(trusted)
        self.now = now
        self._lock = threading.Lock()
        self._form = TokenForm.CARD

    def read(self, cancel: threading.Event) -> CardRead:
        """Connect, detect the token, then by its form (docs/card.md §11): card — read and check the auth
        certificate, query the PIN tries left; Android — the tries left only (the certificate comes after
        the PIN); iPhone — the phone must have been unlocked (else ``phone_not_unlocked``), then the
        certificate. Raises CardCheckError, reader CardError subclasses."""
        with self._lock:
            self.transport.connect()
            self._form = form = self.client.detect(cancel).form
            if form is TokenForm.ANDROID:
                return CardRead(b"", self.client.pin_status("auth", cancel), form.value)
            try:
                tries = self.client.pin_status("auth", cancel)
            except SecurityStatusNotSatisfiedError as exc:  # an iPhone not unlocked by its holder
                raise CardCheckError("phone_not_unlocked", "the phone was not unlocked") from exc
            except PinBlockedError:
                tries = 0
            if tries <= 0:
                return CardRead(b"", 0, form.value)
            return CardRead(self._checked_certificate(cancel), tries, form.value)

    def _checked_certificate(self, cancel: threading.Event) -> bytes:
        der = self.client.read_certificate_der("auth", cancel)
        check_certificate(der, self.trusted, self.now())
        return der

    def verify_pin(self, pin: str, cancel: threading.Event) -> bytes | None:
        """One VERIFY; the PIN is not kept. On an Android phone the auth certificate is read and checked
        next and returned (None for a card). Raises PinIncorrectError, PinBlockedError, CardCheckError,
        CardError."""
        with self._lock:
            self.client.verify_pin("auth", pin, cancel)
            if self._form is TokenForm.ANDROID:
                return self._checked_certificate(cancel)
            return None

    def sign(self, message: bytes) -> bytes:
        """User-auth signature (SHA-256, PKCS#1 v1.5). Raises CardError subclasses."""
        with self._lock:
            return self.client.sign_sha256("auth", message)

    def power_off(self) -> None:
        """Unpower the card (clears the verified PIN). Never raises."""
        try:
            self.transport.disconnect(unpower=True)
        except Exception:  # a card already gone is already off
            log.debug("power off: card already gone")
