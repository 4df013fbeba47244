"""JpkiClient against a scripted transport: the exact bytes it sends, and how it reads answers."""

from __future__ import annotations

import hashlib

import pytest
from reader_helpers import ScriptedTransport

from reader.apdu import h
from reader.constants import KIOSK_FORMS, TokenForm
from reader.errors import (
    CancelledError,
    NotMyNumberCardError,
    PinBlockedError,
    PinFormatError,
    PinIncorrectError,
    ProtocolError,
    SecurityStatusNotSatisfiedError,
    UnexpectedStatusError,
)
from reader.jpki import JpkiClient

SELECT_JPKI = "00 A4 04 0C 0A D3 92 F0 00 26 01 00 00 00 01"
LABEL_MYNA = "4A 50 4B 49 41 50 49 43 43 54 4F 4B 45 4E 32" + " 20" * 17
LABEL_JUKI = "4A 50 4B 49 41 50 49 43 43 54 4F 4B 45 4E" + " 20" * 18
LABEL_ANDROID = "4A 50 4B 49 41 50 47 50 53 45 54 4F 4B 45 4E" + " 20" * 17
OK = "90 00"
# A 600-byte BER object standing in for a certificate: 30 82 02 54 + 596 bytes.
OBJECT = h("30 82 02 54") + bytes(range(256)) * 2 + bytes(84)


def hx(data: bytes) -> str:
    return data.hex(" ").upper()


def client_for(
    script: list[tuple[str, str]], *, extended: bool = False
) -> tuple[JpkiClient, ScriptedTransport]:
    transport = ScriptedTransport(script, supports_extended=extended)
    return JpkiClient(transport), transport


def test_detect_sends_select_aid_then_reads_the_token_label() -> None:
    client, transport = client_for(
        [
            (SELECT_JPKI, OK),
            ("00 A4 02 0C 02 00 06", OK),
            ("00 B0 00 00 20", LABEL_MYNA + " 90 00"),
        ]
    )
    info = client.detect()
    assert (info.token, info.reader) == ("JPKIAPICCTOKEN2", "scripted")
    assert transport.done()


@pytest.mark.parametrize(
    ("label", "token", "accept"),
    [(LABEL_JUKI, "JPKIAPICCTOKEN", KIOSK_FORMS), (LABEL_ANDROID, "JPKIAPGPSETOKEN", (TokenForm.CARD,))],
)
def test_detect_refuses_other_tokens_and_names_them(label: str, token: str, accept: tuple[TokenForm]) -> None:
    client, _ = client_for(
        [(SELECT_JPKI, OK), ("00 A4 02 0C 02 00 06", OK), ("00 B0 00 00 20", label + " 90 00")]
    )
    with pytest.raises(NotMyNumberCardError) as info:
        client.detect(accept=accept)
    assert info.value.token == token


def test_detect_tells_an_android_phone_by_its_token() -> None:
    client, _ = client_for(
        [(SELECT_JPKI, OK), ("00 A4 02 0C 02 00 06", OK), ("00 B0 00 00 20", LABEL_ANDROID + " 90 00")]
    )
    info = client.detect()
    assert (info.token, info.form, info.auth_cert_needs_pin) == ("JPKIAPGPSETOKEN", TokenForm.ANDROID, True)


def test_detect_without_jpki_ap_is_not_a_my_number_card() -> None:
    client, _ = client_for([(SELECT_JPKI, "6A 82")])
    with pytest.raises(NotMyNumberCardError, match="no JPKI application"):
        client.detect()


def test_detect_retries_once_after_6f00_on_the_first_apdu() -> None:
    client, transport = client_for(
        [
            (SELECT_JPKI, "6F 00"),
            (SELECT_JPKI, OK),
            ("00 A4 02 0C 02 00 06", OK),
            ("00 B0 00 00 20", LABEL_MYNA + " 90 00"),
        ]
    )
    client.detect()
    assert transport.done()


def test_certificate_read_in_256_byte_chunks_from_a_parsed_length() -> None:
    client, transport = client_for(
        [
            (SELECT_JPKI, OK),
            ("00 A4 02 0C 02 00 0A", OK),
            ("00 B0 00 00 07", hx(OBJECT[:7]) + " 90 00"),
            ("00 B0 00 07 00", hx(OBJECT[7:263]) + " 90 00"),
            ("00 B0 01 07 00", hx(OBJECT[263:519]) + " 90 00"),
            ("00 B0 02 07 51", hx(OBJECT[519:]) + " 90 00"),
        ]
    )
    assert client.read_certificate_der("auth") == OBJECT
    assert transport.done()


def test_certificate_read_with_extended_le_in_one_command() -> None:
    client, transport = client_for(
        [
            (SELECT_JPKI, OK),
            ("00 A4 02 0C 02 00 0B", OK),
            ("00 B0 00 00 00 00 00", hx(OBJECT + b"\xff\xff") + " 90 00"),  # trailing filler dropped
        ],
        extended=True,
    )
    assert client.read_certificate_der("auth-ca") == OBJECT
    assert transport.done()


def test_extended_le_refused_falls_back_to_short_chunks() -> None:
    small = h("30 03 01 02 03")
    client, transport = client_for(
        [
            (SELECT_JPKI, OK),
            ("00 A4 02 0C 02 00 02", OK),
            ("00 B0 00 00 00 00 00", "67 00"),
            ("00 B0 00 00 07", hx(small) + " 90 00"),
        ],
        extended=True,
    )
    assert client.read_certificate_der("sign-ca") == small
    assert transport.done()


@pytest.mark.parametrize(
    "answer",
    [
        "30 82 40 01 90 00",  # claims 16 KiB + 5: oversized
        "30 80 00 00 90 00",  # indefinite length
        "90 00",  # no data at all
    ],
)
def test_truncated_or_oversized_certificate_is_a_protocol_error(answer: str) -> None:
    client, _ = client_for(
        [(SELECT_JPKI, OK), ("00 A4 02 0C 02 00 0A", OK), ("00 B0 00 00 00 00 00", answer)], extended=True
    )
    with pytest.raises(ProtocolError):
        client.read_certificate_der("auth")


def test_short_extended_answer_is_read_on_from_where_it_stopped() -> None:
    client, transport = client_for(
        [
            (SELECT_JPKI, OK),
            ("00 A4 02 0C 02 00 0A", OK),
            ("00 B0 00 00 00 00 00", hx(OBJECT[:100]) + " 90 00"),
            ("00 B0 00 64 00 01 F4", hx(OBJECT[100:]) + " 90 00"),
        ],
        extended=True,
    )
    assert client.read_certificate_der("auth") == OBJECT
    assert transport.done()


def test_file_ending_before_the_object_is_a_protocol_error() -> None:
    client, _ = client_for(
        [
            (SELECT_JPKI, OK),
            ("00 A4 02 0C 02 00 0A", OK),
            ("00 B0 00 00 07", hx(OBJECT[:7]) + " 90 00"),
            ("00 B0 00 07 00", hx(OBJECT[7:263]) + " 90 00"),
            ("00 B0 01 07 00", "6B 00"),
        ]
    )
    with pytest.raises(ProtocolError, match="truncated: 263 of 600"):
        client.read_certificate_der("auth")


def test_chunk_longer_than_le_is_a_protocol_error() -> None:
    client, _ = client_for(
        [
            (SELECT_JPKI, OK),
            ("00 A4 02 0C 02 00 0A", OK),
            ("00 B0 00 00 07", hx(OBJECT[:7]) + " 90 00"),
            ("00 B0 00 07 00", hx(OBJECT[7:300]) + " 90 00"),
        ]
    )
    with pytest.raises(ProtocolError, match="for Le=256"):
        client.read_certificate_der("auth")


def test_a_non_certificate_object_fails_to_parse_as_protocol_error() -> None:
    client, _ = client_for(
        [(SELECT_JPKI, OK), ("00 A4 02 0C 02 00 0A", OK), ("00 B0 00 00 07", "30 03 01 02 03 90 00")]
    )
    with pytest.raises(ProtocolError, match="not valid DER"):
        client.read_certificate("auth")


def test_sign_certificate_without_pin_raises_security_status() -> None:
    client, _ = client_for([(SELECT_JPKI, OK), ("00 A4 02 0C 02 00 01", OK), ("00 B0 00 00 07", "69 82")])
    with pytest.raises(SecurityStatusNotSatisfiedError):
        client.read_certificate_der("sign")


@pytest.mark.parametrize(("answer", "tries"), [("63 C3", 3), ("63 C1", 1), ("63 C0", 0), ("69 84", 0)])
def test_pin_status_is_an_empty_verify(answer: str, tries: int) -> None:
    client, transport = client_for([(SELECT_JPKI, OK), ("00 A4 02 0C 02 00 18", OK), ("00 20 00 80", answer)])
    assert client.pin_status("auth") == tries
    assert transport.done()


def test_sign_pin_status_selects_001b() -> None:
    client, _ = client_for([(SELECT_JPKI, OK), ("00 A4 02 0C 02 00 1B", OK), ("00 20 00 80", "63 C5")])
    assert client.pin_status("sign") == 5


def test_verify_sends_the_pin_as_ascii() -> None:
    client, transport = client_for(
        [(SELECT_JPKI, OK), ("00 A4 02 0C 02 00 18", OK), ("00 20 00 80 04 31 32 33 34", OK)]
    )
    client.verify_pin("auth", "1234")
    assert transport.done()


def test_sign_password_is_upper_cased_before_sending() -> None:
    client, _ = client_for(
        [(SELECT_JPKI, OK), ("00 A4 02 0C 02 00 1B", OK), ("00 20 00 80 06 41 42 43 31 32 33", OK)]
    )
    client.verify_pin("sign", "abc123")


def test_wrong_pin_reports_tries_left_and_lock() -> None:
    client, _ = client_for(
        [(SELECT_JPKI, OK), ("00 A4 02 0C 02 00 18", OK), ("00 20 00 80 04 30 30 30 30", "63 C2")]
    )
    with pytest.raises(PinIncorrectError) as wrong:
        client.verify_pin("auth", "0000")
    assert wrong.value.tries_left == 2
    client, _ = client_for(
        [(SELECT_JPKI, OK), ("00 A4 02 0C 02 00 18", OK), ("00 20 00 80 04 30 30 30 30", "69 84")]
    )
    with pytest.raises(PinBlockedError):
        client.verify_pin("auth", "0000")


@pytest.mark.parametrize(
    ("kind", "pin"),
    [
        ("auth", ""),
        ("auth", "123"),
        ("auth", "12345"),
        ("auth", "12a4"),
        ("auth", "１２３４"),
        ("sign", ""),
        ("sign", "ABC12"),
        ("sign", "A" * 17),
        ("sign", "ABC-123"),
        ("sign", "ÄBC123"),
    ],
)
def test_bad_pin_format_sends_nothing(kind: str, pin: str) -> None:
    client, transport = client_for([])
    with pytest.raises(PinFormatError):
        client.verify_pin(kind, pin)
    assert transport.sent == []


def test_sign_sends_sha256_digest_info_with_p1_00() -> None:
    digest = hashlib.sha256(b"hello").digest()
    digest_info = "30 31 30 0D 06 09 60 86 48 01 65 03 04 02 01 05 00 04 20 " + hx(digest)
    signature = bytes(range(256))
    client, transport = client_for(
        [
            (SELECT_JPKI, OK),
            ("00 A4 02 0C 02 00 17", OK),
            ("80 2A 00 80 33 " + digest_info + " 00", hx(signature) + " 90 00"),
        ]
    )
    assert client.sign_sha256("auth", b"hello") == signature
    assert transport.done()


def test_signature_of_wrong_size_is_a_protocol_error() -> None:
    client, _ = client_for(
        [(SELECT_JPKI, OK), ("00 A4 02 0C 02 00 1A", OK), ("80 2A 00 80 01 AA 00", "01 02 90 00")]
    )
    with pytest.raises(ProtocolError, match="256"):
        client.sign("sign", b"\xaa")


@pytest.mark.parametrize("size", [0, 246])
def test_sign_input_out_of_range_sends_nothing(size: int) -> None:
    client, transport = client_for([])
    with pytest.raises(ValueError):
        client.sign("auth", b"\x01" * size)
    assert transport.sent == []


def test_change_pin_verifies_old_then_changes_reference_data() -> None:
    client, transport = client_for(
        [
            (SELECT_JPKI, OK),
            ("00 A4 02 0C 02 00 18", OK),
            ("00 20 00 80 04 31 32 33 34", OK),
            ("00 24 01 80 04 39 38 37 36", OK),
        ]
    )
    client.change_pin("auth", "1234", "9876")
    assert transport.done()


def test_change_pin_checks_the_new_pin_before_sending_anything() -> None:
    client, transport = client_for([])
    with pytest.raises(PinFormatError):
        client.change_pin("auth", "1234", "98")
    assert transport.sent == []


@pytest.mark.parametrize(("raw", "auth", "sign"), [("8F 8F 00", True, True), ("00 8F 00", True, False)])
def test_cert_presence(raw: str, auth: bool, sign: bool) -> None:
    client, _ = client_for(
        [(SELECT_JPKI, OK), ("00 A4 02 0C 02 00 08", OK), ("00 B0 00 00 02", raw[:5] + " 90 00")]
    )
    presence = client.cert_presence()
    assert (presence.auth, presence.sign) == (auth, sign)


def test_ap_selected_once_then_efs_only() -> None:
    client, transport = client_for(
        [
            (SELECT_JPKI, OK),
            ("00 A4 02 0C 02 00 18", OK),
            ("00 20 00 80", "63 C3"),
            ("00 A4 02 0C 02 00 1B", OK),
            ("00 20 00 80", "63 C5"),
        ]
    )
    assert (client.pin_status("auth"), client.pin_status("sign")) == (3, 5)
    assert transport.done()


def test_forgotten_selection_is_reselected_once() -> None:
    client, transport = client_for(
        [
            (SELECT_JPKI, OK),
            ("00 A4 02 0C 02 00 18", OK),
            ("00 20 00 80", "63 C3"),
            ("00 A4 02 0C 02 00 1B", "69 86"),
            (SELECT_JPKI, OK),
            ("00 A4 02 0C 02 00 1B", OK),
            ("00 20 00 80", "63 C5"),
        ]
    )
    assert (client.pin_status("auth"), client.pin_status("sign")) == (3, 5)
    assert transport.done()


def test_unknown_status_word_is_kept() -> None:
    client, _ = client_for([(SELECT_JPKI, "6A 99")])
    with pytest.raises(UnexpectedStatusError) as err:
        client.detect()
    assert err.value.sw == 0x6A99


def test_set_cancel_event_passes_to_the_transport() -> None:
    import threading

    from reader.loopback import LoopbackTransport

    class Card:
        atr = b"\x3b\x00"

        def power_on(self) -> None: ...

        def power_off(self) -> None: ...

        def process(self, apdu: bytes) -> bytes:
            raise AssertionError("nothing may reach the card after cancel")

    transport = LoopbackTransport(Card())
    transport.connect()
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(CancelledError):
        JpkiClient(transport, cancel=cancel).detect()
    transport.close()
