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
    AP_CERTIFICATE = 0x0004  # the AP's card-verifiable certificate (7F21): free
    AP_BASIC_INFO = 0x0005  # FF40 { DF41 identification, DF42 key ID, DF43 }: free
    PIN = 0x0011
    CODE_A = 0x0014  # 照合番号A: the 12-digit My Number
    CODE_B = 0x0015  # 照合番号B: birth YYMMDD (era year) + expiry year + security code


class KakuninFile(IntEnum):
    """File IDs under the 券面事項確認AP, the card-face AP (docs/card.md §6.1)."""

    AGE_RECORD = 0x0001  # FF10 { DF11 birth, DF12 card key, DF13 signature }: birth-date key
    CARD_FACE = 0x0002  # FF20 { DF21 offsets, DF22..DF2A }: 照合番号A or B
    AP_BASIC_INFO = 0x0003  # FF30 { DF31..DF35 }: free
    AP_CERTIFICATE = 0x0004  # 7F21: free
    MY_NUMBER_IMAGE = 0x0005  # FF40 { DF41 PNG, DF42 card key, DF43 signature }: 照合番号A only
    BIRTH_DATE_KEY = 0x0011  # 6 digits: birth YYMMDD in the Japanese era year
    CODE_B = 0x0012  # 照合番号B, 14 digits
    CODE_A = 0x0013  # 照合番号A, the 12-digit My Number


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
CODE_MAX_TRIES = 10  # 照合番号A/B and the birth-date key (docs/card.md §5: one source, [U])

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
ATR_CONTACTLESS_PREFIX = bytes.fromhex("3B8880")  # PC/SC part 3 ATR a reader builds from the ATQB
GET_DATA_TAG_CONTACT_ATR = 0x5F51  # GET DATA in the power-on state: the contact ATR without TS


class CardGeneration(StrEnum):
    """Card generations the virtual card can be and the reader tells apart (docs/card.md §1.1)."""

    FIRST = "2016"  # issued from 2016: ATR 3B E0 00 …, basic info FF 20 <1 byte> …
    FROM_2023 = "2023"  # issued from 2023: ATR 3B DA 13 …, basic info FF 20 82 HH LL …


#: The contact ATR each generation answers with (docs/card.md §1.1).
GENERATION_ATRS = {CardGeneration.FIRST: ATR_OPENSC_JPKI, CardGeneration.FROM_2023: ATR_EXTENDED}

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
KENMEN_TAG_AP_BASIC_INFO = 0xFF40
KENMEN_TAG_AP_IDENTIFICATION = 0xDF41
KENMEN_TAG_AP_KEY_ID = 0xDF42
KENMEN_TAG_AP_TRAILER = 0xDF43

# Card-verifiable certificate (券面 APs' EF 0004; docs/card.md §6).
CVC_TAG = 0x7F21
CVC_TAG_BODY = 0x5F4E
CVC_TAG_SIGNATURE = 0x5F37
CVC_KEY_ID_SIZE = 16
RSA_TAG_EXPONENT = 0x90
RSA_TAG_MODULUS = 0x91

# 券面事項確認AP record tags (docs/card.md §6.1).
KAKUNIN_TAG_AGE_RECORD = 0xFF10
KAKUNIN_TAG_AGE_BIRTH = 0xDF11
KAKUNIN_TAG_AGE_KEY = 0xDF12
KAKUNIN_TAG_AGE_SIGNATURE = 0xDF13
KAKUNIN_TAG_CARD_FACE = 0xFF20
KAKUNIN_TAG_FACE_OFFSETS = 0xDF21
KAKUNIN_TAG_FACE_BIRTH = 0xDF22
KAKUNIN_TAG_FACE_SEX = 0xDF23
KAKUNIN_TAG_FACE_KEY = 0xDF24
KAKUNIN_TAG_FACE_NAME_IMAGE = 0xDF25
KAKUNIN_TAG_FACE_ADDRESS_IMAGE = 0xDF26
KAKUNIN_TAG_FACE_PHOTO = 0xDF27
KAKUNIN_TAG_FACE_SIGNATURE = 0xDF28
KAKUNIN_TAG_FACE_EXPIRY = 0xDF29
KAKUNIN_TAG_FACE_CODE_IMAGE = 0xDF2A
KAKUNIN_TAG_AP_BASIC_INFO = 0xFF30
KAKUNIN_TAG_AP_IDENTIFICATION = 0xDF31
KAKUNIN_TAG_AP_KEY_ID = 0xDF32
KAKUNIN_TAG_AP_VERSION = 0xDF33
KAKUNIN_TAG_AP_MUNICIPALITY = 0xDF34
KAKUNIN_TAG_AP_REFERENCE = 0xDF35
KAKUNIN_TAG_NUMBER_IMAGE = 0xFF40
KAKUNIN_TAG_NUMBER_PNG = 0xDF41
KAKUNIN_TAG_NUMBER_KEY = 0xDF42
KAKUNIN_TAG_NUMBER_SIGNATURE = 0xDF43
