"""Constants of the My Number card, from docs/card.md (one module, no magic hex).

Pure data: firmware_sim imports this module too.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum


class Aid:
    """Application identifiers (full 10-byte AIDs; partial selection is never used)."""

    JPKI = bytes.fromhex("D392F000260100000001")  # 公的個人認証AP
    KENMEN_HOJO = bytes.fromhex("D3921000310001010408")  # 券面事項入力補助AP
    KENMEN_KAKUNIN = bytes.fromhex("D3921000310001010402")  # 券面事項確認AP
    COMMON = bytes.fromhex("D3921000310001010100")  # 共通カードAP


class Cla(IntEnum):
    ISO = 0x00
    PROPRIETARY = 0x80  # COMPUTE DIGITAL SIGNATURE uses CLA 80


class Ins(IntEnum):
    VERIFY = 0x20
    CHANGE_REFERENCE_DATA = 0x24
    COMPUTE_DIGITAL_SIGNATURE = 0x2A
    GET_CHALLENGE = 0x84
    INTERNAL_AUTHENTICATE = 0x88
    SELECT = 0xA4
    READ_BINARY = 0xB0
    READ_RECORD = 0xB2
    GET_DATA = 0xCA
    GET_DATA_ODD = 0xCB


class SelectP1(IntEnum):
    MF_OR_EF = 0x00
    EF_UNDER_DF = 0x02
    DF_NAME = 0x04


SELECT_P2_NO_RESPONSE = 0x0C
VERIFY_P2_CURRENT_EF = 0x80  # "key in the current EF"; 0x80 | SFI names it without SELECT
SIGN_P2_CURRENT_EF = 0x80


class JpkiFile(IntEnum):
    """File IDs under the JPKI AP (docs/card.md §3)."""

    SIGN_CERT = 0x0001  # 署名用電子証明書: read needs the signature PIN
    SIGN_CA_CERT = 0x0002
    TOKEN_INFO = 0x0006  # 160 bytes, label in the first 32
    CERT_PRESENCE = 0x0008  # 3 bytes: 8F 8F 00 when both certificates exist
    AUTH_CERT = 0x000A  # 利用者証明用電子証明書: free
    AUTH_CA_CERT = 0x000B
    AUTH_KEY = 0x0017
    AUTH_PIN = 0x0018
    SIGN_KEY = 0x001A
    SIGN_PIN = 0x001B


class KenmenFile(IntEnum):
    """File IDs under the 券面事項入力補助AP (docs/card.md §6)."""

    MY_NUMBER = 0x0001
    BASIC_INFO = 0x0002
    INTEGRITY = 0x0003
    PIN = 0x0011


class SignScheme(IntEnum):
    """P1 of COMPUTE DIGITAL SIGNATURE (docs/card.md §4.5)."""

    PKCS1_GIVEN = 0x00  # PKCS#1 v1.5 over the DigestInfo as given: what everyone uses
    PKCS1_CARD_HASH_BARE = 0x01
    PKCS1_WRAP_DIGESTINFO = 0x02
    PKCS1_CARD_HASH_DIGESTINFO = 0x03
    PSS_GIVEN_HASH = 0x04
    PSS_CARD_HASH = 0x05


class SW(IntEnum):
    """Status words the card and the client use (docs/card.md §5)."""

    OK = 0x9000
    VERIFY_FAILED_BASE = 0x63C0  # 63Cx: x tries left; 63C0 = blocked
    NO_RETRY_LIMIT = 0x6300
    WRONG_LENGTH = 0x6700
    CHANNEL_NOT_SUPPORTED = 0x6881
    SM_NOT_SUPPORTED = 0x6882
    CHAINING_NOT_SUPPORTED = 0x6884
    INCOMPATIBLE_FILE_STRUCTURE = 0x6981  # READ BINARY on a key/PIN EF, VERIFY on a data EF
    SECURITY_STATUS_NOT_SATISFIED = 0x6982
    AUTH_METHOD_BLOCKED = 0x6984
    CONDITIONS_NOT_SATISFIED = 0x6985
    NO_CURRENT_EF = 0x6986
    SM_CLA_REFUSED = 0x69FC
    WRONG_DATA = 0x6A80
    FUNCTION_NOT_SUPPORTED = 0x6A81
    FILE_NOT_FOUND = 0x6A82
    WRONG_P1P2 = 0x6A86
    REFERENCED_DATA_NOT_FOUND = 0x6A88  # GET DATA of a tag the card does not hold
    OFFSET_OUTSIDE_EF = 0x6B00
    INS_NOT_SUPPORTED = 0x6D00
    CLA_NOT_SUPPORTED = 0x6E00
    NO_PRECISE_DIAGNOSIS = 0x6F00


class PinKind(IntEnum):
    AUTH = JpkiFile.AUTH_PIN
    SIGN = JpkiFile.SIGN_PIN


AUTH_PIN_MAX_TRIES = 3
SIGN_PIN_MAX_TRIES = 5
KENMEN_PIN_MAX_TRIES = 3

TOKEN_INFO_SIZE = 160
TOKEN_LABEL_SIZE = 32
CERT_PRESENT = 0x8F


class TokenLabel:
    """Token labels in JPKI file 0006 (first 32 bytes, space padded)."""

    MY_NUMBER_CARD = "JPKIAPICCTOKEN2"
    JUKI_CARD = "JPKIAPICCTOKEN"
    SMARTPHONE_ANDROID = "JPKIAPGPSETOKEN"
    SMARTPHONE_IOS = "JPKIAPIOSTOKEN"


class TokenForm(StrEnum):
    """What holds the JPKI certificates, by token label (docs/card.md §11): the card, an Android phone's
    secure element, an iPhone (label and behaviour unconfirmed), the old 住基カード."""

    CARD = "card"
    ANDROID = "android"
    IPHONE = "iphone"
    JUKI = "juki"


TOKEN_FORMS: dict[str, TokenForm] = {
    TokenLabel.MY_NUMBER_CARD: TokenForm.CARD,
    TokenLabel.SMARTPHONE_ANDROID: TokenForm.ANDROID,
    TokenLabel.SMARTPHONE_IOS: TokenForm.IPHONE,
    TokenLabel.JUKI_CARD: TokenForm.JUKI,
}
#: The forms the kiosk can use for コンビニ交付 (the 住基カード cannot).
KIOSK_FORMS = (TokenForm.CARD, TokenForm.ANDROID, TokenForm.IPHONE)


# ATRs: contact ATR that OpenSC's jpki driver matches, and the one advertising extended length.
ATR_OPENSC_JPKI = bytes.fromhex("3BE000FF8131FE4514")
ATR_EXTENDED = bytes.fromhex("3BDA13FF8131FB468012392F31C173C601C03B")

# SHA-256 DigestInfo prefix (DER), the input the card signs with P1 00.
SHA256_DIGESTINFO_PREFIX = bytes.fromhex("3031300d060960864801650304020105000420")

# Kenmen basic-4 info tags (private-class, non-minimal high-tag form FF xx / DF xx).
KENMEN_TAG_MY_NUMBER = 0xFF10
KENMEN_TAG_BASIC_INFO = 0xFF20
KENMEN_TAG_INTEGRITY = 0xFF30
KENMEN_TAG_OFFSETS = 0xDF21
KENMEN_TAG_NAME = 0xDF22
KENMEN_TAG_ADDRESS = 0xDF23
KENMEN_TAG_BIRTH = 0xDF24
KENMEN_TAG_SEX = 0xDF25
KENMEN_TAG_HASH_MY_NUMBER = 0xDF31
KENMEN_TAG_HASH_BASIC_INFO = 0xDF32
KENMEN_TAG_SIGNATURE = 0xDF33
