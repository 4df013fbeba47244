"""Targets of the card side: APDUs, BER/TLV, the JPKI and 券面 clients reading card answers, the card OS.

``card_answers`` puts a scripted card behind the real clients: the input is the card's answers (2-byte
length framing, :func:`fuzz.core.chunks`), whatever the clients send. ``card_os`` sends a sequence of
command APDUs to the virtual card: every one must be answered with a status word, and none may reach the
card OS's catch-all (an exception inside a handler answers ``6F 00`` and is logged: a finding here).
"""

from __future__ import annotations

import copy
import logging
import tempfile
import threading
from collections.abc import Callable
from functools import cache
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import rsa

from firmware_sim.card import image as card_image
from firmware_sim.card.mynumber import MyNumberCard
from firmware_sim.holder import demo_holder
from firmware_sim.personalise import personalise_card
from firmware_sim.pki.hierarchy import TestPki
from fuzz.core import Target, chunks, join
from reader import ber
from reader.apdu import ApduFormatError, CommandApdu, ResponseApdu
from reader.basic_info import basic_info_hashed_part, parse_basic_info
from reader.errors import CardError, CardRemovedError
from reader.jpki import CertKind, JpkiClient, KeyKind, sha256_digest_info
from reader.kenmen import KenmenClient, parse_integrity, parse_my_number
from reader.loopback import LoopbackTransport
from reader.transport import CardSession, Transport

AUTH_PIN = "1234"
SIGN_PIN = "ABC123"
KENMEN_PIN = "5678"
MAX_APDUS = 64


# --- APDUs -----------------------------------------------------------------------------------------
def run_apdu(data: bytes) -> None:
    """Command and response parse; a parsed command must survive encode → parse unchanged."""
    ResponseApdu.parse(data)
    command = CommandApdu.parse(data)
    again = CommandApdu.parse(command.encode())
    if again != command:
        raise AssertionError(f"{command} re-parses as {again}")


def seeds_apdu() -> dict[str, bytes]:
    samples = {
        "select": CommandApdu(0x00, 0xA4, 0x04, 0x0C, bytes.fromhex("D392F000260100000001")),
        "read-short": CommandApdu(0x00, 0xB0, 0x00, 0x00, le=256),
        "read-extended": CommandApdu(0x00, 0xB0, 0x00, 0x00, le=65536),
        "verify-empty": CommandApdu(0x00, 0x20, 0x00, 0x80),
        "sign-extended": CommandApdu(0x80, 0x2A, 0x00, 0x80, bytes(51), le=256, extended=True),
        "case3-extended": CommandApdu(0x00, 0x20, 0x00, 0x80, bytes(300)),
    }
    return {name: apdu.encode() for name, apdu in samples.items()}


# --- BER -------------------------------------------------------------------------------------------
def run_ber(data: bytes) -> None:
    """Byte 0 bit 0: lenient. The rest through both readers, into every constructed value, and the 券面
    file parsers; each stage runs whatever the one before raised."""
    lenient = bool(data[:1]) and data[0] & 1 == 1
    body = data[1:]
    try:
        ber.object_length(body, lenient=lenient)
    except ber.BerError:
        pass
    todo = [body]
    while todo:
        try:
            for tlv in ber.iter_tlvs(todo.pop(), lenient=lenient):
                if tlv.constructed:
                    todo.append(tlv.value)
        except ber.BerError:
            continue
    for parse in (parse_my_number, parse_basic_info, parse_integrity, basic_info_hashed_part):
        try:
            parse(body)
        except CardError:
            continue
    ber.children(body, lenient=lenient)


def seeds_ber() -> dict[str, bytes]:
    from firmware_sim.card.kenmen.data import build_kenmen_files

    files = build_kenmen_files(demo_holder(), _seed_key())
    return {f"kenmen-{fid:04x}": b"\x01" + content[:1024] for fid, content in files.items()}


@cache
def _seed_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


# --- card answers --------------------------------------------------------------------------------
class AnswerScript:
    """A card transport answering from a script, whatever it is sent; a card that leaves when the
    script ends (CardRemovedError, as a real reader reports it)."""

    def __init__(self, answers: list[bytes], *, extended: bool) -> None:
        self.answers = answers
        self.supports_extended = extended
        self.card_session = CardSession()

    @property
    def atr(self) -> bytes:
        return bytes.fromhex("3BE000FF8131FE4514")

    @property
    def name(self) -> str:
        return "fuzz-script"

    def connect(self, *, exclusive: bool = True) -> None:
        self.card_session.restart()

    def disconnect(self, *, unpower: bool = True) -> None:
        self.card_session.restart()

    def transmit(self, apdu: bytes, *, timeout: float = 10.0, cancel: threading.Event | None = None) -> bytes:
        if not self.answers:
            raise CardRemovedError("the scripted card left")
        return self.answers.pop(0)


def _signed(transport: Transport, digest: bytes) -> bytes:
    client = JpkiClient(transport)
    client.verify_pin(KeyKind.AUTH, AUTH_PIN)
    return client.sign(KeyKind.AUTH, digest)


def _kenmen(transport: Transport) -> KenmenClient:
    client = KenmenClient(transport)
    client.verify_pin(KENMEN_PIN)
    return client


def _operations() -> list[Callable[[Transport], object]]:
    """What the kiosk and myna-reader ask of a card, each from a fresh connection (PIN first where the
    card wants one)."""
    digest = sha256_digest_info(b"challenge")
    return [
        lambda t: JpkiClient(t).detect(),
        lambda t: JpkiClient(t).read_certificate(CertKind.AUTH),
        lambda t: JpkiClient(t).read_certificate_der(CertKind.SIGN_CA),
        lambda t: JpkiClient(t).cert_presence(),
        lambda t: JpkiClient(t).pin_status(KeyKind.AUTH),
        lambda t: JpkiClient(t).verify_pin(KeyKind.AUTH, AUTH_PIN),
        lambda t: JpkiClient(t).change_pin(KeyKind.SIGN, SIGN_PIN, "NEW123"),
        lambda t: _signed(t, digest),
        lambda t: KenmenClient(t).pin_status(),
        lambda t: KenmenClient(t).verify_pin(KENMEN_PIN),
        lambda t: _kenmen(t).read_my_number(),
        lambda t: _kenmen(t).read_basic_info(),
        lambda t: _kenmen(t).read_integrity(),
        lambda t: _kenmen(t).check_integrity(),
    ]


OPERATIONS = _operations()


def run_card_answers(data: bytes) -> None:
    """Byte 0: the operation (low bits) and whether the reader carries extended APDUs (bit 7)."""
    if not data:
        return
    transport = AnswerScript(list(chunks(data[1:])), extended=bool(data[0] & 0x80))
    OPERATIONS[(data[0] & 0x7F) % len(OPERATIONS)](transport)


# --- the card OS -----------------------------------------------------------------------------------
class _Faults(logging.Handler):
    """Counts the card OS's 'card OS fault' records (an exception a handler did not turn into a status)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.faults: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.faults.append(record.getMessage())


class FuzzCard:
    """A personalised virtual card (made once per process, in a temporary folder) whose PIN counters go
    back to their first values after every input, so that each input starts from the same card."""

    def __init__(self) -> None:
        # A PIN check costs a real KDF on the virtual card (scrypt, N=4096): the fuzz card's PINs are hashed
        # with the cheapest parameters instead, so that VERIFY inputs run as fast as the others.
        card_image._SCRYPT = {"n": 2, "r": 1, "p": 1}
        self._folder = tempfile.TemporaryDirectory(prefix="fuzz-card-")
        folder = Path(self._folder.name)
        personalise_card(
            folder / "card.json",
            pki=TestPki.open(folder / "pki"),
            holder=demo_holder(),
            auth_pin=AUTH_PIN,
            sign_pin=SIGN_PIN,
            kenmen_pin=KENMEN_PIN,
        )
        self.card = MyNumberCard.from_image(folder / "card.json")
        # PIN counters go back in memory after each input: writing them to disk each time is not needed.
        card_image._write_durably = lambda path, document: None  # type: ignore[assignment]
        self._pins = copy.deepcopy(self.card.image._doc["pins"])
        self.faults = _Faults()
        cardos_log = logging.getLogger("firmware_sim.card.cardos")
        cardos_log.addHandler(self.faults)
        cardos_log.setLevel(logging.ERROR)
        cardos_log.propagate = False

    def fresh(self) -> MyNumberCard:
        """The card, powered off, its PIN counters as personalised, no fault recorded."""
        self.card.power_off()
        pins = self.card.image._doc["pins"]
        if pins != self._pins:
            pins.clear()
            pins.update(copy.deepcopy(self._pins))
        self.faults.faults.clear()
        return self.card


@cache
def fuzz_card() -> FuzzCard:
    return FuzzCard()


def run_card_os(data: bytes) -> None:
    """Up to 64 command APDUs from power-on; each must get data + SW1 SW2 and no card OS fault."""
    holder = fuzz_card()
    card = holder.fresh()
    for count, apdu in enumerate(chunks(data)):
        if count >= MAX_APDUS:
            break
        response = card.process(apdu)
        if len(response) < 2:
            raise AssertionError(f"answer without a status word to {apdu.hex(' ')}")
        if holder.faults.faults:
            raise AssertionError(f"card OS fault on {apdu.hex(' ')}: {holder.faults.faults[0]}")


# --- seeds recorded from the real clients against the virtual card -------------------------------
class _Recorder:
    """Wraps a transport and keeps each exchange."""

    def __init__(self, inner: LoopbackTransport) -> None:
        self.inner = inner
        self.supports_extended = inner.supports_extended
        self.exchanges: list[tuple[bytes, bytes]] = []

    @property
    def card_session(self) -> CardSession:
        return self.inner.card_session

    @property
    def atr(self) -> bytes:
        return self.inner.atr

    @property
    def name(self) -> str:
        return self.inner.name

    def connect(self, *, exclusive: bool = True) -> None:
        self.inner.connect(exclusive=exclusive)

    def disconnect(self, *, unpower: bool = True) -> None:
        self.inner.disconnect(unpower=unpower)

    def transmit(self, apdu: bytes, *, timeout: float = 10.0, cancel: threading.Event | None = None) -> bytes:
        answer = self.inner.transmit(apdu, timeout=timeout, cancel=cancel)
        self.exchanges.append((apdu, answer))
        return answer


def recorded_sessions() -> dict[str, tuple[int, bool, list[tuple[bytes, bytes]]]]:
    """name -> (operation index, extended, exchanges) of operations against the virtual card."""
    found: dict[str, tuple[int, bool, list[tuple[bytes, bytes]]]] = {}
    plan = [(0, True), (1, True), (1, False), (3, True), (4, True), (5, True), (7, True), (8, True)]
    plan += [(9, True), (10, True), (11, True), (11, False), (12, True), (13, True)]
    for index, extended in plan:
        transport = LoopbackTransport(fuzz_card().fresh(), extended=extended)
        transport.connect()
        recorder = _Recorder(transport)
        try:
            OPERATIONS[index](recorder)
        except CardError:
            pass
        finally:
            transport.disconnect()
            transport.close()
        found[f"op{index:02d}{'-ext' if extended else '-short'}"] = (index, extended, recorder.exchanges)
    return found


def seeds_card_answers() -> dict[str, bytes]:
    return {
        name: bytes(((index | (0x80 if extended else 0)),)) + join([answer for _, answer in exchanges])
        for name, (index, extended, exchanges) in recorded_sessions().items()
    }


def seeds_card_os() -> dict[str, bytes]:
    out = {}
    for name, (_, _, exchanges) in recorded_sessions().items():
        out[name] = join([command for command, _ in exchanges][:MAX_APDUS])
    return out


TARGETS = [
    Target(
        "apdu",
        run_apdu,
        (ApduFormatError,),
        "reader/apdu.py: CommandApdu.parse (every ISO case) and ResponseApdu.parse; encode round trip",
        max_len=512,
        seeds=seeds_apdu,
    ),
    Target(
        "ber",
        run_ber,
        (ber.BerError,),
        "reader/ber.py strict and lenient, nested; reader/basic_info.py, reader/kenmen.py integrity parsers",
        max_len=2048,
        seeds=seeds_ber,
    ),
    Target(
        "card_answers",
        run_card_answers,
        (CardError,),
        "reader JpkiClient / KenmenClient over a scripted card: detect, certificates, PINs, sign, 券面",
        max_len=8192,
        seeds=seeds_card_answers,
    ),
    Target(
        "card_os",
        run_card_os,
        (),
        "firmware_sim MyNumberCard.process: any APDU sequence gets a status word, never a fault",
        max_len=4096,
        seeds=seeds_card_os,
    ),
]
