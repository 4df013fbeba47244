"""The APDU codec: every ISO case, short and extended, round trips, malformed input."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reader.apdu import ApduFormatError, CommandApdu, ResponseApdu, h

CASES = [
    # (fields, encoding)
    (dict(cla=0, ins=0x20, p1=0, p2=0x80), "00 20 00 80"),  # case 1
    (dict(cla=0, ins=0xB0, p1=0, p2=0, le=4), "00 B0 00 00 04"),  # case 2 short
    (dict(cla=0, ins=0xB0, p1=0, p2=0, le=256), "00 B0 00 00 00"),  # Le 256 → 00
    (dict(cla=0, ins=0xA4, p1=2, p2=0x0C, data=h("00 0A")), "00 A4 02 0C 02 00 0A"),  # case 3 short
    (dict(cla=0x80, ins=0x2A, p1=0, p2=0x80, data=h("AA BB"), le=256), "80 2A 00 80 02 AA BB 00"),  # case 4
    (dict(cla=0, ins=0xB0, p1=0, p2=4, le=0x061F), "00 B0 00 04 00 06 1F"),  # case 2 extended (TEX2E)
    (dict(cla=0, ins=0xB0, p1=0, p2=0, le=65536), "00 B0 00 00 00 00 00"),  # extended Le 65536
    (dict(cla=0, ins=0xD6, p1=0, p2=0, data=b"\x11" * 256), "00 D6 00 00 00 01 00" + " 11" * 256),  # 3E
    (
        dict(cla=0, ins=0x2A, p1=0, p2=0, data=b"\x22" * 300, le=512),
        "00 2A 00 00 00 01 2C" + " 22" * 300 + " 02 00",
    ),  # case 4 extended
    (dict(cla=0, ins=0xB0, p1=0, p2=0, le=5, extended=True), "00 B0 00 00 00 00 05"),  # forced extended
]


@pytest.mark.parametrize(("fields", "encoding"), CASES)
def test_encode_and_parse_every_case(fields: dict[str, object], encoding: str) -> None:
    command = CommandApdu(**fields)  # type: ignore[arg-type]
    assert command.encode() == h(encoding)
    parsed = CommandApdu.parse(h(encoding))
    assert parsed.encode() == h(encoding)
    assert (parsed.data, parsed.le) == (command.data, command.le)


MALFORMED = [
    "00 A4 04",  # shorter than the header
    "00 A4 04 0C 05 01 02",  # Lc 5, 2 bytes
    "00 A4 04 0C 02 01 02 03 04",  # Lc 2, 4 bytes: neither case 3 nor 4
    "00 B0 00 00 00 06",  # extended marker with one length byte
    "00 D6 00 00 00 00 00 11",  # extended Lc of zero
    "00 D6 00 00 00 00 05 11 22",  # extended Lc 5, 2 bytes
]


@pytest.mark.parametrize("raw", MALFORMED)
def test_malformed_commands_raise_apdu_format_error(raw: str) -> None:
    with pytest.raises(ApduFormatError):
        CommandApdu.parse(h(raw))


@pytest.mark.parametrize("raw", ["", "90"])
def test_response_without_status_word_is_rejected(raw: str) -> None:
    with pytest.raises(ApduFormatError):
        ResponseApdu.parse(h(raw))


def test_response_split() -> None:
    response = ResponseApdu.parse(h("30 82 06 1F 90 00"))
    assert (response.data, response.sw, response.ok) == (h("30 82 06 1F"), 0x9000, True)
    assert ResponseApdu.status(0x63C2).encode() == h("63 C2")


@pytest.mark.parametrize("bad", [dict(cla=256), dict(p1=-1), dict(le=65537), dict(data=b"x" * 65536)])
def test_out_of_range_fields_are_refused(bad: dict[str, int]) -> None:
    fields: dict[str, object] = dict(cla=0, ins=0xB0, p1=0, p2=0) | bad
    with pytest.raises(ValueError):
        CommandApdu(**fields)  # type: ignore[arg-type]


commands = st.builds(
    CommandApdu,
    cla=st.integers(0, 255),
    ins=st.integers(0, 255),
    p1=st.integers(0, 255),
    p2=st.integers(0, 255),
    data=st.one_of(st.binary(max_size=300), st.binary(min_size=255, max_size=260)),
    le=st.one_of(st.just(0), st.integers(1, 256), st.integers(257, 65536)),
    extended=st.booleans(),
)


@given(commands)
def test_any_command_round_trips(command: CommandApdu) -> None:
    parsed = CommandApdu.parse(command.encode())
    assert (parsed.cla, parsed.ins, parsed.p1, parsed.p2) == (
        command.cla,
        command.ins,
        command.p1,
        command.p2,
    )
    assert (parsed.data, parsed.le) == (command.data, command.le)
    assert parsed.encode() == command.encode()


@given(st.binary(max_size=400))
def test_parse_never_raises_anything_but_format_error(raw: bytes) -> None:
    try:
        parsed = CommandApdu.parse(raw)
    except ApduFormatError:
        return
    assert parsed.encode() == raw
