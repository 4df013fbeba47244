"""The virtual card in one of pcscd's vpcd readers, failing at once with the reason when that reader is not
usable: pcscd not answering, no such reader (vpcd not configured for the port), a card already in it
(another harness, bench or test holds it), or vpcd not taking the card when it is placed.

vpcd has one TCP port per virtual reader (35963 → "Virtual PCD 00 00", 35964 → "Virtual PCD 00 01") and
takes one connection on each: a second bridge would sit in the listen backlog until the step timed out.
"""

from __future__ import annotations

from firmware_sim.card.mynumber import MyNumberCard
from firmware_sim.phone.android import AndroidPhone
from firmware_sim.phone.iphone import IPhone
from firmware_sim.vpcd import VpcdBridge
from reader.errors import TransportError
from reader.pcsc import list_readers

FIRST_PORT = 35963  # vpcd's first reader
PLACE_TIMEOUT = 5.0  # pcscd polls every 400 ms: a card not taken in 5 s is not going to be


class ReaderBusyError(OSError):
    """The vpcd reader cannot take the virtual card; the message says why, in one line."""


def reader_name(port: int) -> str:
    """vpcd's name for the reader on TCP ``port`` ("Virtual PCD 00 00" for 35963)."""
    return f"Virtual PCD 00 {port - FIRST_PORT:02d}"


def check_reader(name: str) -> None:
    """pcscd answers, lists ``name`` and sees no card in it. Raises ReaderBusyError saying which not."""
    try:
        readers = list_readers()
    except TransportError as exc:
        raise ReaderBusyError(f"pcscd does not answer ({exc}): start it (scripts/ensure-pcscd.sh)") from exc
    found = next((r for r in readers if r.name == name), None)
    if found is None:
        listed = ", ".join(r.name for r in readers) or "none"
        raise ReaderBusyError(f"pcscd has no reader {name!r} (readers: {listed}): is vpcd configured?")
    if found.card_present:
        raise ReaderBusyError(
            f"reader {name!r} is busy: a card is already in it (another harness, bench or test)"
        )


class VpcdSlot:
    """The card slot of a vpcd reader: ``insert`` / ``remove`` the virtual card, ``card`` swaps it while
    out. A context manager that stops the bridge."""

    def __init__(
        self, card: MyNumberCard | AndroidPhone | IPhone, port: int, *, host: str = "127.0.0.1"
    ) -> None:
        """Check the reader, then start the bridge with the card out. Raises ReaderBusyError."""
        self.name = reader_name(port)
        check_reader(self.name)
        self.bridge = VpcdBridge(card, host, port)
        self.bridge.start(inserted=False)

    @property
    def card(self) -> MyNumberCard | AndroidPhone | IPhone:
        card = self.bridge.card
        assert isinstance(card, MyNumberCard | AndroidPhone | IPhone)
        return card

    @card.setter
    def card(self, card: MyNumberCard | AndroidPhone | IPhone) -> None:
        self.bridge.card = card

    def insert(self) -> None:
        """Place the card. Raises ReaderBusyError when vpcd does not take it within PLACE_TIMEOUT."""
        if not self.bridge.insert(timeout=PLACE_TIMEOUT):
            self.bridge.remove()
            raise ReaderBusyError(
                f"vpcd did not take the card in {self.name!r} (127.0.0.1:{self.bridge.port}) within "
                f"{PLACE_TIMEOUT:.0f} s: another process holds the reader, or pcscd stopped"
            )

    def remove(self) -> None:
        """Take the card out. Never raises."""
        self.bridge.remove()

    def stop(self) -> None:
        """Take the card out and stop the bridge. Never raises."""
        self.bridge.stop()
