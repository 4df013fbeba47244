"""What the JPKI and 券面事項入力補助 clients share: one exchange, SELECT, READ BINARY of a BER object.

Knows nothing of pyscard or pyserial: it speaks to any ``reader.transport.Transport``.
"""

from __future__ import annotations

import logging
import threading

from reader import ber
from reader.apdu import ApduFormatError, CommandApdu, ResponseApdu
from reader.constants import SELECT_P2_NO_RESPONSE, SW, Cla, Ins, SelectP1
from reader.errors import (
    CardError,
    CardStatusError,
    FileNotFoundOnCardError,
    NoCurrentEfError,
    ProtocolError,
    WrongLengthError,
    WrongParametersError,
    check_status,
)
from reader.transport import DEFAULT_TIMEOUT, Transport

log = logging.getLogger(__name__)

SHORT_CHUNK = 256
EXTENDED_ALL = 65536  # extended Le 00 00 00: "everything up to 64 KiB"
HEADER_PROBE = 7  # enough for any tag + 4-byte length (jpki/myna reads 7 too)
MAX_OFFSET = 0x7FFF  # READ BINARY P1P2 is a 15-bit offset


class AppClient:
    """Base of the per-application clients: select the AP once, then work under it.

    Which AP is selected lives in the transport's ``card_session`` (shared by every client on that
    connection, restarted by the transport when the card is re-powered, reset or removed).
    """

    AID: bytes = b""

    def __init__(
        self, transport: Transport, *, timeout: float = DEFAULT_TIMEOUT, cancel: threading.Event | None = None
    ) -> None:
        self.transport = transport
        self.timeout = timeout
        self.cancel = cancel

    # --- exchange --------------------------------------------------------------------------
    def exchange(self, command: CommandApdu, cancel: threading.Event | None = None) -> ResponseApdu:
        """Send one command; the parsed response, whatever its status word.

        Raises TransportError subclasses, CancelledError, ProtocolError (no status word).
        """
        try:
            raw = self.transport.transmit(
                command.encode(), timeout=self.timeout, cancel=cancel or self.cancel
            )
        except CardError:
            self.transport.card_session.forget()
            raise
        try:
            return ResponseApdu.parse(raw)
        except ApduFormatError as exc:
            raise ProtocolError(str(exc)) from exc

    def call(self, command: CommandApdu, cancel: threading.Event | None = None) -> bytes:
        """Send one command, return its data on 90 00; raise the status table's error otherwise."""
        response = self.exchange(command, cancel)
        check_status(response.sw)
        return response.data

    # --- selection -------------------------------------------------------------------------
    def select_ap(self, cancel: threading.Event | None = None, *, force: bool = False) -> None:
        """SELECT this client's AP by its full AID (skipped when already selected, unless ``force``).

        Raises FileNotFoundOnCardError when the card has no such AP, CardError subclasses.
        """
        session = self.transport.card_session
        if not force and session.selected == self.AID:
            return
        session.forget()
        generation = session.generation
        cmd = CommandApdu(Cla.ISO, Ins.SELECT, SelectP1.DF_NAME, SELECT_P2_NO_RESPONSE, self.AID)
        response = self.exchange(cmd, cancel)
        if response.sw == SW.NO_PRECISE_DIAGNOSIS:
            # Some cards fail the first APDU after a power-cycle with 6F 00 (docs/card.md §9 pitfall 13).
            log.debug("SELECT answered 6F 00; retrying once")
            response = self.exchange(cmd, cancel)
        check_status(response.sw)
        session.remember(self.AID, generation)

    def select_ef(self, fid: int, cancel: threading.Event | None = None) -> None:
        """SELECT an EF of this AP by its FID (selects the AP first when needed).

        A cached AP selection that the card has forgotten (6A82 / 69 86) is retried once with a
        fresh SELECT of the AP. Raises CardError subclasses.
        """
        cached = self.transport.card_session.selected == self.AID
        self.select_ap(cancel)
        cmd = CommandApdu(
            Cla.ISO, Ins.SELECT, SelectP1.EF_UNDER_DF, SELECT_P2_NO_RESPONSE, fid.to_bytes(2, "big")
        )
        try:
            self.call(cmd, cancel)
        except (FileNotFoundOnCardError, NoCurrentEfError):
            if not cached:
                raise
            self.select_ap(cancel, force=True)
            self.call(cmd, cancel)

    # --- reading -----------------------------------------------------------------------------
    def read_binary(self, offset: int, le: int, cancel: threading.Event | None = None) -> bytes:
        """READ BINARY of the current EF; returns 1..le bytes. Raises ProtocolError for an empty or
        oversized answer, CardError subclasses for errors."""
        if not 0 <= offset <= MAX_OFFSET:
            raise ProtocolError(f"offset {offset} beyond what READ BINARY can address")
        data = self.call(CommandApdu(Cla.ISO, Ins.READ_BINARY, offset >> 8, offset & 0xFF, le=le), cancel)
        if not data:
            raise ProtocolError(f"card returned no data at offset {offset}")
        if len(data) > le:
            raise ProtocolError(f"card returned {len(data)} bytes for Le={le}")
        return data

    def read_object(
        self, fid: int, *, max_size: int, lenient: bool = False, cancel: threading.Event | None = None
    ) -> bytes:
        """The BER object stored in EF ``fid`` (exactly its bytes, trailing filler dropped).

        Extended Le in one command when the transport supports it (falling back to short reads
        on 67 00), else the first 7 bytes, the parsed length, then 256-byte chunks. A card that
        answers a long read with less than asked is read on from where it stopped.
        Raises ProtocolError for truncated, malformed or oversized data; CardError subclasses.
        """
        self.select_ef(fid, cancel)
        step = EXTENDED_ALL if self.transport.supports_extended else SHORT_CHUNK
        first = b""
        if step == EXTENDED_ALL:
            try:
                first = self.read_binary(0, EXTENDED_ALL, cancel)
            except WrongLengthError:
                log.info("extended READ BINARY refused by %s; reading in short chunks", self.transport.name)
                step = SHORT_CHUNK
        if not first:
            first = self.read_binary(0, HEADER_PROBE, cancel)
        total = _checked_length(first, max_size, lenient)
        data = first[:total]
        while len(data) < total:
            try:
                data += self.read_binary(len(data), min(step, total - len(data)), cancel)
            except WrongParametersError as exc:  # 6B 00: the EF ends before the object does
                raise ProtocolError(f"object truncated: {len(data)} of {total} bytes") from exc
        return data

    def read_exact(self, fid: int, size: int, cancel: threading.Event | None = None) -> bytes:
        """Exactly ``size`` bytes from the start of EF ``fid`` (short reads). Raises ProtocolError
        when the card returns fewer; CardError subclasses."""
        self.select_ef(fid, cancel)
        out = b""
        while len(out) < size:
            out += self.read_binary(len(out), min(SHORT_CHUNK, size - len(out)), cancel)
        return out

    def status_query(self, p2: int, cancel: threading.Event | None = None) -> int | None:
        """The empty VERIFY (case 1) on the current PIN EF: tries left, or None when the card
        answered 90 00 (already verified, count not reported). Raises CardError subclasses."""
        response = self.exchange(CommandApdu(Cla.ISO, Ins.VERIFY, 0x00, p2), cancel)
        sw = response.sw
        if sw == SW.OK:
            return None
        if sw in (SW.VERIFY_FAILED_BASE, SW.AUTH_METHOD_BLOCKED):
            return 0
        if sw & 0xFFF0 == SW.VERIFY_FAILED_BASE:
            return sw & 0x0F
        check_status(sw)
        raise CardStatusError(sw)  # pragma: no cover - check_status raised


def _checked_length(prefix: bytes, max_size: int, lenient: bool) -> int:
    try:
        total = ber.object_length(prefix, lenient=lenient)
    except ber.BerIncompleteError as exc:
        raise ProtocolError(f"object header truncated: {prefix.hex(' ').upper()}") from exc
    if total > max_size:
        raise ProtocolError(f"object claims {total} bytes, more than the {max_size} allowed")
    return total
