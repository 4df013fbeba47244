"""Targets of the devices: PN532 frames and the chip reading them, ccTalk frames and replies, IPP answers.

``pn532`` feeds a byte stream in pieces to the frame decoder (which never raises), then plays it as the
serial line of the PN532 chip driver for one of its commands; the line fails (a TransportError, as a
pulled cable does) when the stream ends, so no input waits for a timeout.
"""

from __future__ import annotations

import datetime as dt
import struct
from collections.abc import Callable

from fuzz.core import Target, chunks, join
from kiosk.devices.cash import cctalk
from kiosk.devices.cash.policy import parse_value
from kiosk.devices.printer import ipp
from kiosk.devices.printer.ipp_constants import GroupTag, Operation, Status, ValueTag
from kiosk.devices.printer.status import JobStatus, PrinterHealth, PrinterStatus
from reader.errors import CardError, TransportError
from reader.pn532 import frames
from reader.pn532.chip import Cmd, Pn532


# --- PN532 -----------------------------------------------------------------------------------------
class ScriptedLine:
    """A serial line that reads the script's pieces in turn, then fails; writes are kept."""

    def __init__(self, pieces: list[bytes]) -> None:
        self.pieces = pieces
        self.written: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.written.append(data)

    def read(self, timeout: float) -> bytes:
        if not self.pieces:
            raise TransportError("the scripted line is gone")
        return self.pieces.pop(0)


def _chip_commands() -> list[Callable[[Pn532], object]]:
    return [
        lambda chip: chip.wake_up(),
        lambda chip: chip.firmware_version(),
        lambda chip: chip.list_type_b(),
        lambda chip: chip.card_present(),
        lambda chip: chip.data_exchange(bytes(300), timeout=5.0),
        lambda chip: chip.data_exchange(bytes.fromhex("00A4040C0AD392F000260100000001"), timeout=5.0),
    ]


CHIP_COMMANDS = _chip_commands()


def run_pn532(data: bytes) -> None:
    """Byte 0 picks the chip command; the rest is the stream, in pieces (:func:`fuzz.core.chunks`)."""
    if not data:
        return
    pieces = list(chunks(data[1:]))
    decoder = frames.FrameDecoder()
    for piece in pieces:
        for item in decoder.feed(piece):
            if isinstance(item, frames.Frame) and item.kind is frames.FrameKind.INFO:
                if item.code != item.payload[0]:
                    raise AssertionError("INFO frame without its code")
    chip = Pn532(ScriptedLine(pieces))  # type: ignore[arg-type]  # the line is duck-typed
    CHIP_COMMANDS[data[0] % len(CHIP_COMMANDS)](chip)


def seeds_pn532() -> dict[str, bytes]:
    answer = frames.response_frame
    ack = frames.ACK
    pieces = {
        "sam": (0, [ack, answer(Cmd.SAM_CONFIGURATION + 1)]),
        "firmware": (1, [ack, answer(Cmd.GET_FIRMWARE_VERSION + 1, bytes.fromhex("32010607"))]),
        "typeb": (
            2,
            [
                ack,
                answer(
                    Cmd.IN_LIST_PASSIVE_TARGET + 1,
                    bytes.fromhex("0101") + bytes.fromhex("50AABBCCDD00000000718185") + b"\x01\x00",
                ),
            ],
        ),
        "present": (3, [ack, answer(Cmd.DIAGNOSE + 1, b"\x00")]),
        "exchange-chained": (
            4,
            [
                *(ack, answer(Cmd.IN_DATA_EXCHANGE + 1, b"\x00")),
                *(ack, answer(Cmd.IN_DATA_EXCHANGE + 1, b"\x40ab")),
                *(ack, answer(Cmd.IN_DATA_EXCHANGE + 1, b"\x00\x90\x00")),
            ],
        ),
        "exchange-extended": (
            5,
            [ack + answer(Cmd.IN_DATA_EXCHANGE + 1, b"\x00" + bytes(260) + b"\x90\x00")],
        ),
        "error-frame": (1, [frames.ERROR_FRAME]),
        "nack-resend": (
            1,
            [ack, b"\x00\x00\xff\x03\xfd\xd5\x03\x00\x00\x00", answer(3, bytes.fromhex("32010607"))],
        ),
    }
    return {name: bytes((index,)) + join(parts) for name, (index, parts) in pieces.items()}


# --- ccTalk ----------------------------------------------------------------------------------------
def run_cctalk(data: bytes) -> None:
    """Byte 0: checksum mode (bit 0), the last event counter (bits 1-7). The rest: one frame, then every
    reply parser over its data; a decoded frame must encode back to the same bytes."""
    if not data:
        return
    mode = cctalk.ChecksumMode.CRC16 if data[0] & 1 else cctalk.ChecksumMode.SIMPLE
    raw = data[1:]
    try:
        cctalk.frame_length(raw)
    except cctalk.FrameError:
        pass
    frame = cctalk.decode(raw, mode)
    if cctalk.encode(frame, mode) != raw:
        raise AssertionError(f"{raw.hex(' ')} decodes to {frame}, which encodes otherwise")
    payload = frame.data
    cctalk.hopper_flag_names(payload)
    for parse in (cctalk.parse_serial_number, cctalk.parse_hopper_status):
        try:
            parse(payload)
        except cctalk.FrameError:
            pass
    try:
        buffer = cctalk.parse_event_buffer(payload)
    except cctalk.FrameError:
        pass
    else:
        events = cctalk.new_events(data[0] >> 1, buffer)
        if len(events.pairs) != len(events.counters) or events.lost < 0:
            raise AssertionError(f"{events} from {buffer}")
        for a, b in events.pairs:
            cctalk.coin_error_name(b)
            cctalk.bill_status_name(b)
            del a
    text = cctalk.parse_ascii(payload)
    cctalk.coin_id_value(text)
    parse_value(text, 4, 1)


def seeds_cctalk() -> dict[str, bytes]:
    frames_ = {
        "poll": cctalk.Frame(2, 0),
        "credit": cctalk.Frame(1, 0, bytes((3, 1, 0, 2, 0, 0, 0, 0, 0, 0, 0)), src=2),
        "coin-id": cctalk.Frame(1, 0, b"JP100A", src=2),
        "coin-id-k": cctalk.Frame(1, 0, b"JP1K0A", src=2),
        "serial": cctalk.Frame(1, 0, b"\x01\x02\x03", src=3),
        "hopper": cctalk.Frame(1, 0, b"\x05\x00\x03\x00", src=3),
    }
    out = {name: b"\x06" + cctalk.encode(frame) for name, frame in frames_.items()}
    out["credit-crc"] = b"\x07" + cctalk.encode(frames_["credit"], cctalk.ChecksumMode.CRC16)
    return out


# --- IPP -------------------------------------------------------------------------------------------
def run_ipp(data: bytes) -> None:
    """One IPP answer: decoded, then re-encoded and decoded again to the same message (each value under its
    own tag, RFC 8010 §3.1.4), then read as printer and job status. A decoded message that does not encode,
    or comes back otherwise, is a finding (AssertionError), not an IppError."""
    message = ipp.decode(data)
    try:
        again = ipp.decode(ipp.encode(message))
    except ipp.IppError as exc:
        raise AssertionError(f"a decoded message does not round-trip: {exc}") from exc
    if again != message:
        raise AssertionError(f"{message} re-encodes as {again}")
    status = PrinterStatus.from_response("ipp://fuzz/ipp/print", message)
    PrinterHealth.from_status(status)
    status.supports(Operation.CREATE_JOB)
    job = JobStatus.from_response(1, message)
    _ = job.terminal
    found = message.find("status-message", GroupTag.OPERATION)
    _ = str(found.value) if found else ""


def _attr(name: str, tag: int, *values: ipp.Value) -> ipp.Attribute:
    return ipp.Attribute(name, tag, tuple(values))


def seeds_ipp() -> dict[str, bytes]:
    operation = ipp.AttributeGroup(
        GroupTag.OPERATION,
        (
            _attr("attributes-charset", ValueTag.CHARSET, "utf-8"),
            _attr("attributes-natural-language", ValueTag.NATURAL_LANGUAGE, "ja"),
            _attr("status-message", ValueTag.TEXT, "successful-ok"),
        ),
    )
    media = ipp.Collection(
        (
            _attr("media-size-name", ValueTag.KEYWORD, "iso_a4_210x297mm"),
            _attr(
                "media-size",
                ValueTag.BEG_COLLECTION,
                ipp.Collection((_attr("x-dimension", ValueTag.INTEGER, 21000),)),
            ),
        )
    )
    printer = ipp.AttributeGroup(
        GroupTag.PRINTER,
        (
            _attr("printer-state", ValueTag.ENUM, 3),
            _attr("printer-state-reasons", ValueTag.KEYWORD, "media-low-warning", "none"),
            _attr("printer-is-accepting-jobs", ValueTag.BOOLEAN, True),
            _attr(
                "printer-make-and-model", ValueTag.TEXT_WITH_LANGUAGE, ipp.TextWithLanguage("ja", "キオスク")
            ),
            _attr("operations-supported", ValueTag.ENUM, 2, 5, 6, 9, 11),
            _attr("pwg-raster-document-resolution-supported", ValueTag.RESOLUTION, ipp.Resolution(300, 300)),
            _attr(
                "printer-current-time", ValueTag.DATE_TIME, dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
            ),
            _attr("copies-supported", ValueTag.RANGE, ipp.IntRange(1, 9)),
            _attr("media-col-ready", ValueTag.BEG_COLLECTION, media),
            _attr("printer-alert", ValueTag.UNKNOWN, None),
            # RFC 8010 §3.1.4: an additional value under another tag (out-of-band unknown, then keyword)
            ipp.Attribute(
                "printer-state-reasons",
                ValueTag.UNKNOWN,
                (None, "none"),
                (ValueTag.UNKNOWN, ValueTag.KEYWORD),
            ),
        ),
    )
    job = ipp.AttributeGroup(
        GroupTag.JOB,
        (
            _attr("job-id", ValueTag.INTEGER, 7),
            _attr("job-state", ValueTag.ENUM, 9),
            _attr("job-state-reasons", ValueTag.KEYWORD, "job-completed-successfully"),
            _attr("job-impressions-completed", ValueTag.INTEGER, 2),
        ),
    )
    return {
        "printer": ipp.encode(ipp.IppMessage(Status.OK, 1, (operation, printer))),
        "job": ipp.encode(ipp.IppMessage(Status.OK, 2, (operation, job))),
        "rejected": ipp.encode(ipp.IppMessage(0x0400, 3, (operation,), (1, 1))),
        "header": struct.pack(">BBHI", 2, 0, 0, 4) + b"\x03",
    }


TARGETS = [
    Target(
        "pn532",
        run_pn532,
        (CardError,),
        "reader/pn532: FrameDecoder over a byte stream in pieces; the Pn532 chip driver reading it",
        max_len=4096,
        seeds=seeds_pn532,
    ),
    Target(
        "cctalk",
        run_cctalk,
        (cctalk.CcTalkError,),
        "kiosk/devices/cash/cctalk.py: frames (both checksums) and every reply parser, coin id values",
        max_len=300,
        seeds=seeds_cctalk,
    ),
    Target(
        "ipp",
        run_ipp,
        (ipp.IppError,),
        "kiosk/devices/printer: ipp.decode of an answer, round trip, printer and job status",
        max_len=4096,
        seeds=seeds_ipp,
    ),
]
