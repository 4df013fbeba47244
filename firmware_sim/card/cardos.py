"""A small ISO 7816-4 card OS: power, class checks, SELECT of applications, dispatch by INS.

Every input gets a status word: handlers raise :class:`CardStatus` and ``process`` turns anything
else into ``6F 00`` (logged), so no byte string can make the card raise. Applications plug in
through :class:`Application`; the file system they share (EFs, PINs, keys) is
:mod:`firmware_sim.card.filesystem`.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from reader.apdu import SHORT_MAX_LE, ApduFormatError, CommandApdu
from reader.constants import GET_DATA_TAG_CONTACT_ATR, SW, Ins, SelectP1

logger = logging.getLogger(__name__)

#: Log level for APDU hex, below DEBUG (enable with ``logging.getLogger("firmware_sim").setLevel(5)``).
TRAFFIC = 5
logging.addLevelName(TRAFFIC, "TRAFFIC")

MF_FID = b"\x3f\x00"
_REDACTED_INS = frozenset({Ins.VERIFY, Ins.CHANGE_REFERENCE_DATA})

# The class each instruction is defined in (bits for channel / SM / chaining masked off).
_INS_CLASS: Mapping[int, int] = {
    Ins.SELECT: 0x00,
    Ins.READ_BINARY: 0x00,
    Ins.VERIFY: 0x00,
    Ins.CHANGE_REFERENCE_DATA: 0x00,
    Ins.GET_CHALLENGE: 0x00,
    Ins.GET_DATA: 0x00,
    Ins.GET_DATA_ODD: 0x00,
    Ins.INTERNAL_AUTHENTICATE: 0x00,
    Ins.COMPUTE_DIGITAL_SIGNATURE: 0x80,
}


class CardStatus(Exception):
    """Raised by a handler to answer with status word ``sw`` (and no data)."""

    def __init__(self, sw: int, reason: str = "") -> None:
        super().__init__(f"{sw:04X} {reason}".rstrip())
        self.sw = sw


@dataclass(frozen=True)
class Reply:
    """A handler's answer. ``sensitive`` data (PINs, personal data) is never logged."""

    data: bytes = b""
    sw: int = SW.OK
    sensitive: bool = False

    def encode(self) -> bytes:
        """Response APDU bytes: data + SW1 SW2. Never raises."""
        return self.data + self.sw.to_bytes(2, "big")


class Application(Protocol):
    """An application (DF) the card OS selects by AID and hands its commands to."""

    aid: bytes

    def on_select(self) -> None:
        """The DF was selected by AID (again, possibly). Never raises."""
        ...

    def clear_security(self) -> None:
        """Forget verified PINs and the current EF (power-off / reset). Never raises."""
        ...

    def handle(self, cmd: CommandApdu, secure_messaging: bool) -> Reply:
        """Answer one command addressed to this DF. Raises CardStatus."""
        ...


@dataclass(frozen=True)
class CardTiming:
    """Artificial delays for timing tests: ``every`` command, plus ``by_ins`` extra per INS."""

    every: float = 0.0
    by_ins: Mapping[int, float] = field(default_factory=dict)

    def delay_for(self, ins: int) -> float:
        """Seconds to wait before answering instruction ``ins``. Never raises."""
        return self.every + self.by_ins.get(ins, 0.0)


def redacted_hex(raw: bytes) -> str:
    """Command APDU hex for logs, with VERIFY / CHANGE REFERENCE DATA data bytes hidden."""
    if len(raw) > 5 and raw[1] in _REDACTED_INS:
        return f"{raw[:4].hex(' ').upper()} <{len(raw) - 4} bytes redacted>"
    return raw.hex(" ").upper()


class CardOS:
    """The card: ATR, power state, current application, and the APDU dispatcher. Thread-safe."""

    def __init__(
        self,
        atr: bytes,
        applications: Sequence[Application],
        *,
        timing: CardTiming | None = None,
        fail_first_apdu: bool = False,
    ) -> None:
        self.atr = atr
        self._apps = {app.aid: app for app in applications}
        self._current: Application | None = None
        self._powered = False
        self._lock = threading.RLock()
        self.timing = timing or CardTiming()
        #: When True, the first APDU after each power-on answers 6F 00 (docs/card.md §9 pitfall 13).
        self.fail_first_apdu = fail_first_apdu
        self._first_pending = False
        #: Called with every well-formed command before it is handled (benchmarks count with it).
        self.on_command: Callable[[CommandApdu], None] | None = None
        #: Called with (raw command, raw response) of every exchange, malformed ones included.
        self.on_exchange: Callable[[bytes, bytes], None] | None = None

    # --- power -----------------------------------------------------------------------------------
    @property
    def powered(self) -> bool:
        """True between power_on() and power_off()."""
        return self._powered

    def power_on(self) -> bytes:
        """Power the card (cold reset); returns the ATR. Never raises."""
        with self._lock:
            self._enter_power_on_state()
            self._powered = True
            self._first_pending = self.fail_first_apdu
            logger.debug("power on")
            return self.atr

    def power_off(self) -> None:
        """Remove power: every security state is lost. Never raises."""
        with self._lock:
            self._enter_power_on_state()
            self._powered = False
            logger.debug("power off")

    def reset(self) -> bytes:
        """Warm reset: back to the power-on state; returns the ATR. Never raises.

        Clears the security state too (our choice; MCARD reports that a real card keeps it across
        a warm reset and only loses it when unpowered — docs/card.md §9 pitfall 8).
        """
        return self.power_on()

    def _enter_power_on_state(self) -> None:
        for app in self._apps.values():
            app.clear_security()
        self._current = None

    # --- APDUs -----------------------------------------------------------------------------------
    def process(self, apdu: bytes) -> bytes:
        """Answer one command APDU with a response APDU (data + SW1 SW2). Never raises."""
        with self._lock:
            raw = bytes(apdu)
            logger.log(TRAFFIC, "> %s", redacted_hex(raw))
            reply = self._answer(raw)
            response = reply.encode()
            if reply.sensitive and reply.data:
                logger.log(TRAFFIC, "< <%d bytes redacted> %04X", len(reply.data), reply.sw)
            else:
                logger.log(TRAFFIC, "< %s", response.hex(" ").upper())
            hook = self.on_exchange
            if hook is not None:
                try:
                    hook(raw, response)
                except Exception:
                    logger.exception("on_exchange hook failed")
            return response

    def _answer(self, raw: bytes) -> Reply:
        try:
            if not self._powered:
                logger.debug("APDU while unpowered: implicit power-on")
                self.power_on()
            try:
                cmd = CommandApdu.parse(raw)
            except ApduFormatError as exc:
                raise CardStatus(SW.WRONG_LENGTH, str(exc)) from exc
            if self.on_command is not None:
                self.on_command(cmd)
            delay = self.timing.delay_for(cmd.ins)
            if delay > 0:
                time.sleep(delay)
            if self._first_pending:
                self._first_pending = False
                raise CardStatus(SW.NO_PRECISE_DIAGNOSIS, "first APDU after power-on (configured)")
            return self._dispatch(cmd)
        except CardStatus as status:
            if status.sw >> 8 not in (0x63, 0x90):
                logger.debug("answer %s", status)
            return Reply(sw=status.sw)
        except Exception:
            logger.exception("card OS fault on %s", redacted_hex(raw))
            return Reply(sw=SW.NO_PRECISE_DIAGNOSIS)

    def _dispatch(self, cmd: CommandApdu) -> Reply:
        secure_messaging = self._check_class(cmd)
        if cmd.ins == Ins.SELECT:
            if secure_messaging:
                raise CardStatus(SW.SM_NOT_SUPPORTED)
            return self._select(cmd)
        if cmd.ins == Ins.GET_CHALLENGE:
            return self._get_challenge(cmd)
        if cmd.ins in (Ins.GET_DATA, Ins.GET_DATA_ODD):
            return self._get_data(cmd)
        if self._current is None:
            raise CardStatus(SW.NO_CURRENT_EF, "no application selected")
        return self._current.handle(cmd, secure_messaging)

    @staticmethod
    def _check_class(cmd: CommandApdu) -> bool:
        """Validate CLA against INS; return whether secure-messaging bits are set. Raises CardStatus."""
        cla = cmd.cla
        if 0x40 <= cla <= 0x7F:  # further interindustry class: logical channels 4..19
            raise CardStatus(SW.CHANNEL_NOT_SUPPORTED)
        if cla == 0xFF or (cla & 0x60) != 0:  # invalid, RFU, or a proprietary class we do not speak
            raise CardStatus(SW.CLA_NOT_SUPPORTED)
        expected = _INS_CLASS.get(cmd.ins)
        if expected is None:
            raise CardStatus(SW.INS_NOT_SUPPORTED)
        if cla & 0x90 != expected:  # 0x10 = command chaining, not supported; 0x80 = proprietary class
            if cla & 0x10 and cla & 0x80 == expected:
                raise CardStatus(SW.CHAINING_NOT_SUPPORTED)
            raise CardStatus(SW.CLA_NOT_SUPPORTED)
        if cla & 0x03:
            raise CardStatus(SW.CHANNEL_NOT_SUPPORTED)
        return bool(cla & 0x0C)

    # --- card-level commands ---------------------------------------------------------------------
    def _select(self, cmd: CommandApdu) -> Reply:
        if cmd.p1 == SelectP1.DF_NAME:
            if cmd.p2 & 0x03:  # "next occurrence" selection is not supported
                raise CardStatus(SW.WRONG_P1P2)
            app = self._apps.get(cmd.data)
            if app is None:
                raise CardStatus(SW.FILE_NOT_FOUND, f"AID {cmd.data.hex().upper()}")
            self._current = app
            app.on_select()
            return Reply()
        if cmd.p1 == SelectP1.MF_OR_EF:
            # No usable MF (docs/card.md §2): 00 A4 00 00 keeps the current DF once one is selected.
            if cmd.data:
                raise CardStatus(SW.FILE_NOT_FOUND, "no MF / FID selection by P1=00")
            if self._current is None:
                raise CardStatus(SW.WRONG_P1P2, "MF select in the power-on state")
            return Reply()
        if cmd.p1 == SelectP1.EF_UNDER_DF:
            if self._current is None:
                raise CardStatus(SW.NO_CURRENT_EF, "EF select without a DF")
            return self._current.handle(cmd, False)
        raise CardStatus(SW.WRONG_P1P2)

    @staticmethod
    def _get_challenge(cmd: CommandApdu) -> Reply:
        if cmd.p1 or cmd.p2:
            raise CardStatus(SW.WRONG_P1P2)
        if cmd.data or cmd.le == 0:
            raise CardStatus(SW.WRONG_LENGTH)
        if cmd.extended or cmd.le > SHORT_MAX_LE:
            raise CardStatus(SW.CONDITIONS_NOT_SATISFIED, "extended GET CHALLENGE")
        return Reply(secrets.token_bytes(cmd.le))

    def _get_data(self, cmd: CommandApdu) -> Reply:
        # Only the power-on state answers GET DATA, and only the tag we hold; probes get 6A88 / 6D00.
        if cmd.ins == Ins.GET_DATA_ODD:
            raise CardStatus(SW.INS_NOT_SUPPORTED)
        tag = (cmd.p1 << 8) | cmd.p2
        if self._current is not None or tag != GET_DATA_TAG_CONTACT_ATR or cmd.le == 0:
            raise CardStatus(SW.REFERENCED_DATA_NOT_FOUND)
        return Reply(self.atr[1 : 1 + cmd.le])
