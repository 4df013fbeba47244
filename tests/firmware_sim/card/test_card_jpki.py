"""JPKI AP: file access, READ BINARY forms, VERIFY rules, COMPUTE DIGITAL SIGNATURE, PIN change."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from card_helpers import SELECT_JPKI, Keys, sw, tx
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa, utils

from firmware_sim.card.image import CardImage
from firmware_sim.card.mynumber import CardOptions, MyNumberCard
from reader.apdu import CommandApdu, h
from reader.constants import SHA256_DIGESTINFO_PREFIX

VERIFY_AUTH = "00 20 00 80 04 31 32 33 34"  # after SELECT 0018
VERIFY_SIGN = "00 20 00 80 06 41 42 43 31 32 33"  # after SELECT 001B ("ABC123")
SEL = {
    fid: f"00 A4 02 0C 02 00 {fid}" for fid in ("01", "02", "06", "08", "0A", "0B", "17", "18", "1A", "1B")
}


def read_all(card: MyNumberCard, chunk: int = 256) -> bytes:
    out = b""
    while True:
        cmd = CommandApdu(0x00, 0xB0, len(out) >> 8, len(out) & 0xFF, le=chunk).encode()
        data, status = tx(card, cmd)
        if status == 0x6B00:
            return out
        assert status == 0x9000
        out += data


@pytest.fixture
def jpki(card: MyNumberCard) -> MyNumberCard:
    assert sw(card, SELECT_JPKI) == 0x9000
    return card


def test_token_info_label(jpki: MyNumberCard) -> None:
    assert sw(jpki, SEL["06"]) == 0x9000
    data, status = tx(jpki, "00 B0 00 00 00")
    assert status == 0x9000 and len(data) == 160 and data[:32].rstrip(b" ") == b"JPKIAPICCTOKEN2"


@pytest.mark.parametrize("fid", ["0A", "0B", "02", "06", "08"])
def test_free_files_read_without_pin(jpki: MyNumberCard, certs: dict[int, bytes], fid: str) -> None:
    assert sw(jpki, SEL[fid]) == 0x9000
    expected = jpki.image.jpki_files[int(fid, 16)]
    assert read_all(jpki) == expected


def test_auth_cert_short_chunks_and_extended(jpki: MyNumberCard, certs: dict[int, bytes]) -> None:
    cert = certs[0x000A]
    assert len(cert) > 512
    sw(jpki, SEL["0A"])
    head, status = tx(jpki, "00 B0 00 00 04")
    assert status == 0x9000 and head == cert[:4]
    length = int.from_bytes(head[2:4], "big") + 4
    assert length == len(cert)
    # one extended READ BINARY from offset 4 (the TEX2E trace shape)
    rest, status = tx(jpki, CommandApdu(0, 0xB0, 0, 4, le=length - 4, extended=True).encode())
    assert status == 0x9000 and head + rest == cert
    assert read_all(jpki, 256) == cert
    assert read_all(jpki, 100) == cert


@pytest.mark.parametrize(
    ("command", "expected_len"),
    [
        ("00 B0 00 00 01", 1),
        ("00 B0 00 00 00", 256),
        ("00 B0 00 00 00 00 00", 65536),  # extended 00 00 00 = 65536 → the whole file
        ("00 B0 00 00 00 01 00", 256),
        ("00 B0 00 00 00 04 00", 1024),
    ],
)
def test_read_binary_le_forms(
    jpki: MyNumberCard, certs: dict[int, bytes], command: str, expected_len: int
) -> None:
    sw(jpki, SEL["0A"])
    data, status = tx(jpki, command)
    assert status == 0x9000 and data == certs[0x000A][:expected_len]


def test_read_binary_offsets(jpki: MyNumberCard, certs: dict[int, bytes]) -> None:
    cert = certs[0x000A]
    sw(jpki, SEL["0A"])
    last = len(cert) - 1
    data, status = tx(jpki, bytes([0, 0xB0, last >> 8, last & 0xFF, 0]))
    assert (data, status) == (cert[-1:], 0x9000)  # min(Le, remaining)
    end = len(cert)
    assert sw(jpki, bytes([0, 0xB0, end >> 8, end & 0xFF, 1])) == 0x6B00
    assert sw(jpki, "00 B0 7F FF 01") == 0x6B00


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("00 B0 8A 00 04", "0A"),  # SFI 0A = auth cert, offset 0
        ("00 B0 86 02 02", "06"),  # SFI 06, offset 2
        ("00 B0 8B 00 00 00 00", "0B"),  # extended Le 65536
    ],
)
def test_read_binary_sfi(jpki: MyNumberCard, command: str, expected: str) -> None:
    data, status = tx(jpki, command)
    content = jpki.image.jpki_files[int(expected, 16)]
    cmd = CommandApdu.parse(h(command))
    assert status == 0x9000 and data == content[cmd.p2 : cmd.p2 + cmd.le]


@pytest.mark.parametrize(
    ("setup", "command", "expected"),
    [
        ([], "00 B0 81 00 04", 0x6982),  # SFI 01 = sign cert, needs the sign PIN
        ([SEL["01"]], "00 B0 00 00 04", 0x6982),
        ([], "00 B0 89 00 04", 0x6A82),  # no 0009 on our card
        ([], "00 B0 C1 00 04", 0x6A86),  # P1 bits 7-6 must be 0 in the SFI form
        ([], "00 B0 80 00 04", 0x6A86),  # SFI 0
        ([], "00 B0 00 00 04", 0x6986),  # no current EF after the AP select
        ([SEL["17"]], "00 B0 00 00 04", 0x6981),  # key EF
        ([SEL["18"]], "00 B0 00 00 04", 0x6981),  # PIN EF
        ([SEL["0A"]], "00 B0 00 00", 0x6700),  # no Le
        ([SEL["0A"]], "00 B0 00 00 01 00 00", 0x6700),  # data
    ],
)
def test_read_binary_refusals(jpki: MyNumberCard, setup: list[str], command: str, expected: int) -> None:
    for step in setup:
        assert sw(jpki, step) == 0x9000
    assert tx(jpki, command) == (b"", expected)


def test_sign_cert_after_sign_pin(jpki: MyNumberCard, certs: dict[int, bytes]) -> None:
    sw(jpki, SEL["1B"])
    assert sw(jpki, VERIFY_SIGN) == 0x9000
    sw(jpki, SEL["01"])
    assert read_all(jpki) == certs[0x0001]


def test_auth_pin_does_not_open_sign_cert(jpki: MyNumberCard) -> None:
    sw(jpki, SEL["18"])
    assert sw(jpki, VERIFY_AUTH) == 0x9000
    sw(jpki, SEL["01"])
    assert sw(jpki, "00 B0 00 00 04") == 0x6982


# --- VERIFY -----------------------------------------------------------------------------------
def test_verify_status_query_counts_down_and_blocks(jpki: MyNumberCard) -> None:
    sw(jpki, SEL["18"])
    assert sw(jpki, "00 20 00 80") == 0x63C3
    assert sw(jpki, "00 20 00 80") == 0x63C3  # a query never consumes a try
    assert sw(jpki, "00 20 00 80 04 39 39 39 39") == 0x63C2
    assert sw(jpki, "00 20 00 80") == 0x63C2
    assert sw(jpki, "00 20 00 80 04 39 39 39 39") == 0x63C1
    assert sw(jpki, "00 20 00 80 04 39 39 39 39") == 0x63C0  # the last try
    assert sw(jpki, "00 20 00 80") == 0x63C0  # query when blocked: 63C0, not 6984 (OpenSC)
    assert sw(jpki, VERIFY_AUTH) == 0x6984  # the right PIN no longer helps
    assert sw(jpki, "00 20 00 80 04 39 39 39 39") == 0x6984
    assert jpki.image.tries_left("auth") == 0


def test_verify_right_pin_resets_counter(jpki: MyNumberCard) -> None:
    sw(jpki, SEL["18"])
    assert sw(jpki, "00 20 00 80 04 30 30 30 30") == 0x63C2
    assert sw(jpki, VERIFY_AUTH) == 0x9000
    assert sw(jpki, "00 20 00 80") == 0x63C3
    assert CardImage.load(jpki.image.path).tries_left("auth") == 3


def test_empty_verify_is_never_success(jpki: MyNumberCard) -> None:
    sw(jpki, SEL["18"])
    assert sw(jpki, "00 20 00 80") == 0x63C3
    sw(jpki, SEL["17"])
    assert sw(jpki, "80 2A 00 80 01 00 00") == 0x6982


@pytest.mark.parametrize(
    ("setup", "command", "expected"),
    [
        ([], "00 20 00 98", 0x63C3),  # 80|SFI 18 without SELECT
        ([], "00 20 00 9B", 0x63C5),  # sign PIN: 5 tries
        ([], "00 20 00 98 04 31 32 33 34", 0x9000),
        ([], "00 20 00 80", 0x6986),  # no current EF
        ([SEL["0A"]], "00 20 00 80", 0x6981),  # current EF is not a PIN
        ([], "00 20 00 97", 0x6981),  # SFI of a key
        ([], "00 20 00 91", 0x6A88),  # no such key reference
        ([], "00 20 00 00", 0x6A86),
        ([], "00 20 01 98", 0x6A86),
        ([SEL["18"]], "00 20 00 80 41" + " 31" * 65, 0x6700),
        ([SEL["18"]], "00 20 00 80 03 31 32 33", 0x63C2),  # wrong length counts as a wrong PIN
    ],
)
def test_verify_table(jpki: MyNumberCard, setup: list[str], command: str, expected: int) -> None:
    for step in setup:
        assert sw(jpki, step) == 0x9000
    assert tx(jpki, command) == (b"", expected)


def test_failed_verify_drops_security_state(jpki: MyNumberCard) -> None:
    sw(jpki, SEL["18"])
    sw(jpki, VERIFY_AUTH)
    sw(jpki, "00 20 00 80 04 30 30 30 30")
    sw(jpki, SEL["17"])
    assert sw(jpki, "80 2A 00 80 01 00 00") == 0x6982


def test_sign_pin_compared_case_sensitively(jpki: MyNumberCard) -> None:
    sw(jpki, SEL["1B"])
    assert sw(jpki, "00 20 00 80 06" + " ".join(f"{b:02X}" for b in b"abc123")) == 0x63C4


# --- security state -----------------------------------------------------------------------------
def _auth_then_sign(card: MyNumberCard) -> int:
    sw(card, SEL["17"])
    return sw(card, "80 2A 00 80 01 00 00")


def test_power_off_clears_security_state(jpki: MyNumberCard) -> None:
    sw(jpki, SEL["18"])
    sw(jpki, VERIFY_AUTH)
    assert _auth_then_sign(jpki) == 0x9000
    jpki.power_off()
    jpki.power_on()
    sw(jpki, SELECT_JPKI)
    assert _auth_then_sign(jpki) == 0x6982


def test_reset_clears_security_state(jpki: MyNumberCard) -> None:
    sw(jpki, SEL["18"])
    sw(jpki, VERIFY_AUTH)
    jpki.reset()
    sw(jpki, SELECT_JPKI)
    assert _auth_then_sign(jpki) == 0x6982


def test_reselect_keeps_state_by_default(jpki: MyNumberCard) -> None:
    sw(jpki, SEL["18"])
    sw(jpki, VERIFY_AUTH)
    sw(jpki, SELECT_JPKI)
    assert _auth_then_sign(jpki) == 0x9000


def test_reselect_clears_state_when_configured(image_path: Path) -> None:
    card = MyNumberCard.from_image(image_path, CardOptions(keep_security_on_reselect=False))
    card.power_on()
    sw(card, SELECT_JPKI)
    sw(card, SEL["18"])
    sw(card, VERIFY_AUTH)
    sw(card, SELECT_JPKI)
    assert _auth_then_sign(card) == 0x6982


# --- COMPUTE DIGITAL SIGNATURE -----------------------------------------------------------------
def _sign(card: MyNumberCard, key_fid: str, p1: int, data: bytes, p2: int = 0x80) -> tuple[bytes, int]:
    if p2 == 0x80:
        sw(card, SEL[key_fid])
    return tx(card, CommandApdu(0x80, 0x2A, p1, p2, data=data, le=256).encode())


@pytest.fixture
def authed(jpki: MyNumberCard) -> MyNumberCard:
    sw(jpki, SEL["18"])
    assert sw(jpki, VERIFY_AUTH) == 0x9000
    sw(jpki, SEL["1B"])
    assert sw(jpki, VERIFY_SIGN) == 0x9000
    return jpki


MESSAGE = b"myna-kiosk-auth/1 challenge"


def cert_key(certs: dict[int, bytes], fid: int) -> rsa.RSAPublicKey:
    key = x509.load_der_x509_certificate(certs[fid]).public_key()
    assert isinstance(key, rsa.RSAPublicKey)
    return key


DIGEST = hashlib.sha256(MESSAGE).digest()


@pytest.mark.parametrize(("key_fid", "p2"), [("17", 0x80), ("1A", 0x80), ("17", 0x97), ("1A", 0x9A)])
def test_sign_p1_00_digestinfo_verifies(
    authed: MyNumberCard, certs: dict[int, bytes], key_fid: str, p2: int
) -> None:
    signature, status = _sign(authed, key_fid, 0x00, SHA256_DIGESTINFO_PREFIX + DIGEST, p2)
    assert status == 0x9000 and len(signature) == 256
    cert_fid = 0x000A if key_fid == "17" else 0x0001
    cert_key(certs, cert_fid).verify(signature, MESSAGE, padding.PKCS1v15(), hashes.SHA256())


@pytest.mark.parametrize(("p1", "data"), [(0x02, DIGEST), (0x03, MESSAGE)])
def test_sign_p1_02_03_verify(authed: MyNumberCard, certs: dict[int, bytes], p1: int, data: bytes) -> None:
    signature, status = _sign(authed, "17", p1, data)
    assert status == 0x9000 and len(signature) == 256
    cert_key(certs, 0x000A).verify(signature, MESSAGE, padding.PKCS1v15(), hashes.SHA256())


@pytest.mark.parametrize(("p1", "data"), [(0x04, DIGEST), (0x05, MESSAGE)])
def test_sign_pss_verifies(authed: MyNumberCard, certs: dict[int, bytes], p1: int, data: bytes) -> None:
    signature, status = _sign(authed, "1A", p1, data)
    assert status == 0x9000 and len(signature) == 256
    pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
    cert_key(certs, 0x0001).verify(signature, DIGEST, pss, utils.Prehashed(hashes.SHA256()))


def test_sign_p1_01_bare_hash(authed: MyNumberCard, keys: Keys) -> None:
    signature, status = _sign(authed, "17", 0x01, MESSAGE)
    assert status == 0x9000
    numbers = keys.auth.public_key().public_numbers()
    em = pow(int.from_bytes(signature, "big"), numbers.e, numbers.n).to_bytes(256, "big")
    assert em == b"\x00\x01" + b"\xff" * (256 - 3 - 32) + b"\x00" + DIGEST


@pytest.mark.parametrize(
    ("p1", "data", "expected"),
    [
        (0x00, b"\x01" * 245, 0x9000),
        (0x00, b"\x01" * 246, 0x6700),
        (0x02, DIGEST[:31], 0x6700),
        (0x04, DIGEST + b"\x00", 0x6700),
        (0x06, DIGEST, 0x6A86),
        (0xFF, DIGEST, 0x6A86),
    ],
)
def test_sign_input_rules(authed: MyNumberCard, p1: int, data: bytes, expected: int) -> None:
    assert _sign(authed, "17", p1, data)[1] == expected


@pytest.mark.parametrize(
    ("setup", "command", "expected"),
    [
        ([SEL["17"]], "80 2A 00 80 01 00 00", 0x6982),  # no PIN
        ([SEL["18"], VERIFY_AUTH, SEL["1A"]], "80 2A 00 80 01 00 00", 0x6982),  # auth PIN, sign key
        ([SEL["1B"], VERIFY_SIGN], "80 2A 00 97 01 00 00", 0x6982),  # sign PIN, auth key by SFI
        ([SEL["18"], VERIFY_AUTH], "80 2A 00 80 01 00 00", 0x6981),  # current EF = the PIN
        ([], "80 2A 00 80 01 00 00", 0x6986),  # nothing selected
        ([SEL["18"], VERIFY_AUTH, SEL["17"]], "80 2A 00 81 01 00 00", 0x6981),  # SFI 01 = a data EF
        ([SEL["18"], VERIFY_AUTH, SEL["17"]], "80 2A 00 00 01 00 00", 0x6A86),
        ([SEL["18"], VERIFY_AUTH, SEL["17"]], "80 2A 00 80 01 00 10", 0x6700),  # Le < 256
        ([SEL["18"], VERIFY_AUTH], "00 88 00 97 08 01 02 03 04 05 06 07 08 00", 0x6982),  # INTERNAL AUTH
        ([], "00 88 00 8A 08 01 02 03 04 05 06 07 08 00", 0x6981),  # INTERNAL AUTH on a data EF
    ],
)
def test_sign_refusals(jpki: MyNumberCard, setup: list[str], command: str, expected: int) -> None:
    for step in setup:
        assert sw(jpki, step) == 0x9000
    assert tx(jpki, command) == (b"", expected)


# --- CHANGE REFERENCE DATA ---------------------------------------------------------------------
def test_change_auth_pin(jpki: MyNumberCard) -> None:
    sw(jpki, SEL["18"])
    assert sw(jpki, "00 24 01 80 04 39 38 37 36") == 0x6982  # not verified yet
    sw(jpki, VERIFY_AUTH)
    assert sw(jpki, "00 24 01 80 03 39 38 37") == 0x6A80
    assert sw(jpki, "00 24 01 80 04 39 38 37 41") == 0x6A80
    assert sw(jpki, "00 24 01 80 04 39 38 37 36") == 0x9000
    reloaded = MyNumberCard.from_image(jpki.image.path)
    reloaded.power_on()
    sw(reloaded, SELECT_JPKI)
    sw(reloaded, SEL["18"])
    assert sw(reloaded, VERIFY_AUTH) == 0x63C2
    assert sw(reloaded, "00 20 00 80 04 39 38 37 36") == 0x9000


@pytest.mark.parametrize(
    ("new", "expected"),
    [
        (b"ABCDEF", 0x9000),
        (b"A1B2C3D4E5F6G7H8", 0x9000),
        (b"ABCDE", 0x6A80),
        (b"abcdef", 0x6A80),
        (b"A" * 17, 0x6A80),
        (b"ABC-12", 0x6A80),
    ],
)
def test_change_sign_pin_format(jpki: MyNumberCard, new: bytes, expected: int) -> None:
    sw(jpki, SEL["1B"])
    sw(jpki, VERIFY_SIGN)
    cmd = CommandApdu(0x00, 0x24, 0x01, 0x80, data=new).encode()
    assert sw(jpki, cmd) == expected


def test_change_reference_data_p1_and_blocked(jpki: MyNumberCard) -> None:
    sw(jpki, SEL["18"])
    sw(jpki, VERIFY_AUTH)
    assert sw(jpki, "00 24 00 80 08 31 32 33 34 39 38 37 36") == 0x6A86
    assert sw(jpki, "00 24 01 98") == 0x6700
    for _ in range(3):
        sw(jpki, "00 20 00 80 04 30 30 30 30")
    assert sw(jpki, "00 24 01 80 04 39 38 37 36") == 0x6984


# --- under-15 card ---------------------------------------------------------------------------------
def test_card_without_sign_certificate(child_template: Path) -> None:
    card = MyNumberCard.from_image(child_template)
    card.power_on()
    sw(card, SELECT_JPKI)
    for fid in ("01", "1A", "1B"):
        assert sw(card, SEL[fid]) == 0x6A82
    sw(card, SEL["08"])
    data, status = tx(card, "00 B0 00 00 03")
    assert status == 0x9000 and data[0] != 0x8F and data[1] == 0x8F
    assert sw(card, "00 20 00 98") == 0x63C3
    assert sw(card, "00 20 00 9B") == 0x6A88
