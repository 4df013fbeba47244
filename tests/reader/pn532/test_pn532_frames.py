"""The frame codec on both sides: byte tables (normal and extended), faults and resync, fuzzing."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pn532_helpers import CMD, HEX, RSP

from firmware_sim.card.mynumber import MyNumberCard
from firmware_sim.pn532.module import Pn532Sim
from firmware_sim.pn532.pty_link import EventKind, HostFrameReader, chip_frame
from firmware_sim.pn532.typeb import TypeBCard
from reader.pn532.frames import (
    Frame,
    FrameDecoder,
    FrameError,
    FrameFault,
    FrameKind,
    command_frame,
    encode,
    response_frame,
)

ENCODED = [
    # (TFI, code + data, frame)
    (0xD4, "02", "00 00 FF 02 FE D4 02 2A 00"),  # GetFirmwareVersion
    (0xD4, "14 01 00 00", "00 00 FF 05 FB D4 14 01 00 00 17 00"),  # nfcpy's SAMConfiguration
    (0xD5, "15", "00 00 FF 02 FE D5 15 16 00"),
    (0xD5, "11", "00 00 FF 02 FE D5 11 1A 00"),  # SetSerialBaudRate answer nfcpy insists on
    (0xD5, "03 32 01 06 07", "00 00 FF 06 FA D5 03 32 01 06 07 E8 00"),
    (0xD4, "4A 01 03 00", "00 00 FF 05 FB D4 4A 01 03 00 DE 00"),
    (0xD5, "4B 00", "00 00 FF 03 FD D5 4B 00 E0 00"),
]


@pytest.mark.parametrize(("tfi", "payload", "frame"), ENCODED)
def test_encode_and_decode_round_trip(tfi: int, payload: str, frame: str) -> None:
    assert encode(tfi, HEX(payload)) == HEX(frame)
    assert FrameDecoder().feed(HEX(frame)) == [Frame(FrameKind.INFO, tfi, HEX(payload))]


def test_extended_frame_for_nfcpys_line_test() -> None:
    data = b"\x00" + bytes(x & 0xFF for x in range(262))
    frame = command_frame(0x00, data)
    assert frame[:8] == HEX("00 00 FF FF FF 01 09 F6")  # LEN 265 = TFI + code + 263
    assert frame[-1] == 0 and len(frame) == 8 + 265 + 2
    decoded = FrameDecoder().feed(frame)
    assert decoded == [Frame(FrameKind.INFO, 0xD4, b"\x00" + data, extended=True)]
    assert HostFrameReader().feed(frame)[0].payload == b"\x00" + data
    assert chip_frame(b"\x01" + data) == response_frame(0x01, data)  # both sides agree


def test_normal_frame_limit_is_254_bytes_of_code_and_data() -> None:
    assert command_frame(0x40, bytes(253))[3] == 255
    assert command_frame(0x40, bytes(254))[3:5] == HEX("FF FF")
    with pytest.raises(FrameError):
        command_frame(0x40, bytes(264))
    with pytest.raises(FrameError):
        encode(0xD4, b"")


SPECIAL = [
    ("00 00 FF 00 FF 00", FrameKind.ACK),
    ("00 00 FF FF 00 00", FrameKind.NACK),
    ("00 00 FF 01 FF 7F 81 00", FrameKind.ERROR),
]


@pytest.mark.parametrize(("raw", "kind"), SPECIAL)
def test_special_frames(raw: str, kind: FrameKind) -> None:
    assert FrameDecoder().feed(HEX(raw)) == [Frame(kind)]


FAULTS = [
    ("00 00 FF 02 FD D5 03 28 00", "bad LCS"),
    ("00 00 FF 02 FE D5 03 29 00", "bad DCS"),
    ("00 00 FF FF FF 01 09 F5 00", "bad extended LCS"),
    ("00 00 FF FF FF 02 00 FE 00", "longer than"),
    ("00 00 FF 00 00 00", "LEN 0"),
    ("00 00 FF 01 FF D5 2B 00", "no command code"),
]


@pytest.mark.parametrize(("raw", "reason"), FAULTS)
def test_broken_frames_are_faults_and_the_stream_resyncs(raw: str, reason: str) -> None:
    decoder = FrameDecoder()
    items = decoder.feed(HEX(raw) + RSP("4B 00"))
    assert isinstance(items[0], FrameFault) and reason in items[0].reason
    assert items[-1] == Frame(FrameKind.INFO, 0xD5, HEX("4B 00"))


def test_garbage_between_frames_is_skipped_and_counted() -> None:
    decoder = FrameDecoder()
    stream = HEX("12 34") + RSP("03 32 01 06 07") + HEX("AB 55 00") + RSP("4B 00")
    items = [item for byte in stream for item in decoder.feed(bytes((byte,)))]  # byte by byte
    assert [i.payload for i in items if isinstance(i, Frame)] == [HEX("03 32 01 06 07"), HEX("4B 00")]
    assert decoder.garbage == 3
    assert decoder.pending == 1  # the postamble 00 may still start the next frame


def test_truncated_frame_waits_and_reset_forgets_it() -> None:
    decoder = FrameDecoder()
    assert decoder.feed(RSP("03 32 01 06 07")[:-3]) == []
    assert decoder.pending > 0
    decoder.reset()
    assert decoder.feed(RSP("4B 00")) == [Frame(FrameKind.INFO, 0xD5, HEX("4B 00"))]


def test_chip_side_reader_table() -> None:
    reader = HostFrameReader()
    events = reader.feed(
        HEX("55 55")
        + bytes(14)
        + CMD("14 01")
        + HEX("00 00 FF 00 FF 00")
        + HEX("00 00 FF FF 00 00")
        + HEX("00 00 FF 02 FD D4 02 2A 00")  # bad LCS
        + HEX("00 00 FF 02 FE D4 02 2B 00")  # bad DCS
        + HEX("00 00 FF 02 FE D5 02 29 00")  # wrong TFI
        + HEX("00 00 FF FF FF 02 00 FE")  # oversized
    )
    kinds = [e.kind for e in events]
    assert kinds == [
        EventKind.COMMAND,
        EventKind.ACK,
        EventKind.NACK,
        EventKind.CHECKSUM,
        EventKind.CHECKSUM,
        EventKind.SYNTAX,
        EventKind.SYNTAX,
    ]
    assert events[0].payload == HEX("14 01")


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600), st.integers(1, 64))
def test_fuzzed_streams_never_raise_on_either_side(stream: bytes, step: int) -> None:
    host, chip = FrameDecoder(), HostFrameReader()
    for i in range(0, len(stream), step):
        for item in host.feed(stream[i : i + step]):
            assert isinstance(item, Frame | FrameFault)
        chip.feed(stream[i : i + step])


@pytest.fixture(scope="module")
def offline_sim(template_image):  # type: ignore[no-untyped-def]
    return Pn532Sim(TypeBCard(MyNumberCard.from_image(template_image)))  # never started: no pty


@settings(max_examples=300, deadline=None)
@given(payload=st.binary(min_size=1, max_size=264))
def test_fuzzed_commands_get_a_response_or_the_error_frame(offline_sim: Pn532Sim, payload: bytes) -> None:
    offline_sim.max_retry_passive = 0  # never hold a poll
    answer = offline_sim.execute(payload)
    assert answer is None or (answer[0] == (payload[0] + 1) & 0xFF and len(answer) <= 264)
