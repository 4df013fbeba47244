"""JpkiClient and KenmenClient against the virtual My Number card through LoopbackTransport
(every test runs with extended Le and with 256-byte chunks)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding

from reader.errors import PinBlockedError, PinIncorrectError, SecurityStatusNotSatisfiedError
from reader.jpki import CertKind, JpkiClient
from reader.kenmen import KenmenClient, is_valid_my_number
from reader.loopback import LoopbackTransport


def image_meta(path: Path) -> dict[str, str]:
    meta: dict[str, str] = json.loads(path.read_text())["meta"]
    return meta


def test_detect(loopback: LoopbackTransport) -> None:
    info = JpkiClient(loopback).detect()
    assert info.token == "JPKIAPICCTOKEN2"
    assert info.atr == loopback.card.atr


@pytest.mark.parametrize("which", ["auth", "auth-ca", "sign-ca"])
def test_free_certificates_are_byte_identical_to_the_image(
    loopback: LoopbackTransport,
    card,
    which: str,  # type: ignore[no-untyped-def]
) -> None:
    from reader.constants import JpkiFile

    fid = {"auth": JpkiFile.AUTH_CERT, "auth-ca": JpkiFile.AUTH_CA_CERT, "sign-ca": JpkiFile.SIGN_CA_CERT}[
        which
    ]
    der = JpkiClient(loopback).read_certificate_der(which)
    assert der == card.image.jpki_files[fid]


def test_auth_certificate_matches_image_meta_and_is_issued_by_the_auth_ca(
    loopback: LoopbackTransport, card_image: Path
) -> None:
    client = JpkiClient(loopback)
    cert = client.read_certificate(CertKind.AUTH)
    ca = client.read_certificate(CertKind.AUTH_CA)
    assert f"{cert.serial_number:X}" == image_meta(card_image)["auth_cert_serial"]
    cert.verify_directly_issued_by(ca)


def test_extended_reads_use_fewer_apdus(card) -> None:  # type: ignore[no-untyped-def]
    counts = {}
    for extended in (True, False):
        seen: list[object] = []
        card.on_command = seen.append
        transport = LoopbackTransport(card, extended=extended)
        transport.connect()
        JpkiClient(transport).read_certificate_der("auth")
        transport.disconnect()
        transport.close()
        counts[extended] = len(seen)
    assert counts[True] == 3  # SELECT AP, SELECT EF, one READ BINARY
    assert counts[False] >= 3 + 5  # header probe + ≥5 chunks of 256 for a ~1.3 KB certificate


def test_sign_certificate_needs_the_sign_password(loopback: LoopbackTransport) -> None:
    client = JpkiClient(loopback)
    with pytest.raises(SecurityStatusNotSatisfiedError):
        client.read_certificate("sign")
    client.verify_pin("sign", "abc123")
    sign_cert = client.read_certificate("sign")
    sign_cert.verify_directly_issued_by(client.read_certificate("sign-ca"))


def test_wrong_then_right_pin_resets_the_counter(loopback: LoopbackTransport) -> None:
    client = JpkiClient(loopback)
    assert client.pin_status("auth") == 3
    with pytest.raises(PinIncorrectError) as wrong:
        client.verify_pin("auth", "0000")
    assert wrong.value.tries_left == 2
    assert client.pin_status("auth") == 2
    client.verify_pin("auth", "1234")
    assert client.pin_status("auth") == 3


def test_three_wrong_pins_lock_and_the_right_pin_no_longer_works(loopback: LoopbackTransport) -> None:
    client = JpkiClient(loopback)
    for left in (2, 1):
        with pytest.raises(PinIncorrectError) as wrong:
            client.verify_pin("auth", "9999")
        assert wrong.value.tries_left == left
    with pytest.raises(PinBlockedError):
        client.verify_pin("auth", "9999")
    assert client.pin_status("auth") == 0
    with pytest.raises(PinBlockedError):
        client.verify_pin("auth", "1234")


def test_signature_verifies_with_the_auth_certificate(loopback: LoopbackTransport) -> None:
    client = JpkiClient(loopback)
    key = client.read_certificate("auth").public_key()
    assert isinstance(key, rsa.RSAPublicKey)
    with pytest.raises(SecurityStatusNotSatisfiedError):
        client.sign_sha256("auth", b"challenge")
    client.verify_pin("auth", "1234")
    signature = client.sign_sha256("auth", b"challenge")
    key.verify(signature, b"challenge", padding.PKCS1v15(), hashes.SHA256())


def test_power_off_clears_the_verified_pin(loopback: LoopbackTransport) -> None:
    client = JpkiClient(loopback)
    client.verify_pin("auth", "1234")
    loopback.disconnect(unpower=True)
    loopback.connect()
    with pytest.raises(SecurityStatusNotSatisfiedError):
        client.sign_sha256("auth", b"x")


def test_sign_key_signs_after_sign_password(loopback: LoopbackTransport) -> None:
    client = JpkiClient(loopback)
    client.verify_pin("sign", "ABC123")
    cert = client.read_certificate("sign")
    key = cert.public_key()
    assert isinstance(key, rsa.RSAPublicKey)
    key.verify(client.sign_sha256("sign", b"document"), b"document", padding.PKCS1v15(), hashes.SHA256())


def test_change_pin_then_old_pin_fails(loopback: LoopbackTransport) -> None:
    client = JpkiClient(loopback)
    client.change_pin("auth", "1234", "4321")
    client.verify_pin("auth", "4321")
    with pytest.raises(PinIncorrectError):
        client.verify_pin("auth", "1234")


def test_cert_presence_reports_both(loopback: LoopbackTransport) -> None:
    presence = JpkiClient(loopback).cert_presence()
    assert (presence.auth, presence.sign) == (True, True)


def test_kenmen_reads_basic_info_and_my_number_with_integrity(
    loopback: LoopbackTransport, card_image: Path
) -> None:
    client = KenmenClient(loopback)
    with pytest.raises(SecurityStatusNotSatisfiedError):
        client.read_my_number()
    assert client.pin_status() == 3
    client.verify_pin("5678")
    info = client.read_basic_info()
    meta = image_meta(card_image)
    assert info.name == meta["holder_name"]
    assert info.address == meta["holder_address"]
    assert info.birth == meta["holder_birth_date"].replace("-", "")
    assert info.sex == meta["holder_sex"]
    assert is_valid_my_number(client.read_my_number())
    assert len(client.check_integrity().signature) == 256


def test_jpki_and_kenmen_clients_share_a_transport_safely(loopback: LoopbackTransport) -> None:
    jpki, kenmen = JpkiClient(loopback), KenmenClient(loopback)
    jpki.detect()
    kenmen.verify_pin("5678")
    number = kenmen.read_my_number()  # kenmen 0001 (not the JPKI sign certificate 0001)
    assert len(number) == 12
    assert jpki.read_certificate("auth").public_bytes(Encoding.DER)[:1] == b"\x30"
    assert len(kenmen.read_my_number()) == 12


def test_kenmen_wrong_pin_counts_down(loopback: LoopbackTransport) -> None:
    client = KenmenClient(loopback)
    with pytest.raises(PinIncorrectError) as wrong:
        client.verify_pin("1111")
    assert wrong.value.tries_left == 2
