"""券面事項入力補助AP: PIN 0011 and the protected files."""

from __future__ import annotations

import pytest
from card_helpers import SELECT_JPKI, SELECT_KENMEN, sw, tx

from firmware_sim.card.mynumber import MyNumberCard
from reader.apdu import h

VERIFY_KENMEN = "00 20 00 80 04 35 36 37 38"


@pytest.fixture
def kenmen(card: MyNumberCard) -> MyNumberCard:
    assert sw(card, SELECT_KENMEN) == 0x9000
    return card


@pytest.mark.parametrize("fid", ["01", "02", "03"])
def test_protected_files_need_the_pin(kenmen: MyNumberCard, fid: str) -> None:
    assert sw(kenmen, f"00 A4 02 0C 02 00 {fid}") == 0x9000
    assert tx(kenmen, "00 B0 00 00 00") == (b"", 0x6982)
    assert tx(kenmen, f"00 B0 8{fid[1]} 00 00") == (b"", 0x6982)


def test_read_after_pin(kenmen: MyNumberCard) -> None:
    assert sw(kenmen, "00 A4 02 0C 02 00 11") == 0x9000
    assert sw(kenmen, "00 20 00 80") == 0x63C3
    assert sw(kenmen, VERIFY_KENMEN) == 0x9000
    sw(kenmen, "00 A4 02 0C 02 00 01")
    files = kenmen.image.kenmen_files
    assert tx(kenmen, "00 B0 00 00 11") == (files[1], 0x9000)
    assert files[1][:3] == h("FF 10 0C") and len(files[1]) == 17
    assert tx(kenmen, "00 B0 82 00 00 00 00") == (files[2], 0x9000)  # SFI form, Le 65536
    assert tx(kenmen, "00 B0 83 00 00 00 00") == (files[3], 0x9000)
    assert len(files[3]) > 256  # the integrity record carries a 256-byte signature


def test_kenmen_pin_locks_after_three(kenmen: MyNumberCard) -> None:
    assert [sw(kenmen, "00 20 00 91 04 30 30 30 30") for _ in range(3)] == [0x63C2, 0x63C1, 0x63C0]
    assert sw(kenmen, "00 20 00 91") == 0x63C0
    assert sw(kenmen, "00 20 00 91 04 35 36 37 38") == 0x6984
    # the JPKI PINs are independent
    sw(kenmen, SELECT_JPKI)
    assert sw(kenmen, "00 20 00 98") == 0x63C3


def test_kenmen_pin_does_not_cross_aps(kenmen: MyNumberCard) -> None:
    sw(kenmen, "00 A4 02 0C 02 00 11")
    sw(kenmen, VERIFY_KENMEN)
    sw(kenmen, SELECT_JPKI)
    assert sw(kenmen, "00 A4 02 0C 02 00 11") == 0x6A82
    assert sw(kenmen, "00 B0 81 00 04") == 0x6982  # JPKI sign cert, not opened by the kenmen PIN
    sw(kenmen, SELECT_KENMEN)  # back: state kept (re-select keeps verified PINs)
    assert tx(kenmen, "00 B0 81 00 11") == (kenmen.image.kenmen_files[1], 0x9000)


def test_change_kenmen_pin(kenmen: MyNumberCard) -> None:
    sw(kenmen, "00 A4 02 0C 02 00 11")
    sw(kenmen, VERIFY_KENMEN)
    assert sw(kenmen, "00 24 01 80 05 31 32 33 34 35") == 0x6A80
    assert sw(kenmen, "00 24 01 80 04 31 31 31 31") == 0x9000
    assert sw(kenmen, VERIFY_KENMEN) == 0x63C2


def test_no_signature_in_kenmen(kenmen: MyNumberCard) -> None:
    assert sw(kenmen, "80 2A 00 80 01 00 00") == 0x6D00
