"""Helpers for the reader tests (a uniquely named module: test files import it directly)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from reader.apdu import h
from reader.errors import NoCardError
from reader.transport import CardSession


@dataclass(eq=False)
class ScriptedTransport:
    """A transport that expects exact request bytes and answers from a script of spaced-hex pairs."""

    script: list[tuple[str, str]]
    supports_extended: bool = False
    name: str = "scripted"
    sent: list[bytes] = field(default_factory=list)
    connected: bool = True
    card_session: CardSession = field(default_factory=CardSession)

    @property
    def atr(self) -> bytes:
        if not self.connected:
            raise NoCardError("not connected")
        return h("3B E0 00 FF 81 31 FE 45 14")

    def connect(self, *, exclusive: bool = True) -> None:
        self.connected = True
        self.card_session.restart()

    def disconnect(self, *, unpower: bool = True) -> None:
        self.connected = False
        self.card_session.restart()

    def transmit(self, apdu: bytes, *, timeout: float = 10.0, cancel: threading.Event | None = None) -> bytes:
        assert self.script, f"unexpected APDU {apdu.hex(' ').upper()} after the script ended"
        expected, answer = self.script.pop(0)
        assert apdu.hex(" ").upper() == h(expected).hex(" ").upper()
        self.sent.append(apdu)
        return h(answer)

    def done(self) -> bool:
        return not self.script
