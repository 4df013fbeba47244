"""PIN format checks, redaction helpers, the status-word table, My Number check digits."""

from __future__ import annotations

import pytest

from reader.apdu import h
from reader.errors import (
    CardError,
    ConditionsNotSatisfiedError,
    FileNotFoundOnCardError,
    NotSupportedError,
    PinBlockedError,
    PinFormatError,
    PinIncorrectError,
    SecurityStatusNotSatisfiedError,
    UnexpectedStatusError,
    WrongLengthError,
    WrongParametersError,
    check_status,
    error_for_status,
)
from reader.kenmen import is_valid_my_number, my_number_check_digit
from reader.pin import (
    check_auth_pin,
    check_kenmen_pin,
    check_sign_pin,
    mask_my_number,
    redact_apdu,
    redact_response,
)


@pytest.mark.parametrize(
    ("sw", "kind"),
    [
        (0x63C2, PinIncorrectError),
        (0x63C1, PinIncorrectError),
        (0x63C0, PinBlockedError),
        (0x6984, PinBlockedError),
        (0x6982, SecurityStatusNotSatisfiedError),
        (0x6985, ConditionsNotSatisfiedError),
        (0x6A82, FileNotFoundOnCardError),
        (0x6700, WrongLengthError),
        (0x6A86, WrongParametersError),
        (0x6B00, WrongParametersError),
        (0x6D00, NotSupportedError),
        (0x6E00, NotSupportedError),
        (0x6881, NotSupportedError),
        (0x6F00, UnexpectedStatusError),
        (0x1234, UnexpectedStatusError),
    ],
)
def test_status_word_table(sw: int, kind: type[CardError]) -> None:
    error = error_for_status(sw)
    assert type(error) is kind
    assert error.sw == sw
    with pytest.raises(kind):
        check_status(sw)


def test_tries_left_from_63cx() -> None:
    error = error_for_status(0x63C2)
    assert isinstance(error, PinIncorrectError) and error.tries_left == 2
    assert PinBlockedError(0x63C0).tries_left == 0


def test_9000_is_success() -> None:
    check_status(0x9000)


@pytest.mark.parametrize("pin", ["0000", "1234", "9999"])
def test_auth_pin_ok(pin: str) -> None:
    assert check_auth_pin(pin) == pin.encode()
    assert check_kenmen_pin(pin) == pin.encode()


@pytest.mark.parametrize("pin", ["", "123", "12345", " 123", "123\n", "١٢٣٤", "12a4"])
def test_auth_pin_bad_and_message_has_no_pin(pin: str) -> None:
    with pytest.raises(PinFormatError) as err:
        check_auth_pin(pin)
    assert pin.strip() == "" or pin not in str(err.value)


@pytest.mark.parametrize(
    ("pin", "sent"), [("abc123", b"ABC123"), ("A" * 16, b"A" * 16), ("123456", b"123456")]
)
def test_sign_pin_upper_cased(pin: str, sent: bytes) -> None:
    assert check_sign_pin(pin) == sent


@pytest.mark.parametrize("pin", ["", "ABC12", "A" * 17, "ABC 123", "ÀBC123", "ＡＢＣ１２３"])
def test_sign_pin_bad(pin: str) -> None:
    with pytest.raises(PinFormatError):
        check_sign_pin(pin)


def test_pin_format_error_is_both_value_and_card_error() -> None:
    assert issubclass(PinFormatError, ValueError) and issubclass(PinFormatError, CardError)


def test_redaction() -> None:
    assert redact_apdu(h("00 20 00 80 04 31 32 33 34")) == "00 20 00 80 04 ****"
    assert redact_apdu(h("00 24 01 80 04 31 32 33 34")) == "00 24 01 80 04 ****"
    assert redact_apdu(h("00 20 00 80")) == "00 20 00 80"
    assert redact_apdu(h("00 A4 02 0C 02 00 0A")) == "00 A4 02 0C 02 00 0A"
    assert redact_response(h("31 32 33 34 90 00")) == "<4 bytes> 90 00"
    assert mask_my_number("123456789018") == "********9018"


@pytest.mark.parametrize("number", ["123456789018", "000000000019"])
def test_my_number_check_digit(number: str) -> None:
    assert my_number_check_digit(number[:11]) == int(number[11])
    assert is_valid_my_number(number)


@pytest.mark.parametrize(
    "number", ["123456789010", "12345678901", "12345678901a", "１２３４５６７８９０１８"]
)
def test_my_number_invalid(number: str) -> None:
    assert not is_valid_my_number(number)
