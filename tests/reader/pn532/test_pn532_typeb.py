"""The Type B PICC on its own: ISO 14443-3 states, ISO-DEP block rules and chaining, and the
firmware's ISO-DEP initiator; fuzzed frames; fuzzed chip answers into the host's chip layer."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pn532_helpers import ACK, CMD, HEX

from firmware_sim.pn532.typeb import DepStatus, IsoDepPcd, PiccState, TypeBCard, TypeBParams
from reader.errors import TransportError
from reader.pn532.chip import Pn532

PUPI = HEX("01 02 03 04")


class EchoCard:
    """A card OS that answers ``data + 90 00`` (or a fixed long answer for INS B0)."""

    def power_on(self) -> bytes:
        return b""

    def power_off(self) -> None:
        pass

    def process(self, apdu: bytes) -> bytes:
        return bytes(range(256)) * 3 + HEX("90 00") if apdu[1:2] == b"\xb0" else apdu + HEX("90 00")


def active_card(fsdi: int = 8, cid: int = 0) -> TypeBCard:
    card = TypeBCard(EchoCard(), TypeBParams(pupi=PUPI))
    card.field_on()
    assert card.handle(HEX("05 00 08")) == HEX("50 01 02 03 04 00 00 05 E0 B3 81 A1")
    assert card.handle(HEX("1D 01 02 03 04 00") + bytes((fsdi, 1, cid))) == bytes((cid,))
    return card


STATES = [
    ("05 00 00", PiccState.IDLE, "50 01 02 03 04 00 00 05 E0 B3 81 A1"),  # REQB from IDLE
    ("05 00 00", PiccState.HALT, None),  # REQB does not wake a halted card
    ("05 00 08", PiccState.HALT, "50 01 02 03 04 00 00 05 E0 B3 81 A1"),  # WUPB does
    ("05 42 08", PiccState.IDLE, None),  # another AFI family
    ("1D 01 02 03 04 00 08 01 00", PiccState.IDLE, None),  # ATTRIB before REQB
    ("1D 09 09 09 09 00 08 01 00", PiccState.READY, None),  # ATTRIB for another PUPI
    ("50 01 02 03 04", PiccState.READY, "00"),  # HLTB
]


@pytest.mark.parametrize(("frame", "state", "answer"), STATES)
def test_iso14443_3_state_table(frame: str, state: PiccState, answer: str | None) -> None:
    card = TypeBCard(EchoCard(), TypeBParams(pupi=PUPI))
    card.field_on()
    card.state = state
    assert card.handle(HEX(frame)) == (None if answer is None else HEX(answer))


def test_mute_out_of_the_field_and_without_rf() -> None:
    card = active_card()
    card.remove()
    assert card.handle(HEX("02 00 A4")) is None
    card.insert(rf_on=False)
    assert card.handle(HEX("05 00 08")) is None


def test_block_rules_without_cid() -> None:
    card = active_card()
    assert card.handle(HEX("02 00 A4 00 00")) == HEX("02 00 A4 00 00 90 00")  # bn 0
    assert card.handle(HEX("B3")) == HEX("A2")  # R(NAK) with the other number → R(ACK)
    assert card.handle(HEX("B2")) == HEX("A2")  # same number → the last block again
    assert card.handle(HEX("03 00 A4 00 01")) == HEX("03 00 A4 00 01 90 00")
    assert card.handle(HEX("0A 01 00 A4")) is None  # a CID the card was not given
    assert card.handle(HEX("C2")) == HEX("C2") and card.state is PiccState.HALT


def test_command_and_response_chaining_with_a_small_fsd() -> None:
    card = active_card(fsdi=0)  # FSD 16: 13 bytes of INF per block
    dep = IsoDepPcd(card, cid=0, fsc=16)
    status, first = dep.exchange(HEX("00 D6 00 00 14") + bytes(20))  # 25 bytes: two chained blocks
    assert status is DepStatus.OK and dep.more is True
    whole = first
    while dep.more:
        status, part = dep.next_part()
        whole += part
    assert whole == HEX("00 D6 00 00 14") + bytes(20) + HEX("90 00")
    assert dep.presence()


def test_pcd_with_cid_and_a_pulled_card() -> None:
    card = active_card(fsdi=5, cid=1)
    dep = IsoDepPcd(card, cid=1, fsc=256)
    status, first = dep.exchange(HEX("00 B0 00 00 00"))
    assert status is DepStatus.OK and len(first) == 60 and dep.more
    card.remove()
    assert dep.next_part() == (DepStatus.TIMEOUT, b"")
    assert not dep.presence()


def test_slow_card_asks_for_waiting_time_extension() -> None:
    class Slow(EchoCard):
        def process(self, apdu: bytes) -> bytes:
            time.sleep(0.01)
            return HEX("90 00")

    card = TypeBCard(Slow(), TypeBParams(pupi=PUPI, protocol_info=HEX("B3 81 01")))  # FWI 0: 0.3 ms
    card.field_on()
    card.handle(HEX("05 00 08"))
    card.handle(HEX("1D 01 02 03 04 00 08 01 00"))
    wtx = card.handle(HEX("02 00 2A"))
    assert wtx is not None and wtx[0] == 0xF2 and wtx[1] >= 1
    assert card.handle(wtx) == HEX("02 90 00")


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=40), max_size=12))
def test_fuzzed_frames_never_break_the_card(frames: list[bytes]) -> None:
    card = active_card()
    for frame in frames:
        answer = card.handle(frame)
        assert answer is None or isinstance(answer, bytes)
    assert card.handle(HEX("C2")) in (HEX("C2"), None)


class NoisyLink:
    """Answers every command write with an ACK and then ``noise``."""

    def __init__(self, noise: bytes) -> None:
        self.noise, self.pending = noise, b""

    def write(self, data: bytes) -> None:
        self.pending = ACK() + self.noise if data == CMD("02") else b""

    def read(self, timeout: float) -> bytes:
        data, self.pending = self.pending, b""
        return data


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=80))
def test_fuzzed_chip_answers_raise_only_transport_errors(noise: bytes) -> None:
    chip = Pn532(NoisyLink(noise))  # type: ignore[arg-type]
    try:
        chip.command(0x02, timeout=0.02)
    except TransportError:
        pass
