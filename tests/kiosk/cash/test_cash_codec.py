"""ccTalk framing: reference vectors, checksum errors, parsers, and random bytes never crash the parser."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from firmware_sim.cash import serial_link as cash_serial
from kiosk.devices.cash import cctalk
from kiosk.devices.cash.cctalk import ChecksumMode, EventBuffer, Frame, FrameError


def h(text: str) -> bytes:
    return bytes.fromhex(text)


SIMPLE = ChecksumMode.SIMPLE
CRC = ChecksumMode.CRC16


# frame, mode, wire bytes (docs/devices.md §1.2, §1.4, §1.6 vectors)
VECTORS = [
    (Frame(2, 254), SIMPLE, "02 00 01 FE FF"),
    (Frame(2, 245), SIMPLE, "02 00 01 F5 08"),
    (Frame(2, 242), SIMPLE, "02 00 01 F2 0B"),
    (Frame(2, 246), SIMPLE, "02 00 01 F6 07"),
    (Frame(1, 0, src=2), SIMPLE, "01 00 02 00 FD"),
    (Frame(2, 231, h("FF FF")), SIMPLE, "02 02 01 E7 FF FF 16"),
    (Frame(3, 164, h("A5")), SIMPLE, "03 01 01 A4 A5 B2"),
    (Frame(1, 0, h("08"), src=3), SIMPLE, "01 01 03 00 08 F3"),
    (Frame(3, 172), SIMPLE, "03 00 01 AC 50"),
    (Frame(3, 167, h("DF D7 0A 01")), SIMPLE, "03 04 01 A7 DF D7 0A 01 90"),
    (Frame(1, 0, b"Coin Acceptor", src=2), SIMPLE, "01 0D 02 00" + b"Coin Acceptor".hex() + "16"),
    (Frame(40, 254, src=None), CRC, "28 00 B6 FE 21"),
    (Frame(40, 1, src=None), CRC, "28 00 46 01 3F"),
    (Frame(1, 0, src=None), CRC, "01 00 30 00 37"),
]


@pytest.mark.parametrize(("frame", "mode", "wire"), VECTORS)
def test_reference_vectors_round_trip(frame: Frame, mode: ChecksumMode, wire: str) -> None:
    assert cctalk.encode(frame, mode) == h(wire)
    assert cctalk.decode(h(wire), mode) == frame


@pytest.mark.parametrize(
    ("wire", "mode", "message"),
    [
        ("", SIMPLE, "too short"),
        ("02 00 01 FE", SIMPLE, "too short"),
        ("02 00 01 FE FE", SIMPLE, "bad checksum"),
        ("02 01 01 FE FF", SIMPLE, "does not match"),
        ("02 00 01 FE FF 00", SIMPLE, "does not match"),
        ("02 FD 01 FE FF", SIMPLE, "exceeds"),
        ("28 00 B6 FE 22", CRC, "bad CRC"),
        ("28 00 B7 FE 21", CRC, "bad CRC"),
    ],
)
def test_malformed_frames_raise_frame_error(wire: str, mode: ChecksumMode, message: str) -> None:
    with pytest.raises(FrameError, match=message):
        cctalk.decode(h(wire), mode)


def test_simple_frame_needs_a_source_and_data_limit() -> None:
    with pytest.raises(ValueError, match="source"):
        cctalk.encode(Frame(2, 254, src=None), SIMPLE)
    with pytest.raises(ValueError, match="too long"):
        Frame(2, 254, bytes(253))


@given(st.binary(max_size=300), st.sampled_from([SIMPLE, CRC]))
def test_random_bytes_only_ever_raise_frame_error(raw: bytes, mode: ChecksumMode) -> None:
    try:
        frame = cctalk.decode(raw, mode)
    except FrameError:
        return
    assert cctalk.encode(frame, mode) == raw  # whatever parses is exactly one valid frame


@given(st.binary(max_size=20))
def test_random_reply_data_parsers_only_raise_frame_error(data: bytes) -> None:
    parsers = (cctalk.parse_event_buffer, cctalk.parse_hopper_status, cctalk.parse_serial_number)
    parsers += (cctalk.parse_ascii,)
    for parse in parsers:
        try:
            parse(data)
        except FrameError:
            pass


@given(st.integers(0, 255), st.integers(0, 255), st.binary(max_size=252), st.booleans())
def test_driver_and_simulator_codecs_agree(dest: int, header: int, data: bytes, crc: bool) -> None:
    mode = CRC if crc else SIMPLE
    wire = cctalk.encode(Frame(dest, header, data), mode)
    assert cash_serial.parse_request(wire, crc) == (dest, header, data)
    reply = cash_serial.build_reply(dest, header, data, crc)
    assert cctalk.decode(reply, mode) == Frame(1, header, data, src=None if crc else dest)


def test_crc16_check_value() -> None:
    assert cctalk.crc16_xmodem(b"123456789") == 0x31C3  # the catalogue check value of CRC-16/XMODEM
    assert cash_serial.crc16(b"123456789") == 0x31C3


@pytest.mark.parametrize(
    ("last", "new", "distance"),
    [(5, 5, 0), (5, 6, 1), (1, 255, 254), (250, 3, 8), (255, 1, 1), (254, 1, 2), (200, 199, 254)],
)
def test_counter_distance_skips_zero_on_wrap(last: int, new: int, distance: int) -> None:
    assert cctalk.counter_distance(last, new) == distance


def test_next_counter_wraps_to_one() -> None:
    assert [cctalk.next_counter(c) for c in (0, 1, 254, 255)] == [1, 2, 255, 1]


def _buffer(counter: int, *pairs: tuple[int, int]) -> EventBuffer:
    padded = list(pairs) + [(0, 0)] * (5 - len(pairs))
    return EventBuffer(counter, tuple(padded))


def test_new_events_exact_wrap_count() -> None:
    news = cctalk.new_events(254, _buffer(2, (4, 1), (3, 1), (2, 1)))
    assert news.pairs == ((2, 1), (3, 1), (4, 1))
    assert news.counters == (255, 1, 2)


def test_new_events_reports_lost_and_reset() -> None:
    news = cctalk.new_events(10, _buffer(17, (5, 1), (4, 1), (3, 1), (2, 1), (1, 1)))
    assert news.lost == 2 and len(news.pairs) == 5 and news.pairs[0] == (1, 1)
    assert cctalk.new_events(10, _buffer(0)).reset
    assert not cctalk.new_events(0, _buffer(0)).reset
    after_reset = cctalk.new_events(0, _buffer(2, (3, 1), (1, 1)))
    assert after_reset.pairs == ((1, 1), (3, 1)) and after_reset.counters == (1, 2)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("100", 100),
        ("010", 10),
        ("0100", 100),
        ("2K5", 2500),
        ("1K0", 1000),
        ("2.5", None),
        ("5m0", None),
        ("...", None),
        ("1M", 1_000_000),
    ],
)
def test_id_values(text: str, value: int | None) -> None:
    assert cctalk.coin_id_value(text) == value


def test_event_buffer_and_hopper_status_parsers() -> None:
    buffer = cctalk.parse_event_buffer(h("06 06 04 00 14 00 17 06 04 0D 02"))  # X6 p.40 example
    assert buffer.counter == 6 and buffer.pairs[0] == (6, 4) and buffer.pairs[1] == (0, 20)
    assert cctalk.parse_hopper_status(h("08 00 05 00")) == cctalk.HopperStatus(8, 0, 5, 0)
    assert cctalk.parse_serial_number(h("4E 46 05")) == 345678
    assert cctalk.hopper_flag_names(h("82")) == ("payout timeout", "payout disabled")
    assert cctalk.coin_error_name(129) == "inhibited coin type 2"
    assert cctalk.coin_error_name(99) == "unknown coin error 99"
    assert cctalk.bill_status_name(1) == "bill returned from escrow"
