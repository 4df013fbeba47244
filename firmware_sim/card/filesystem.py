"""The file system inside one application (DF): data EFs, PIN EFs, key EFs, and their ISO commands.

Shared by the JPKI AP and the 券面事項入力補助AP: SELECT EF by FID, READ BINARY (offset and SFI
forms, short and extended Le), VERIFY (status query, counters through the durable card image) and
CHANGE REFERENCE DATA. Choices the sources leave open (docs/card.md §10; tests/firmware_sim/card pin them):

- READ BINARY of a key or PIN EF, VERIFY naming a data EF → ``69 81`` (incompatible file structure).
- VERIFY data is compared as raw bytes; a PIN of the wrong length counts as a wrong PIN (the card,
  not the client, is where format does not matter). More than 64 data bytes → ``67 00``, uncounted.
- A failed VERIFY also drops that PIN's verified state (ISO 7816-4 behaviour).
- CHANGE REFERENCE DATA of a key reference derived from the card face (照合番号A/B, birth date)
  → ``69 85``: those values are printed on the card, not chosen by the holder.
- Re-selecting the DF keeps the verified state by default (MCARD's report); configurable.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric import rsa

from firmware_sim.card.cardos import CardStatus, Reply
from firmware_sim.card.image import CardImage
from reader.apdu import CommandApdu
from reader.constants import SW, Ins, SelectP1

logger = logging.getLogger(__name__)

MAX_PIN_BYTES = 64
P2_CURRENT_EF = 0x80
_SFI_MASK = 0x1F

#: Format a new PIN must have (CHANGE REFERENCE DATA), by image PIN name (docs/card.md §5).
PIN_FORMATS: Mapping[str, re.Pattern[bytes]] = {
    "auth": re.compile(rb"[0-9]{4}"),
    "kenmen": re.compile(rb"[0-9]{4}"),
    "sign": re.compile(rb"[A-Z0-9]{6,16}"),
}


@dataclass(frozen=True)
class DataEf:
    """A transparent EF. Readable when ``read_pins`` is empty or any one of them is verified."""

    fid: int
    content: bytes
    read_pins: frozenset[str] = frozenset()
    sensitive: bool = False  # personal data: READ BINARY answers are never logged


@dataclass(frozen=True)
class PinEf:
    """A PIN (key reference) backed by the image's PIN ``pin``; ``changeable`` by its holder."""

    fid: int
    pin: str
    changeable: bool = True


@dataclass(frozen=True)
class KeyEf:
    """A private key EF; using it needs PIN ``pin`` verified."""

    fid: int
    pin: str
    key: Callable[[], rsa.RSAPrivateKey]


Ef = DataEf | PinEf | KeyEf
Handler = Callable[[CommandApdu], Reply]


def sfi_from_p2(p2: int) -> int | None:
    """``80|SFI`` in P2 → SFI; ``80`` (current EF) → None. Raises CardStatus(6A86) otherwise."""
    if p2 == P2_CURRENT_EF:
        return None
    if p2 & 0xE0 == 0x80 and p2 & _SFI_MASK:
        return p2 & _SFI_MASK
    raise CardStatus(SW.WRONG_P1P2)


class DedicatedFile:
    """One application: its EFs, the current EF, and which of its PINs are verified."""

    def __init__(
        self, aid: bytes, image: CardImage, files: Iterable[Ef], *, keep_security_on_reselect: bool = True
    ) -> None:
        self.aid = aid
        self.image = image
        self.files: dict[int, Ef] = {ef.fid: ef for ef in files}
        self.keep_security_on_reselect = keep_security_on_reselect
        self.verified: set[str] = set()
        self.current_ef: Ef | None = None
        self._handlers: dict[int, Handler] = {
            Ins.SELECT: self._select_ef,
            Ins.READ_BINARY: self._read_binary,
            Ins.VERIFY: self._verify,
            Ins.CHANGE_REFERENCE_DATA: self._change_reference_data,
        }

    def add_handler(self, ins: int, handler: Handler) -> None:
        """Let a subclass answer another instruction."""
        self._handlers[ins] = handler

    # --- Application protocol ------------------------------------------------------------------
    def on_select(self) -> None:
        """The DF was selected by AID: no current EF; verified state kept unless configured not to."""
        self.current_ef = None
        if not self.keep_security_on_reselect:
            self.verified.clear()

    def clear_security(self) -> None:
        """Power-off / reset: forget verified PINs and the current EF."""
        self.verified.clear()
        self.current_ef = None

    def handle(self, cmd: CommandApdu, secure_messaging: bool) -> Reply:
        """Answer one command for this DF. Raises CardStatus."""
        handler = self._handlers.get(cmd.ins)
        if handler is None:
            raise CardStatus(SW.INS_NOT_SUPPORTED)
        if secure_messaging:
            refused = cmd.ins in (Ins.READ_BINARY, Ins.VERIFY)
            raise CardStatus(SW.SM_CLA_REFUSED if refused else SW.SM_NOT_SUPPORTED)
        return handler(cmd)

    # --- helpers -------------------------------------------------------------------------------
    def ef_by_sfi(self, sfi: int) -> Ef:
        """The EF whose FID equals ``sfi`` (JPKI FIDs are 0001–001E). Raises CardStatus(6A82)."""
        ef = self.files.get(sfi)
        if ef is None:
            raise CardStatus(SW.FILE_NOT_FOUND, f"SFI {sfi:02X}")
        return ef

    def require_current(self) -> Ef:
        """The current EF. Raises CardStatus(6986) when none is selected."""
        if self.current_ef is None:
            raise CardStatus(SW.NO_CURRENT_EF)
        return self.current_ef

    def pin_for_p2(self, p2: int) -> PinEf:
        """The PIN EF named by P2 (80 = current EF, 80|SFI). Raises CardStatus."""
        sfi = sfi_from_p2(p2)
        if sfi is None:
            ef = self.require_current()
        else:
            found = self.files.get(sfi)
            if found is None:
                raise CardStatus(SW.REFERENCED_DATA_NOT_FOUND, f"key reference {sfi:02X}")
            ef = found
        if not isinstance(ef, PinEf):
            raise CardStatus(SW.INCOMPATIBLE_FILE_STRUCTURE, "not a PIN EF")
        return ef

    # --- commands ------------------------------------------------------------------------------
    def _select_ef(self, cmd: CommandApdu) -> Reply:
        if cmd.p1 != SelectP1.EF_UNDER_DF:
            raise CardStatus(SW.WRONG_P1P2)
        if len(cmd.data) != 2:
            raise CardStatus(SW.WRONG_LENGTH, "FID must be 2 bytes")
        ef = self.files.get(int.from_bytes(cmd.data, "big"))
        if ef is None:
            raise CardStatus(SW.FILE_NOT_FOUND, f"FID {cmd.data.hex().upper()}")
        self.current_ef = ef
        return Reply()

    def _read_binary(self, cmd: CommandApdu) -> Reply:
        if cmd.p1 & 0x80:
            if cmd.p1 & 0x60 or not cmd.p1 & _SFI_MASK:
                raise CardStatus(SW.WRONG_P1P2)
            ef = self.ef_by_sfi(cmd.p1 & _SFI_MASK)
            self.current_ef = ef
            offset = cmd.p2
        else:
            ef = self.require_current()
            offset = (cmd.p1 << 8) | cmd.p2
        if cmd.data or cmd.le == 0:
            raise CardStatus(SW.WRONG_LENGTH)
        if not isinstance(ef, DataEf):
            raise CardStatus(SW.INCOMPATIBLE_FILE_STRUCTURE, "READ BINARY of a key/PIN EF")
        if ef.read_pins and not ef.read_pins & self.verified:
            raise CardStatus(SW.SECURITY_STATUS_NOT_SATISFIED)
        if offset >= len(ef.content):
            raise CardStatus(SW.OFFSET_OUTSIDE_EF)
        return Reply(ef.content[offset : offset + cmd.le], sensitive=ef.sensitive)

    def _verify(self, cmd: CommandApdu) -> Reply:
        if cmd.p1 != 0:
            raise CardStatus(SW.WRONG_P1P2)
        pin = self.pin_for_p2(cmd.p2)
        if not cmd.data:  # status query: never a verification (OpenSC 23fead8e7)
            return Reply(sw=SW.VERIFY_FAILED_BASE | min(self.image.tries_left(pin.pin), 0x0F))
        if len(cmd.data) > MAX_PIN_BYTES:
            raise CardStatus(SW.WRONG_LENGTH)
        if self.image.tries_left(pin.pin) == 0:
            raise CardStatus(SW.AUTH_METHOD_BLOCKED)
        left = self.image.verify_pin(pin.pin, cmd.data)  # durable before we answer
        if left == self.image.max_tries(pin.pin):
            self.verified.add(pin.pin)
            return Reply()
        self.verified.discard(pin.pin)
        logger.info("wrong %s PIN, %d tries left", pin.pin, left)
        raise CardStatus(SW.VERIFY_FAILED_BASE | min(left, 0x0F))

    def _change_reference_data(self, cmd: CommandApdu) -> Reply:
        if cmd.p1 != 0x01:  # only "new reference data" (the old one was verified before)
            raise CardStatus(SW.WRONG_P1P2)
        pin = self.pin_for_p2(cmd.p2)
        if not pin.changeable:
            raise CardStatus(SW.CONDITIONS_NOT_SATISFIED, "a card-face code cannot be changed")
        if not cmd.data or len(cmd.data) > MAX_PIN_BYTES:
            raise CardStatus(SW.WRONG_LENGTH)
        if self.image.tries_left(pin.pin) == 0:
            raise CardStatus(SW.AUTH_METHOD_BLOCKED)
        if pin.pin not in self.verified:
            raise CardStatus(SW.SECURITY_STATUS_NOT_SATISFIED)
        fmt = PIN_FORMATS.get(pin.pin)
        if fmt is not None and not fmt.fullmatch(cmd.data):
            raise CardStatus(SW.WRONG_DATA, "new PIN has the wrong format")
        self.image.change_pin(pin.pin, cmd.data)
        logger.info("%s PIN changed", pin.pin)
        return Reply()
