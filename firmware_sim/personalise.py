"""Card personalisation: keys, certificates, JPKI and 券面 AP files, PINs → a card image.

A card is personalised as one generation (``firmware_sim.card.generation``): its ATR, the header
form of the basic-info file and the APs' identification bytes follow that generation.

The result is written through :class:`firmware_sim.card.image.CardImage` (the card-OS engineer's format).
PINs are checked for format here and handed to the image, which stores only salted hashes;
nothing in this module logs or prints a PIN, and error messages never contain one.
"""

from __future__ import annotations

import logging
import re
import secrets
import struct
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from firmware_sim.card.cvc import (
    FACE_AP_CA_NUMBER,
    TEXT_AP_BASIC_KEY_NUMBER,
    TEXT_AP_CA_NUMBER,
    build_cv_certificate,
    key_id,
    municipality_key_number,
)
from firmware_sim.card.generation import DEFAULT_GENERATION, GenerationProfile, profile_for
from firmware_sim.card.image import CardImage, PinSpec
from firmware_sim.card.kakunin.data import FaceApKeys, FaceCodes, build_kakunin_files, card_expiry, face_codes
from firmware_sim.card.kenmen.data import AP_TRAILER_VALUE_SIZE, build_ap_basic_info_file, build_kenmen_files
from firmware_sim.holder import Holder
from firmware_sim.pki.hierarchy import KeyFactory, TestPki, new_rsa_key
from firmware_sim.pki.profile import opaque_id
from firmware_sim.pki.revocation import serial_hex
from firmware_sim.pki.store import key_pem
from reader.constants import (
    AUTH_PIN_MAX_TRIES,
    CERT_PRESENT,
    CODE_MAX_TRIES,
    KENMEN_PIN_MAX_TRIES,
    SIGN_PIN_MAX_TRIES,
    TOKEN_INFO_SIZE,
    CardGeneration,
    JpkiFile,
    KenmenFile,
    TokenForm,
    TokenLabel,
)

log = logging.getLogger(__name__)

_DIGITS4 = re.compile(r"^[0-9]{4}$")
_SIGN_PIN = re.compile(r"^[A-Z0-9]{6,16}$")
_END_OF_DAY_JST_UTC = time(14, 59, 59, tzinfo=UTC)  # 23:59:59 JST
_JST = timedelta(hours=9)
CERT_ABSENT = 0x00
_DER = Encoding.DER

# PKCS#11 CK_TOKEN_INFO constants (32-bit on the card).
CKF_RNG, CKF_WRITE_PROTECTED, CKF_LOGIN_REQUIRED = 0x1, 0x2, 0x4
CKF_USER_PIN_INITIALIZED, CKF_TOKEN_INITIALIZED = 0x8, 0x400
CK_EFFECTIVELY_INFINITE, CK_UNAVAILABLE_INFORMATION = 0, 0xFFFFFFFF
#: The token label a smartphone is personalised with, by form.
PHONE_LABELS: dict[TokenForm, str] = {
    TokenForm.ANDROID: TokenLabel.SMARTPHONE_ANDROID,
    TokenForm.IPHONE: TokenLabel.SMARTPHONE_IOS,
}


@dataclass(frozen=True)
class PersonalisedCard:
    """What personalisation produced (the image itself is at ``path``)."""

    path: Path
    auth_cert: x509.Certificate
    sign_cert: x509.Certificate | None
    auth_serial_hex: str
    sign_serial_hex: str | None
    holder: Holder
    generation: CardGeneration
    codes: FaceCodes | None  # 照合番号A/B and the birth-date key: printed-card data (None: a phone)


def validate_pins(auth_pin: str, sign_pin: str | None, kenmen_pin: str) -> None:
    """Check PIN formats (docs/card.md §5). Raises ValueError; messages never contain the PIN."""
    if not _DIGITS4.match(auth_pin):
        raise ValueError("auth PIN (利用者証明用) must be exactly 4 digits")
    if not _DIGITS4.match(kenmen_pin):
        raise ValueError("kenmen PIN (券面事項入力補助用) must be exactly 4 digits")
    if sign_pin is None:
        return
    if sign_pin != sign_pin.upper() and _SIGN_PIN.match(sign_pin.upper()):
        raise ValueError(
            "sign PIN (署名用パスワード) must be upper-case: the card compares raw bytes (A–Z, 0–9)"
        )
    if not _SIGN_PIN.match(sign_pin):
        raise ValueError("sign PIN (署名用パスワード) must be 6–16 characters of A–Z and 0–9")


def _padded(text: str, size: int) -> bytes:
    raw = text.encode("ascii")
    if len(raw) > size:
        raise ValueError(f"{text!r} does not fit in {size} bytes")
    return raw.ljust(size, b" ")


def build_token_info(serial_number: str, *, label: str = TokenLabel.MY_NUMBER_CARD) -> bytes:
    """JPKI EF 0006: a CK_TOKEN_INFO with 32-bit big-endian CK_ULONGs, 160 bytes.

    Raises ValueError if a text field does not fit.
    """
    flags = (
        CKF_RNG | CKF_WRITE_PROTECTED | CKF_LOGIN_REQUIRED | CKF_USER_PIN_INITIALIZED | CKF_TOKEN_INITIALIZED
    )
    info = (
        _padded(label, 32)
        + _padded("J-LIS", 32)
        + _padded("JPKI-AP ICC", 16)
        + _padded(serial_number, 16)
        + struct.pack(
            ">11L",
            flags,
            # sessions (max, current), r/w sessions (max, current)
            CK_EFFECTIVELY_INFINITE,
            CK_UNAVAILABLE_INFORMATION,
            CK_EFFECTIVELY_INFINITE,
            CK_UNAVAILABLE_INFORMATION,
            # max / min PIN length over the card's PINs (sign 16, auth/kenmen 4)
            16,
            4,
            # public memory (total, free), private memory (total, free)
            CK_UNAVAILABLE_INFORMATION,
            CK_UNAVAILABLE_INFORMATION,
            CK_UNAVAILABLE_INFORMATION,
            CK_UNAVAILABLE_INFORMATION,
        )
        + bytes([1, 0, 1, 0])  # hardwareVersion 1.0, firmwareVersion 1.0
        + b" " * 16  # utcTime: the card has no clock
    )
    assert len(info) == TOKEN_INFO_SIZE
    return info


def build_cert_presence(*, with_sign_cert: bool) -> bytes:
    """JPKI EF 0008: ``8F 8F 00`` (byte 0 = sign certificate, byte 1 = auth certificate)."""
    return bytes([CERT_PRESENT if with_sign_cert else CERT_ABSENT, CERT_PRESENT, 0x00])


def fifth_birthday_after(birth: date, issued: date) -> date:
    """The holder's 5th birthday strictly after ``issued`` (29 Feb → 28 Feb in common years)."""

    def birthday(year: int) -> date:
        try:
            return birth.replace(year=year)
        except ValueError:
            return date(year, 2, 28)

    year = issued.year if birthday(issued.year) > issued else issued.year + 1
    return birthday(year + 4)


def certificate_validity(
    holder: Holder, *, now: datetime, not_before: datetime | None, not_after: datetime | None, expired: bool
) -> tuple[datetime, datetime]:
    """(notBefore, notAfter): default now → 23:59:59 JST of the 5th birthday after issuance
    (docs/card.md §7.3); ``expired`` gives a window that ended yesterday.

    Raises ValueError for naive datetimes, ``expired`` together with ``not_after``, or an inverted window.
    """
    for label, value in (("not_before", not_before), ("not_after", not_after)):
        if value is not None and value.tzinfo is None:
            raise ValueError(f"{label} must be timezone-aware")
    if expired and not_after is not None:
        raise ValueError("give either expired=True or not_after, not both")
    if expired:
        end = datetime.combine((now + _JST).date() - timedelta(days=1), _END_OF_DAY_JST_UTC)
        start = not_before or end.replace(year=end.year - 5, day=min(end.day, 28))
    else:
        start = not_before or now
        issued_jst = (start + _JST).date()
        end = not_after or datetime.combine(
            fifth_birthday_after(holder.birth_date, issued_jst), _END_OF_DAY_JST_UTC
        )
    if end <= start:
        raise ValueError(
            f"certificate validity ends ({end.isoformat()}) before it starts ({start.isoformat()})"
        )
    return start, end


def personalise_card(
    path: Path,
    *,
    pki: TestPki,
    holder: Holder,
    auth_pin: str = "1234",
    sign_pin: str = "ABC123",
    kenmen_pin: str = "1234",
    not_before: datetime | None = None,
    not_after: datetime | None = None,
    expired: bool = False,
    with_sign_cert: bool = True,
    generation: CardGeneration | str = DEFAULT_GENERATION,
    atr: bytes | None = None,
    issued_by: str = "firmware-sim",
    key_factory: KeyFactory | None = None,
    form: str = TokenForm.CARD,
) -> PersonalisedCard:
    """Issue a complete virtual My Number card of ``generation`` for ``holder`` and write its image
    to ``path``; ``atr`` overrides the generation's ATR.

    ``form`` ``android`` or ``iphone`` issues a smartphone instead (docs/card.md §11): token label
    ``JPKIAPGPSETOKEN`` / ``JPKIAPIOSTOKEN``, the two JPKI PINs only, no 券面 APs; an iPhone gets no
    signature key pair (an assumption, firmware_sim/phone/iphone.py A2). The certificates come from the
    same test CAs as the card's (docs/card.md §11.3).

    Raises ValueError for a bad PIN format, an unknown generation, an invalid holder or a bad validity
    window; PkiError if the PKI cannot be used; OSError / CardImageError if the image cannot be written.
    """
    form = TokenForm(form)
    if form not in PHONE_LABELS and form is not TokenForm.CARD:
        raise ValueError(f"cannot personalise a {form.value!r}")
    with_sign_cert = with_sign_cert and form is not TokenForm.IPHONE
    validate_pins(auth_pin, sign_pin if with_sign_cert else None, kenmen_pin)
    profile = profile_for(generation)
    holder.validate()
    start, end = certificate_validity(
        holder, now=datetime.now(UTC), not_before=not_before, not_after=not_after, expired=expired
    )
    make_key = key_factory or new_rsa_key
    auth_key = make_key()
    auth_cert = pki.issue_auth_certificate(
        auth_key.public_key(), not_before=start, not_after=end, cn=opaque_id(holder.municipality_code)
    )
    jpki_files: dict[int, bytes] = {
        JpkiFile.TOKEN_INFO: build_token_info(
            f"{secrets.randbits(52):016d}", label=PHONE_LABELS.get(form, TokenLabel.MY_NUMBER_CARD)
        ),
        JpkiFile.CERT_PRESENCE: build_cert_presence(with_sign_cert=with_sign_cert),
        JpkiFile.AUTH_CERT: auth_cert.public_bytes(_DER),
        JpkiFile.AUTH_CA_CERT: pki.auth_ca_cert.public_bytes(_DER),
    }
    pins = {
        "auth": PinSpec(auth_pin.encode("ascii"), AUTH_PIN_MAX_TRIES),
        "kenmen": PinSpec(kenmen_pin.encode("ascii"), KENMEN_PIN_MAX_TRIES),
    }
    meta = _meta(holder, auth_cert, issued_by)
    if form is not TokenForm.CARD:
        del pins["kenmen"]
        meta["form"] = form.value
    sign_cert = None
    sign_key_pem = None
    if with_sign_cert:
        sign_key = make_key()
        sign_cert = pki.issue_sign_certificate(sign_key.public_key(), holder, not_before=start, not_after=end)
        jpki_files[JpkiFile.SIGN_CERT] = sign_cert.public_bytes(_DER)
        jpki_files[JpkiFile.SIGN_CA_CERT] = pki.sign_ca_cert.public_bytes(_DER)
        pins["sign"] = PinSpec(sign_pin.encode("ascii"), SIGN_PIN_MAX_TRIES)
        meta["sign_cert_serial"] = serial_hex(sign_cert.serial_number)
        sign_key_pem = key_pem(sign_key)
    if form is TokenForm.CARD:
        face = _card_face_files(pki, holder, profile, make_key)
        pins.update(_code_pins(face.codes))
        meta.update(generation=profile.generation.value, card_expiry=face.expiry.isoformat())
        kenmen_files, kakunin_files, codes = face.kenmen, face.kakunin, face.codes
    else:  # a phone carries the JPKI AP only (docs/card.md §11): no 券面 APs, no card-face codes
        kenmen_files, kakunin_files, codes = {}, {}, None
    CardImage.create(
        Path(path),
        atr=profile.atr if atr is None else atr,
        jpki_files=jpki_files,
        auth_key_pem=key_pem(auth_key),
        sign_key_pem=sign_key_pem,
        kenmen_files=kenmen_files,
        kakunin_files=kakunin_files,
        pins=pins,
        meta=meta,
    )
    log.info("personalised card %s (auth serial %s)", path, meta["auth_cert_serial"])
    return PersonalisedCard(
        path=Path(path),
        auth_cert=auth_cert,
        sign_cert=sign_cert,
        auth_serial_hex=meta["auth_cert_serial"],
        sign_serial_hex=meta.get("sign_cert_serial"),
        holder=holder,
        generation=profile.generation,
        codes=codes,
    )


@dataclass(frozen=True)
class _FaceFiles:
    kenmen: dict[int, bytes]
    kakunin: dict[int, bytes]
    codes: FaceCodes
    expiry: date


def _card_face_files(
    pki: TestPki, holder: Holder, profile: GenerationProfile, make_key: KeyFactory
) -> _FaceFiles:
    """Both 券面 APs' files: the text AP (0001–0005) and the card-face AP (0001–0005)."""
    signer = pki.kenmen_signing_key()
    expiry = card_expiry(holder.birth_date, (datetime.now(UTC) + _JST).date())
    codes = face_codes(holder, expiry, f"{secrets.randbelow(10_000):04d}")
    subject = key_id(municipality_key_number(holder.municipality_code))
    kenmen: dict[int, bytes] = {
        KenmenFile(fid): content
        for fid, content in build_kenmen_files(
            holder, signer, long_header=profile.long_basic_info_header
        ).items()
    }
    kenmen[KenmenFile.AP_CERTIFICATE] = build_cv_certificate(
        key_id(TEXT_AP_CA_NUMBER), subject, signer.public_key(), pki.cv_ca_key(TEXT_AP_CA_NUMBER)
    )
    kenmen[KenmenFile.AP_BASIC_INFO] = build_ap_basic_info_file(
        profile.text_ap_identification,
        key_id(TEXT_AP_BASIC_KEY_NUMBER),
        secrets.token_bytes(AP_TRAILER_VALUE_SIZE),  # meaning not public: random, like unknown data
    )
    keys = FaceApKeys(
        card_key=make_key().public_key(), signer=signer, ca_key=pki.cv_ca_key(FACE_AP_CA_NUMBER)
    )
    kakunin = build_kakunin_files(
        holder,
        keys=keys,
        expiry=expiry,
        security_code=codes.code_b[-4:],
        identification=profile.face_ap_identification,
        reference=secrets.token_bytes(256),
    )
    return _FaceFiles(kenmen, kakunin, codes, expiry)


def _code_pins(codes: FaceCodes) -> dict[str, PinSpec]:
    """The card-face key references of both 券面 APs (not chosen by the holder, docs/card.md §5)."""
    a, b, birth = (value.encode("ascii") for value in (codes.code_a, codes.code_b, codes.birth_key))
    return {
        "kenmen_a": PinSpec(a, CODE_MAX_TRIES),
        "kenmen_b": PinSpec(b, CODE_MAX_TRIES),
        "face_a": PinSpec(a, CODE_MAX_TRIES),
        "face_b": PinSpec(b, CODE_MAX_TRIES),
        "face_birth": PinSpec(birth, CODE_MAX_TRIES),
    }


def _meta(holder: Holder, auth_cert: x509.Certificate, issued_by: str) -> dict[str, str]:
    cn = auth_cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value
    return {
        "holder_id": holder.holder_id,
        "auth_cert_serial": serial_hex(auth_cert.serial_number),
        "auth_cn": str(cn),
        "issued_by": issued_by,
        "holder_name": holder.name,
        "holder_kana": holder.kana,
        "holder_birth_date": holder.birth_date.isoformat(),
        "holder_sex": str(int(holder.sex)),
        "holder_address": holder.address,
        "municipality_code": holder.municipality_code,
        "foreign_national": "1" if holder.foreign_national else "0",
    }
