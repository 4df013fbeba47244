"""nfcpy-style byte helpers for the PN532 tests (HEX, CMD, RSP, ACK) and shared constants."""

from __future__ import annotations

from reader.pn532.frames import ACK as ACK_FRAME
from reader.pn532.frames import command_frame, response_frame

AUTH_PIN = "1234"
PUPI = bytes.fromhex("4D594E41")


def HEX(text: str) -> bytes:
    return bytes.fromhex(text.replace(" ", ""))


def CMD(text: str) -> bytes:
    """A host frame from spaced hex ``"4A 01 03 00"`` (command code first)."""
    raw = HEX(text)
    return command_frame(raw[0], raw[1:])


def RSP(text: str) -> bytes:
    """A chip frame from spaced hex ``"4B 00"`` (response code first)."""
    raw = HEX(text)
    return response_frame(raw[0], raw[1:])


def ACK() -> bytes:
    return ACK_FRAME
