"""The 券面事項確認AP client (the card-face AP): the printed card face, behind 照合番号A or B.

Key references (docs/card.md §6.1): ``0013`` 照合番号A (the My Number), ``0012`` 照合番号B (birth
YYMMDD in the era year + expiry year + security code), ``0011`` the birth date alone. ``0003`` (AP
basic information) and ``0004`` (card-verifiable certificate) need nothing; ``0002`` the card face
needs A or B, ``0005`` the rendered My Number A, ``0001`` the age record the birth date.

Records are signed by the municipality key that ``0004`` certifies; :func:`verify_card_face` and
:func:`verify_record` check them. Images are returned as stored (PNG, and JPEG 2000 for the photo).
Personal data is never logged.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import threading
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from reader import ber
from reader.apdu import CommandApdu
from reader.appclient import AppClient
from reader.constants import (
    CODE_MAX_TRIES,
    KAKUNIN_TAG_AP_BASIC_INFO,
    KAKUNIN_TAG_AP_IDENTIFICATION,
    KAKUNIN_TAG_AP_KEY_ID,
    KAKUNIN_TAG_AP_MUNICIPALITY,
    KAKUNIN_TAG_AP_VERSION,
    KAKUNIN_TAG_CARD_FACE,
    KAKUNIN_TAG_FACE_ADDRESS_IMAGE,
    KAKUNIN_TAG_FACE_BIRTH,
    KAKUNIN_TAG_FACE_CODE_IMAGE,
    KAKUNIN_TAG_FACE_EXPIRY,
    KAKUNIN_TAG_FACE_KEY,
    KAKUNIN_TAG_FACE_NAME_IMAGE,
    KAKUNIN_TAG_FACE_PHOTO,
    KAKUNIN_TAG_FACE_SEX,
    KAKUNIN_TAG_FACE_SIGNATURE,
    KAKUNIN_TAG_NUMBER_IMAGE,
    KAKUNIN_TAG_NUMBER_KEY,
    KAKUNIN_TAG_NUMBER_PNG,
    KAKUNIN_TAG_NUMBER_SIGNATURE,
    SHA256_DIGESTINFO_PREFIX,
    VERIFY_P2_CURRENT_EF,
    Aid,
    Cla,
    Ins,
    KakuninFile,
)
from reader.cvc import CvCertificate, KeyId, parse_cv_certificate, parse_key_id, parse_rsa_public_key
from reader.errors import PinFormatError, ProtocolError
from reader.kenmen import check_code_a, check_code_b

log = logging.getLogger(__name__)

MAX_FILE_SIZE = 64 * 1024  # the card face holds a photograph
BIRTH_KEY_DIGITS = 6
_SIGNED_GROUPS = (
    (KAKUNIN_TAG_FACE_BIRTH, KAKUNIN_TAG_FACE_SEX, KAKUNIN_TAG_FACE_KEY),
    (KAKUNIN_TAG_FACE_NAME_IMAGE, KAKUNIN_TAG_FACE_ADDRESS_IMAGE),
    (KAKUNIN_TAG_FACE_PHOTO,),
)
_SHA256_ALGORITHM = SHA256_DIGESTINFO_PREFIX[2:17]  # the AlgorithmIdentifier inside the DigestInfo


@dataclass(frozen=True)
class Field:
    """One object of a record: its value and its bytes as written (what signatures cover)."""

    value: bytes
    raw: bytes


def record_fields(raw: bytes, tag: int) -> dict[int, Field]:
    """The objects inside record ``tag`` (first occurrence wins). Raises ProtocolError."""
    outer = ber.parse_tlv(raw, lenient=True)
    if outer.tag != tag:
        raise ProtocolError(f"record has tag {outer.tag:X}, expected {tag:X}")
    found: dict[int, Field] = {}
    offset = 0
    for tlv in ber.iter_tlvs(outer.value, lenient=True):
        found.setdefault(tlv.tag, Field(tlv.value, outer.value[offset : offset + tlv.total_length]))
        offset += tlv.total_length
    return found


def _need(fields: dict[int, Field], *tags: int) -> list[bytes]:
    missing = [f"{tag:X}" for tag in tags if tag not in fields]
    if missing:
        raise ProtocolError(f"record lacks {', '.join(missing)}")
    return [fields[tag].value for tag in tags]


@dataclass(frozen=True)
class FaceApBasicInfo:
    """File 0003: identification, a key identifier, a version, the issuing municipality (5 digits)."""

    identification: bytes
    key_id: KeyId
    version: int
    municipality_code: str


@dataclass(frozen=True)
class CardFace:
    """File 0002. Dates are ``YYYYMMDD``; images as stored; ``fields`` for signature checks."""

    birth: str
    sex: str
    expiry: str
    card_key: rsa.RSAPublicKey
    name_image: bytes
    address_image: bytes
    photo: bytes
    security_code_image: bytes
    fields: dict[int, Field]


def parse_face_ap_basic_info(raw: bytes) -> FaceApBasicInfo:
    """File 0003 (``FF 30``). Raises ProtocolError."""
    fields = record_fields(raw, KAKUNIN_TAG_AP_BASIC_INFO)
    ident, key, version, municipality = _need(
        fields,
        KAKUNIN_TAG_AP_IDENTIFICATION,
        KAKUNIN_TAG_AP_KEY_ID,
        KAKUNIN_TAG_AP_VERSION,
        KAKUNIN_TAG_AP_MUNICIPALITY,
    )
    if len(version) != 1:
        raise ProtocolError("AP version is not one byte")
    return FaceApBasicInfo(ident, parse_key_id(key), version[0], municipality.decode("ascii", "replace"))


def parse_card_face(raw: bytes) -> CardFace:
    """File 0002 (``FF 20`` behind an offset table). Raises ProtocolError."""
    fields = record_fields(raw, KAKUNIN_TAG_CARD_FACE)
    birth, sex, key, name, address, photo, expiry, code = _need(
        fields,
        KAKUNIN_TAG_FACE_BIRTH,
        KAKUNIN_TAG_FACE_SEX,
        KAKUNIN_TAG_FACE_KEY,
        KAKUNIN_TAG_FACE_NAME_IMAGE,
        KAKUNIN_TAG_FACE_ADDRESS_IMAGE,
        KAKUNIN_TAG_FACE_PHOTO,
        KAKUNIN_TAG_FACE_EXPIRY,
        KAKUNIN_TAG_FACE_CODE_IMAGE,
    )
    _need(fields, KAKUNIN_TAG_FACE_SIGNATURE)
    return CardFace(
        birth.decode("ascii", "replace"),
        sex.decode("ascii", "replace"),
        expiry.decode("ascii", "replace"),
        parse_rsa_public_key(key),
        name,
        address,
        photo,
        code,
        fields,
    )


def verify_card_face(face: CardFace, signer: rsa.RSAPublicKey) -> None:
    """Check the card face's signature: one DigestInfo holding three SHA-256 digests (birth, sex and
    key; the two text images; the photo). Raises ProtocolError when it does not verify."""
    digests = b"".join(
        hashlib.sha256(b"".join(face.fields[tag].raw for tag in group)).digest() for group in _SIGNED_GROUPS
    )
    inner = _SHA256_ALGORITHM + b"\x04" + bytes([len(digests)]) + digests
    expected = b"\x30" + bytes([len(inner)]) + inner
    try:
        recovered = signer.recover_data_from_signature(
            face.fields[KAKUNIN_TAG_FACE_SIGNATURE].value, padding.PKCS1v15(), None
        )
    except InvalidSignature as exc:
        raise ProtocolError("card face signature does not verify") from exc
    if not hmac.compare_digest(recovered, expected):
        raise ProtocolError("card face signature covers other data")


def verify_record(raw: bytes, tag: int, signature_tag: int, signer: rsa.RSAPublicKey) -> dict[int, Field]:
    """Check a record signed over every object before ``signature_tag`` (0001, 0005); returns its
    fields. Raises ProtocolError."""
    fields = record_fields(raw, tag)
    _need(fields, signature_tag)
    signed = b"".join(f.raw for t, f in fields.items() if t != signature_tag)
    try:
        signer.verify(fields[signature_tag].value, signed, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature as exc:
        raise ProtocolError(f"record {tag:X} signature does not verify") from exc
    return fields


def check_birth_key(code: str) -> bytes:
    """The birth-date key as sent: 6 digits, YYMMDD in the era year. Raises PinFormatError."""
    if len(code) != BIRTH_KEY_DIGITS or not code.isascii() or not code.isdigit():
        raise PinFormatError("the birth-date key is 6 digits: era year, month, day")
    return code.encode("ascii")


_CHECKS = {
    KakuninFile.CODE_A: check_code_a,
    KakuninFile.CODE_B: check_code_b,
    KakuninFile.BIRTH_DATE_KEY: check_birth_key,
}


class KakuninClient(AppClient):
    """券面事項確認AP over any transport. Raises only CardError subclasses (and PinFormatError /
    ValueError before anything is sent)."""

    AID = Aid.KENMEN_KAKUNIN

    def code_status(self, which: KakuninFile, cancel: threading.Event | None = None) -> int:
        """Tries left for a key reference (0011, 0012, 0013). Raises CardError subclasses."""
        self.select_ef(which, cancel)
        left = self.status_query(VERIFY_P2_CURRENT_EF, cancel)
        return CODE_MAX_TRIES if left is None else left

    def verify_code(self, which: KakuninFile, code: str, cancel: threading.Event | None = None) -> None:
        """VERIFY 照合番号A / B or the birth date (format checked first). Raises ValueError for another
        FID, PinFormatError, PinIncorrectError, PinBlockedError, CardError subclasses."""
        check = _CHECKS.get(which)
        if check is None:
            raise ValueError(f"not a key reference of this AP: {which:04X}")
        secret = check(code)
        self.select_ef(which, cancel)
        self.call(CommandApdu(Cla.ISO, Ins.VERIFY, 0x00, VERIFY_P2_CURRENT_EF, secret), cancel)
        log.info("券面事項確認AP key reference %04X verified", which)

    def read_file(self, fid: KakuninFile, cancel: threading.Event | None = None) -> bytes:
        """One data file as stored. Raises SecurityStatusNotSatisfiedError, ProtocolError, CardError."""
        return self.read_object(fid, max_size=MAX_FILE_SIZE, lenient=True, cancel=cancel)

    def read_ap_basic_info(self, cancel: threading.Event | None = None) -> FaceApBasicInfo:
        """File 0003, no code needed. Raises ProtocolError, CardError subclasses."""
        return parse_face_ap_basic_info(self.read_file(KakuninFile.AP_BASIC_INFO, cancel))

    def read_ap_certificate(self, cancel: threading.Event | None = None) -> CvCertificate:
        """File 0004, no code needed. Raises ProtocolError, CardError subclasses."""
        return parse_cv_certificate(self.read_file(KakuninFile.AP_CERTIFICATE, cancel))

    def read_card_face(self, cancel: threading.Event | None = None) -> CardFace:
        """File 0002, after 照合番号A or B. Raises as read_file."""
        return parse_card_face(self.read_file(KakuninFile.CARD_FACE, cancel))

    def read_my_number_image(self, cancel: threading.Event | None = None) -> bytes:
        """The PNG of file 0005, after 照合番号A (signature not checked). Raises as read_file."""
        fields = record_fields(self.read_file(KakuninFile.MY_NUMBER_IMAGE, cancel), KAKUNIN_TAG_NUMBER_IMAGE)
        png, _key, _sig = _need(
            fields, KAKUNIN_TAG_NUMBER_PNG, KAKUNIN_TAG_NUMBER_KEY, KAKUNIN_TAG_NUMBER_SIGNATURE
        )
        return png
