"""The 券面事項入力補助AP client: My Number, the basic 4 information, their integrity record, and
the AP's own certificate (EF 0004) and basic information (EF 0005), which need no PIN.

The AP's files use private tags in a non-minimal form (``FF 10``): parsed with the lenient BER
reader. The basic-information file's structure, both header forms of it (``FF 20 LL``, and
``FF 20 82 HH LL`` on cards issued from 2023) read alike, is in ``reader/basic_info.py``. Personal data
is never logged.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import threading
from dataclasses import dataclass

from reader import ber
from reader.apdu import CommandApdu
from reader.appclient import AppClient
from reader.basic_info import BasicInfo, basic_info_hashed_part, parse_basic_info
from reader.constants import (
    KENMEN_PIN_MAX_TRIES,
    KENMEN_TAG_AP_BASIC_INFO,
    KENMEN_TAG_AP_IDENTIFICATION,
    KENMEN_TAG_AP_KEY_ID,
    KENMEN_TAG_AP_TRAILER,
    KENMEN_TAG_HASH_BASIC_INFO,
    KENMEN_TAG_HASH_MY_NUMBER,
    KENMEN_TAG_INTEGRITY,
    KENMEN_TAG_MY_NUMBER,
    KENMEN_TAG_SIGNATURE,
    VERIFY_P2_CURRENT_EF,
    Aid,
    Cla,
    Ins,
    KenmenFile,
)
from reader.cvc import CvCertificate, KeyId, parse_cv_certificate, parse_key_id
from reader.errors import PinFormatError, ProtocolError
from reader.pin import check_kenmen_pin

log = logging.getLogger(__name__)

MY_NUMBER_DIGITS = 12
CODE_B_DIGITS = 14
MAX_FILE_SIZE = 4096


class IntegrityError(ProtocolError):
    """The integrity record's hash does not match the file it covers."""


@dataclass(frozen=True)
class IntegrityRecord:
    """File 0003: SHA-256 of the My Number file and of the basic-info value, plus a signature."""

    my_number_hash: bytes
    basic_info_hash: bytes
    signature: bytes


@dataclass(frozen=True)
class ApBasicInfo:
    """File 0005: the AP's identification (spec version, extended Lc/Le support, vendor, vendor
    byte), a key identifier, and 128 bytes whose meaning is not public."""

    identification: bytes
    key_id: KeyId
    trailer: bytes


def parse_ap_basic_info(raw: bytes) -> ApBasicInfo:
    """File 0005 (``FF 40`` { DF41, DF42, DF43 }). Raises ProtocolError."""
    outer = ber.parse_tlv(raw, lenient=True)
    if outer.tag != KENMEN_TAG_AP_BASIC_INFO:
        raise ProtocolError(
            f"AP basic information has tag {outer.tag:X}, expected {KENMEN_TAG_AP_BASIC_INFO:X}"
        )
    items = ber.children(outer.value, lenient=True)
    wanted = (KENMEN_TAG_AP_IDENTIFICATION, KENMEN_TAG_AP_KEY_ID, KENMEN_TAG_AP_TRAILER)
    if any(tag not in items for tag in wanted):
        raise ProtocolError("AP basic information lacks DF41, DF42 or DF43")
    return ApBasicInfo(
        items[KENMEN_TAG_AP_IDENTIFICATION].value,
        parse_key_id(items[KENMEN_TAG_AP_KEY_ID].value),
        items[KENMEN_TAG_AP_TRAILER].value,
    )


def check_code_a(code: str) -> bytes:
    """照合番号A as sent: the 12-digit My Number, check digit valid. Raises PinFormatError."""
    if not is_valid_my_number(code):
        raise PinFormatError("照合番号A is the 12-digit My Number (with a valid check digit)")
    return code.encode("ascii")


def check_code_b(code: str) -> bytes:
    """照合番号B as sent: 14 ASCII digits (birth YYMMDD in the era year, expiry year, security code).
    Raises PinFormatError."""
    if len(code) != CODE_B_DIGITS or not code.isascii() or not code.isdigit():
        raise PinFormatError("照合番号B is 14 digits: birth date (era YYMMDD), expiry year, security code")
    return code.encode("ascii")


def my_number_check_digit(first11: str) -> int:
    """The 12th digit of a My Number for its first 11 (個人番号の検査用数字, mod 11)."""
    total = 0
    for n, char in enumerate(reversed(first11), start=1):
        weight = n + 1 if n <= 6 else n - 5
        total += int(char) * weight
    remainder = total % 11
    return 0 if remainder <= 1 else 11 - remainder


def is_valid_my_number(number: str) -> bool:
    """True for 12 ASCII digits whose last is the check digit of the first 11."""
    if len(number) != MY_NUMBER_DIGITS or not number.isascii() or not number.isdigit():
        return False
    return my_number_check_digit(number[:11]) == int(number[11])


def parse_my_number(raw: bytes) -> str:
    """The 12 digits from file 0001 (``FF 10 0C`` + digits + filler). Raises ProtocolError."""
    tlv = ber.parse_tlv(raw, lenient=True)
    if tlv.tag != KENMEN_TAG_MY_NUMBER:
        raise ProtocolError(f"My Number file has tag {tlv.tag:X}, expected {KENMEN_TAG_MY_NUMBER:X}")
    number = tlv.value.decode("ascii", errors="replace")
    if not is_valid_my_number(number):
        raise ProtocolError("My Number on the card is malformed or fails its check digit")
    return number


def parse_integrity(raw: bytes) -> IntegrityRecord:
    """File 0003 (``FF 30`` { DF31 hash, DF32 hash, DF33 signature }). Raises ProtocolError."""
    outer = ber.parse_tlv(raw, lenient=True)
    if outer.tag != KENMEN_TAG_INTEGRITY:
        raise ProtocolError(f"integrity record has tag {outer.tag:X}, expected {KENMEN_TAG_INTEGRITY:X}")
    items = ber.children(outer.value, lenient=True)
    try:
        parts = [
            items[t].value
            for t in (KENMEN_TAG_HASH_MY_NUMBER, KENMEN_TAG_HASH_BASIC_INFO, KENMEN_TAG_SIGNATURE)
        ]
    except KeyError as exc:
        raise ProtocolError("integrity record lacks a hash or the signature") from exc
    if len(parts[0]) != 32 or len(parts[1]) != 32:
        raise ProtocolError("integrity record hashes are not SHA-256")
    return IntegrityRecord(*parts)


class KenmenClient(AppClient):
    """券面事項入力補助AP over any transport. Raises only CardError subclasses (and PinFormatError
    before anything is sent)."""

    AID = Aid.KENMEN_HOJO

    def pin_status(self, cancel: threading.Event | None = None) -> int:
        """Tries left for the PIN (0011); 0 when locked. Raises CardError subclasses."""
        self.select_ef(KenmenFile.PIN, cancel)
        left = self.status_query(VERIFY_P2_CURRENT_EF, cancel)
        return KENMEN_PIN_MAX_TRIES if left is None else left

    def verify_pin(self, pin: str, cancel: threading.Event | None = None) -> None:
        """VERIFY the 4-digit PIN (format checked before anything is sent).

        Raises PinFormatError, PinIncorrectError, PinBlockedError, CardError subclasses.
        """
        secret = check_kenmen_pin(pin)
        self.select_ef(KenmenFile.PIN, cancel)
        self.call(CommandApdu(Cla.ISO, Ins.VERIFY, 0x00, VERIFY_P2_CURRENT_EF, secret), cancel)
        log.info("券面事項入力補助 PIN verified")

    def verify_code(self, which: KenmenFile, code: str, cancel: threading.Event | None = None) -> None:
        """VERIFY 照合番号A (``KenmenFile.CODE_A``) or B (``CODE_B``), format checked first.

        Raises ValueError for another FID, PinFormatError, PinIncorrectError, PinBlockedError,
        CardError subclasses.
        """
        if which not in (KenmenFile.CODE_A, KenmenFile.CODE_B):
            raise ValueError(f"not a 照合番号 key reference: {which:04X}")
        secret = check_code_a(code) if which == KenmenFile.CODE_A else check_code_b(code)
        self.select_ef(which, cancel)
        self.call(CommandApdu(Cla.ISO, Ins.VERIFY, 0x00, VERIFY_P2_CURRENT_EF, secret), cancel)
        log.info("券面事項入力補助 照合番号 verified")

    def read_ap_certificate(self, cancel: threading.Event | None = None) -> CvCertificate:
        """File 0004, no PIN needed. Raises ProtocolError, CardError subclasses."""
        raw = self.read_object(KenmenFile.AP_CERTIFICATE, max_size=MAX_FILE_SIZE, lenient=True, cancel=cancel)
        return parse_cv_certificate(raw)

    def read_ap_basic_info(self, cancel: threading.Event | None = None) -> ApBasicInfo:
        """File 0005, no PIN needed. Raises ProtocolError, CardError subclasses."""
        raw = self.read_object(KenmenFile.AP_BASIC_INFO, max_size=MAX_FILE_SIZE, lenient=True, cancel=cancel)
        return parse_ap_basic_info(raw)

    def read_basic_info_file(self, cancel: threading.Event | None = None) -> bytes:
        """File 0002 as stored (its header form tells the generation). Needs the PIN or 照合番号B."""
        return self.read_object(KenmenFile.BASIC_INFO, max_size=MAX_FILE_SIZE, lenient=True, cancel=cancel)

    def read_my_number_file(self, cancel: threading.Event | None = None) -> bytes:
        """File 0001 as stored (the integrity hash covers it all, filler included)."""
        self.select_ef(KenmenFile.MY_NUMBER, cancel)
        return self.read_binary(0, 256, cancel)

    def read_my_number(self, cancel: threading.Event | None = None) -> str:
        """The 12-digit My Number (check digit validated). Needs the PIN.
        Raises SecurityStatusNotSatisfiedError, ProtocolError, CardError subclasses."""
        return parse_my_number(self.read_my_number_file(cancel))

    def read_basic_info(self, cancel: threading.Event | None = None) -> BasicInfo:
        """Name, address, birth date and sex. Needs the PIN. Raises as read_my_number."""
        return parse_basic_info(self.read_basic_info_file(cancel))

    def read_integrity(self, cancel: threading.Event | None = None) -> IntegrityRecord:
        """The integrity record (file 0003). Raises as read_my_number."""
        return parse_integrity(
            self.read_object(KenmenFile.INTEGRITY, max_size=MAX_FILE_SIZE, lenient=True, cancel=cancel)
        )

    def check_integrity(self, cancel: threading.Event | None = None) -> IntegrityRecord:
        """Read 0001, 0002 and 0003 and check both SHA-256 hashes.
        Raises IntegrityError on a mismatch, plus what read_my_number raises."""
        number_file = self.read_my_number_file(cancel)
        basic = self.read_basic_info_file(cancel)
        record = self.read_integrity(cancel)
        if not hmac.compare_digest(hashlib.sha256(number_file).digest(), record.my_number_hash):
            raise IntegrityError("My Number file does not match its integrity hash")
        if not hmac.compare_digest(
            hashlib.sha256(basic_info_hashed_part(basic)).digest(), record.basic_info_hash
        ):
            raise IntegrityError("basic information does not match its integrity hash")
        return record
