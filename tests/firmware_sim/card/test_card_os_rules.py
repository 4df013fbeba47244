"""Card-OS rules as APDU tables: class byte, channels, SM, SELECT, MF, GET CHALLENGE, GET DATA."""

from __future__ import annotations

import pytest
from card_helpers import SELECT_JPKI, SELECT_KENMEN, sw, tx

from firmware_sim.card.mynumber import MyNumberCard

# (description, setup APDUs, command, expected SW)
FRESH = [
    ("JPKI AID", [], SELECT_JPKI, 0x9000),
    ("kenmen AID", [], SELECT_KENMEN, 0x9000),
    ("JPKI AID with P2=00 (FCI requested)", [], "00 A4 04 00 0A D3 92 F0 00 26 01 00 00 00 01 00", 0x9000),
    ("unknown AID", [], "00 A4 04 0C 0A D3 92 F0 00 26 01 00 00 00 02", 0x6A82),
    ("partial AID", [], "00 A4 04 0C 05 D3 92 F0 00 26", 0x6A82),
    ("PIV probe", [], "00 A4 04 00 09 A0 00 00 03 08 00 00 10 00 00", 0x6A82),
    ("OpenPGP probe", [], "00 A4 04 00 06 D2 76 00 01 24 01 00", 0x6A82),
    ("GP ISD probe", [], "00 A4 04 00 07 A0 00 00 01 51 00 00 00", 0x6A82),
    ("SELECT next occurrence", [], "00 A4 04 0E 0A D3 92 F0 00 26 01 00 00 00 01", 0x6A86),
    ("MF after reset", [], "00 A4 00 00", 0x6A86),
    ("MF with P2=0C after reset", [], "00 A4 00 0C", 0x6A86),
    ("3F00 by FID", [], "00 A4 00 0C 02 3F 00", 0x6A82),
    ("MF once an AP is selected", [SELECT_JPKI], "00 A4 00 00", 0x9000),
    ("EF select without a DF", [], "00 A4 02 0C 02 00 0A", 0x6986),
    ("EF select P1=09 path", [SELECT_JPKI], "00 A4 09 0C 02 00 0A", 0x6A86),
    ("EF select unknown FID", [SELECT_JPKI], "00 A4 02 0C 02 00 09", 0x6A82),
    ("EF select 3F00", [SELECT_JPKI], "00 A4 02 0C 02 3F 00", 0x6A82),
    ("EF select 1-byte FID", [SELECT_JPKI], "00 A4 02 0C 01 0A", 0x6700),
    ("EF select auth cert", [SELECT_JPKI], "00 A4 02 0C 02 00 0A", 0x9000),
    ("READ BINARY without an AP", [], "00 B0 00 00 04", 0x6986),
    ("VERIFY without an AP", [], "00 20 00 80", 0x6986),
    ("logical channel 1", [], "01 A4 04 0C 0A D3 92 F0 00 26 01 00 00 00 01", 0x6881),
    ("logical channel 3", [], "03 B0 00 00 04", 0x6881),
    ("further-interindustry channel", [], "40 A4 04 0C 0A D3 92 F0 00 26 01 00 00 00 01", 0x6881),
    ("SM on SELECT", [], "0C A4 04 0C 0A D3 92 F0 00 26 01 00 00 00 01", 0x6882),
    ("SM (08) on SELECT", [], "08 A4 04 0C 0A D3 92 F0 00 26 01 00 00 00 01", 0x6882),
    ("SM on READ BINARY", [SELECT_JPKI, "00 A4 02 0C 02 00 0A"], "0C B0 00 00 04", 0x69FC),
    ("SM (08) on VERIFY", [SELECT_JPKI, "00 A4 02 0C 02 00 18"], "08 20 00 80", 0x69FC),
    ("SM on VERIFY with data", [SELECT_JPKI], "0C 20 00 98 04 31 32 33 34", 0x69FC),
    ("unknown INS", [], "00 12 00 00", 0x6D00),
    ("unknown INS in an AP", [SELECT_JPKI], "00 E0 00 00 02 00 00", 0x6D00),
    ("proprietary class unknown INS", [], "80 FC 00 00", 0x6D00),
    ("class B0 (Muscle probe)", [], "B0 A4 04 00 06 A0 00 00 00 01 01", 0x6E00),
    ("class FF", [], "FF CA 00 00 00", 0x6E00),
    ("class 20 RFU", [], "20 A4 04 0C 01 00", 0x6E00),
    ("ISO INS in proprietary class", [], "80 A4 04 0C 0A D3 92 F0 00 26 01 00 00 00 01", 0x6E00),
    ("sign INS in ISO class", [SELECT_JPKI], "00 2A 00 80 01 00 00", 0x6E00),
    ("command chaining", [], "10 A4 04 0C 0A D3 92 F0 00 26 01 00 00 00 01", 0x6884),
    ("GET DATA (PIV probe, odd INS)", [], "00 CB 3F FF 05 5C 03 5F C1 02 00", 0x6D00),
    ("GET DATA unknown tag", [], "00 CA 01 01 00", 0x6A88),
    ("GET DATA inside an AP", [SELECT_JPKI], "00 CA 5F 51 00", 0x6A88),
    ("GET DATA proprietary (CPLC)", [], "80 CA 9F 7F 00", 0x6E00),
    ("GET CHALLENGE extended", [], "00 84 00 00 00 00 08", 0x6985),
    ("GET CHALLENGE no Le", [], "00 84 00 00", 0x6700),
    ("GET CHALLENGE P1", [], "00 84 01 00 08", 0x6A86),
    ("malformed: 3 bytes", [], "00 A4 04", 0x6700),
    ("malformed: Lc mismatch", [], "00 A4 04 0C 0A D3 92", 0x6700),
    ("malformed: extended Lc zero", [], "00 B0 00 00 00 00 00 00", 0x6700),
    ("empty APDU", [], "", 0x6700),
]


@pytest.mark.parametrize(("setup", "command", "expected"), [c[1:] for c in FRESH], ids=[c[0] for c in FRESH])
def test_status_word_table(card: MyNumberCard, setup: list[str], command: str, expected: int) -> None:
    for step in setup:
        assert sw(card, step) == 0x9000, step
    data, status = tx(card, command)
    assert (status, data) == (expected, b"")


def test_mf_select_keeps_current_df(card: MyNumberCard) -> None:
    assert sw(card, SELECT_JPKI) == 0x9000
    assert sw(card, "00 A4 02 0C 02 00 0A") == 0x9000
    assert sw(card, "00 A4 00 00") == 0x9000
    # still inside the JPKI AP: an EF there is selectable, a kenmen-only PIN is not
    assert sw(card, "00 A4 02 0C 02 00 06") == 0x9000
    assert sw(card, "00 A4 02 0C 02 00 11") == 0x6A82


@pytest.mark.parametrize("le", [1, 8, 255, 256])
def test_get_challenge_lengths(card: MyNumberCard, le: int) -> None:
    data, status = tx(card, bytes.fromhex(f"00840000{le % 256:02X}"))
    assert status == 0x9000 and len(data) == le
    assert tx(card, bytes.fromhex(f"00840000{le % 256:02X}"))[0] != data or le == 1


def test_get_challenge_inside_ap(card: MyNumberCard) -> None:
    sw(card, SELECT_JPKI)
    data, status = tx(card, "00 84 00 00 08")
    assert status == 0x9000 and len(data) == 8


def test_get_data_contact_atr_in_power_on_state(card: MyNumberCard) -> None:
    data, status = tx(card, "00 CA 5F 51 00")
    assert status == 0x9000 and data == card.atr[1:]


def test_reset_returns_to_power_on_state(card: MyNumberCard) -> None:
    sw(card, SELECT_JPKI)
    assert card.reset() == card.atr
    assert sw(card, "00 A4 00 00") == 0x6A86
    assert sw(card, "00 A4 02 0C 02 00 0A") == 0x6986


def test_first_apdu_after_power_on_can_fail(card: MyNumberCard) -> None:
    card.fail_first_apdu = True
    card.power_off()
    card.power_on()
    assert sw(card, SELECT_JPKI) == 0x6F00
    assert sw(card, SELECT_JPKI) == 0x9000
    card.power_on()
    assert sw(card, SELECT_JPKI) == 0x6F00


def test_first_apdu_flag_off_by_default(card: MyNumberCard) -> None:
    card.power_off()
    card.power_on()
    assert sw(card, SELECT_JPKI) == 0x9000


def test_handler_fault_answers_6f00(card: MyNumberCard, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*_args: object) -> None:
        raise RuntimeError("bug")

    monkeypatch.setattr(card.jpki, "handle", boom)
    sw(card, SELECT_JPKI)
    assert tx(card, "00 B0 00 00 04") == (b"", 0x6F00)


def test_on_command_and_on_exchange_hooks(card: MyNumberCard) -> None:
    seen: list[int] = []
    exchanges: list[tuple[bytes, bytes]] = []
    card.on_command = lambda cmd: seen.append(cmd.ins)
    card.on_exchange = lambda c, r: exchanges.append((c, r))
    sw(card, SELECT_JPKI)
    sw(card, "00 A4 02")  # malformed: exchange seen, no parsed command
    assert seen == [0xA4]
    assert exchanges == [
        (bytes.fromhex("00A4040C0AD392F000260100000001"), b"\x90\x00"),
        (b"\x00\xa4\x02", b"\x67\x00"),
    ]


def test_delay_per_command(card: MyNumberCard) -> None:
    import time

    from firmware_sim.card.cardos import CardTiming

    card.timing = CardTiming(every=0.0, by_ins={0xA4: 0.05})
    start = time.monotonic()
    sw(card, SELECT_JPKI)
    assert time.monotonic() - start >= 0.05
    start = time.monotonic()
    sw(card, "00 84 00 00 08")
    assert time.monotonic() - start < 0.05
