"""The JPKI AP client (公的個人認証AP): detection, certificates, PINs, signatures.

Speaks to any ``Transport``; knows nothing of pyscard. The PIN is only a local variable of the
call that sends it: never an attribute, never logged.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from dataclasses import dataclass
from enum import StrEnum

from cryptography import x509

from reader.apdu import CommandApdu
from reader.appclient import AppClient
from reader.constants import (
    AUTH_PIN_MAX_TRIES,
    CERT_PRESENT,
    KIOSK_FORMS,
    SHA256_DIGESTINFO_PREFIX,
    SIGN_P2_CURRENT_EF,
    SIGN_PIN_MAX_TRIES,
    TOKEN_FORMS,
    TOKEN_LABEL_SIZE,
    VERIFY_P2_CURRENT_EF,
    Aid,
    Cla,
    Ins,
    JpkiFile,
    SignScheme,
    TokenForm,
    TokenLabel,
)
from reader.errors import FileNotFoundOnCardError, NotMyNumberCardError, ProtocolError
from reader.pin import check_auth_pin, check_sign_pin

log = logging.getLogger(__name__)

MAX_CERT_SIZE = 16 * 1024  # real certificates are ~1.3–1.8 KB
SIGNATURE_SIZE = 256  # RSA-2048
MAX_SIGN_INPUT = 245  # PKCS#1 v1.5 type 1 with a 2048-bit key: 256 - 11
CHANGE_PIN_P1 = 0x01


class CertKind(StrEnum):
    """The four certificates of the JPKI AP (CLI names)."""

    AUTH = "auth"
    AUTH_CA = "auth-ca"
    SIGN = "sign"
    SIGN_CA = "sign-ca"


class KeyKind(StrEnum):
    """The two key pairs, each with its own PIN."""

    AUTH = "auth"
    SIGN = "sign"


_CERT_FILE = {
    CertKind.AUTH: JpkiFile.AUTH_CERT,
    CertKind.AUTH_CA: JpkiFile.AUTH_CA_CERT,
    CertKind.SIGN: JpkiFile.SIGN_CERT,
    CertKind.SIGN_CA: JpkiFile.SIGN_CA_CERT,
}
_PIN_FILE = {KeyKind.AUTH: JpkiFile.AUTH_PIN, KeyKind.SIGN: JpkiFile.SIGN_PIN}
_KEY_FILE = {KeyKind.AUTH: JpkiFile.AUTH_KEY, KeyKind.SIGN: JpkiFile.SIGN_KEY}
_MAX_TRIES = {KeyKind.AUTH: AUTH_PIN_MAX_TRIES, KeyKind.SIGN: SIGN_PIN_MAX_TRIES}
_TOKENS = {
    TokenLabel.MY_NUMBER_CARD: "My Number card (個人番号カード)",
    TokenLabel.JUKI_CARD: "住基カード (Basic Resident Register card)",
    TokenLabel.SMARTPHONE_ANDROID: "smartphone JPKI certificate (Android)",
    TokenLabel.SMARTPHONE_IOS: "smartphone JPKI certificate (iPhone)",
}


@dataclass(frozen=True)
class CardInfo:
    """A detected My Number card or smartphone: its token label, what that means, the reader and ATR."""

    token: str
    description: str
    reader: str
    atr: bytes

    @property
    def form(self) -> TokenForm:
        """Card, Android or iPhone (by the token label)."""
        return TOKEN_FORMS[self.token]

    @property
    def auth_cert_needs_pin(self) -> bool:
        """The auth certificate is readable only once the auth PIN is verified (Android's secure element)
        or the holder unlocked the phone (iPhone, assumed): docs/card.md §11."""
        return self.form is not TokenForm.CARD


@dataclass(frozen=True)
class CertPresence:
    """File 0008: which end-entity certificates the card holds (no sign cert under 15)."""

    auth: bool
    sign: bool


def decode_token_label(raw: bytes) -> str:
    """The token label from the first 32 bytes of file 0006 (space/NUL padded ASCII).

    Raises ProtocolError when it is not printable ASCII.
    """
    label = raw[:TOKEN_LABEL_SIZE].rstrip(b" \x00")
    if not label or not all(0x20 <= b < 0x7F for b in label):
        raise ProtocolError(f"token label is not printable ASCII: {raw[:TOKEN_LABEL_SIZE].hex(' ').upper()}")
    return label.decode("ascii")


def sha256_digest_info(message: bytes) -> bytes:
    """The DER DigestInfo of SHA-256(message): what the card signs for sha256WithRSAEncryption."""
    return SHA256_DIGESTINFO_PREFIX + hashlib.sha256(message).digest()


class JpkiClient(AppClient):
    """公的個人認証AP over any transport. Every method raises only CardError subclasses (plus
    ValueError / PinFormatError for bad arguments, checked before anything is sent)."""

    AID = Aid.JPKI

    def detect(
        self, cancel: threading.Event | None = None, accept: tuple[TokenForm, ...] = KIOSK_FORMS
    ) -> CardInfo:
        """SELECT the JPKI AP and read the token label (file 0006): the card, an Android phone or an
        iPhone (``accept`` narrows that, e.g. to the card alone).

        Raises NotMyNumberCardError (no JPKI AP, or a token not accepted: 住基カード, an unknown token — the
        label is in ``.token``), CardError subclasses.
        """
        try:
            self.select_ap(cancel, force=True)
        except FileNotFoundOnCardError as exc:
            raise NotMyNumberCardError("no JPKI application on this card: not a My Number card") from exc
        raw = self.read_exact(JpkiFile.TOKEN_INFO, TOKEN_LABEL_SIZE, cancel)
        token = decode_token_label(raw)
        if TOKEN_FORMS.get(token) not in accept:
            what = _TOKENS.get(token, "an unknown JPKI token")
            raise NotMyNumberCardError(f"not a My Number card: {what} (token {token!r})", token=token)
        return CardInfo(token, _TOKENS[token], self.transport.name, self.transport.atr)

    def read_certificate_der(self, which: CertKind | str, cancel: threading.Event | None = None) -> bytes:
        """The DER bytes of one certificate, exactly as stored.

        Raises SecurityStatusNotSatisfiedError (sign cert before the sign PIN), ProtocolError
        (truncated, oversized or malformed data), CardError subclasses.
        """
        fid = _CERT_FILE[CertKind(which)]
        return self.read_object(fid, max_size=MAX_CERT_SIZE, cancel=cancel)

    def read_certificate(
        self, which: CertKind | str, cancel: threading.Event | None = None
    ) -> x509.Certificate:
        """One certificate, parsed. Raises ProtocolError when it is not a valid X.509 DER
        certificate, plus everything read_certificate_der raises."""
        der = self.read_certificate_der(which, cancel)
        try:
            return x509.load_der_x509_certificate(der)
        except (ValueError, x509.InvalidVersion) as exc:  # InvalidVersion is not a ValueError
            raise ProtocolError(f"{CertKind(which).value} certificate is not valid DER X.509: {exc}") from exc

    def cert_presence(self, cancel: threading.Event | None = None) -> CertPresence:
        """File 0008. Raises ProtocolError when it is shorter than 2 bytes, CardError subclasses."""
        raw = self.read_exact(JpkiFile.CERT_PRESENCE, 2, cancel)
        return CertPresence(auth=raw[1] == CERT_PRESENT, sign=raw[0] == CERT_PRESENT)

    def pin_status(self, kind: KeyKind | str, cancel: threading.Event | None = None) -> int:
        """Tries left for a PIN (empty VERIFY, which consumes nothing); 0 when locked
        (63 C0 or 69 84); the maximum when the card only says 90 00 (verified this session).

        Raises CardError subclasses.
        """
        kind = KeyKind(kind)
        self.select_ef(_PIN_FILE[kind], cancel)
        left = self.status_query(VERIFY_P2_CURRENT_EF, cancel)
        return _MAX_TRIES[kind] if left is None else left

    def verify_pin(self, kind: KeyKind | str, pin: str, cancel: threading.Event | None = None) -> None:
        """VERIFY a PIN. Its format is checked before anything is sent (auth: exactly 4 digits;
        sign: 6–16 A–Z/0–9, upper-cased), so an empty VERIFY is never sent by mistake.

        Raises PinFormatError, PinIncorrectError (``tries_left``), PinBlockedError, CardError subclasses.
        """
        kind = KeyKind(kind)
        secret = check_auth_pin(pin) if kind is KeyKind.AUTH else check_sign_pin(pin)
        self.select_ef(_PIN_FILE[kind], cancel)
        self.call(CommandApdu(Cla.ISO, Ins.VERIFY, 0x00, VERIFY_P2_CURRENT_EF, secret), cancel)
        log.info("%s PIN verified", kind.value)

    def change_pin(
        self, kind: KeyKind | str, old: str, new: str, cancel: threading.Event | None = None
    ) -> None:
        """VERIFY the old PIN, then CHANGE REFERENCE DATA to the new one (both format-checked first).

        Raises PinFormatError, PinIncorrectError, PinBlockedError, CardError subclasses.
        """
        kind = KeyKind(kind)
        check = check_auth_pin if kind is KeyKind.AUTH else check_sign_pin
        new_secret = check(new)
        self.verify_pin(kind, old, cancel)
        cmd = CommandApdu(Cla.ISO, Ins.CHANGE_REFERENCE_DATA, CHANGE_PIN_P1, VERIFY_P2_CURRENT_EF, new_secret)
        self.call(cmd, cancel)
        log.info("%s PIN changed", kind.value)

    def sign(self, kind: KeyKind | str, digest_info: bytes, cancel: threading.Event | None = None) -> bytes:
        """COMPUTE DIGITAL SIGNATURE (P1 00: PKCS#1 v1.5 over ``digest_info`` as given) with a key
        whose PIN was verified. Returns the 256-byte signature.

        Raises ValueError for empty or over-long input (nothing sent), SecurityStatusNotSatisfiedError
        (PIN not verified), ProtocolError (not 256 bytes back), CardError subclasses.
        """
        kind = KeyKind(kind)
        if not 0 < len(digest_info) <= MAX_SIGN_INPUT:
            raise ValueError(f"signature input must be 1..{MAX_SIGN_INPUT} bytes, got {len(digest_info)}")
        self.select_ef(_KEY_FILE[kind], cancel)
        cmd = CommandApdu(
            Cla.PROPRIETARY,
            Ins.COMPUTE_DIGITAL_SIGNATURE,
            SignScheme.PKCS1_GIVEN,
            SIGN_P2_CURRENT_EF,
            digest_info,
            le=256,
        )
        signature = self.call(cmd, cancel)
        if len(signature) != SIGNATURE_SIZE:
            raise ProtocolError(f"signature is {len(signature)} bytes, expected {SIGNATURE_SIZE}")
        return signature

    def sign_sha256(
        self, kind: KeyKind | str, message: bytes, cancel: threading.Event | None = None
    ) -> bytes:
        """Sign SHA-256(message) as sha256WithRSAEncryption (the card gets the DigestInfo).
        Raises what ``sign`` raises."""
        return self.sign(kind, sha256_digest_info(message), cancel)
