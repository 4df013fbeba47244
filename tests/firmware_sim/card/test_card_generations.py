"""Card generations and the 券面 APs' files as sources describe them (issue #18, docs/card.md §1.1, §6).

Generation 2016 vs 2023: the ATR (also through GET DATA 5F51) and the basic-info header form.
券面事項入力補助AP: EF 0004 / 0005 free; 照合番号A opens 0001 not 0002, B the reverse.
券面事項確認AP: 0003 / 0004 free; the birth-date key opens 0001; A opens 0002 and 0005; B only 0002.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from card_helpers import SELECT_KENMEN, sw, tx

from firmware_sim.card.mynumber import CardOptions, MyNumberCard
from firmware_sim.holder import demo_holder
from firmware_sim.personalise import PersonalisedCard, personalise_card
from firmware_sim.pki.hierarchy import TestPki
from reader.apdu import h
from reader.constants import CardGeneration

SELECT_FACE = "00 A4 04 0C 0A D3 92 10 00 31 00 01 01 04 02"
VERIFY_KENMEN_PIN = "00 20 00 80 04 35 36 37 38"


def ascii_hex(text: str) -> str:
    return text.encode("ascii").hex(" ")


@pytest.fixture(scope="module")
def issued(pki_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[CardGeneration, PersonalisedCard]:
    pki = TestPki.open(pki_dir)
    return {
        g: personalise_card(
            tmp_path_factory.mktemp(f"g{g.value}") / "card.json",
            pki=pki,
            holder=demo_holder(),
            kenmen_pin="5678",
            generation=g,
        )
        for g in CardGeneration
    }


def fresh(issued: PersonalisedCard, tmp_path: Path, options: CardOptions | None = None) -> MyNumberCard:
    path = tmp_path / "card.json"
    shutil.copyfile(issued.path, path)
    card = MyNumberCard.from_image(path, options)
    card.power_on()
    return card


@pytest.fixture
def adult(issued: dict[CardGeneration, PersonalisedCard], tmp_path: Path) -> Iterator[MyNumberCard]:
    card = fresh(issued[CardGeneration.FIRST], tmp_path)
    yield card
    card.power_off()


@pytest.mark.parametrize(
    ("generation", "atr", "header"),
    [
        (CardGeneration.FIRST, "3B E0 00 FF 81 31 FE 45 14", "FF 20 {n:02X} DF 21 08 00 {o:02X}"),
        (
            CardGeneration.FROM_2023,
            "3B DA 13 FF 81 31 FB 46 80 12 39 2F 31 C1 73 C6 01 C0 3B",
            "FF 20 82 00 {n:02X} DF 21 08 00 {o:02X}",
        ),
    ],
)
def test_generation_atr_and_basic_info_header(
    issued: dict[CardGeneration, PersonalisedCard],
    tmp_path: Path,
    generation: CardGeneration,
    atr: str,
    header: str,
) -> None:
    card = fresh(issued[generation], tmp_path)
    assert card.power_on() == h(atr)
    assert tx(card, "00 CA 5F 51 00") == (h(atr)[1:], 0x9000)  # power-on state: the contact ATR
    assert sw(card, SELECT_KENMEN) == 0x9000
    assert sw(card, "00 A4 02 0C 02 00 11") == 0x9000
    assert sw(card, VERIFY_KENMEN_PIN) == 0x9000
    data, status = tx(card, "00 B0 82 00 00")
    assert status == 0x9000
    head_len = 5 if generation is CardGeneration.FROM_2023 else 3
    body_len = int.from_bytes(data[head_len - (2 if head_len == 5 else 1) : head_len], "big")
    expected = header.format(n=body_len, o=head_len + 11)  # DF21 08 + 4 offsets = 11 bytes
    assert data[: len(h(expected))] == h(expected)
    assert data[head_len + body_len :] == b"\xff" * (len(data) - head_len - body_len)  # FF filler


@pytest.mark.parametrize(
    ("fid", "prefix"),
    [
        ("04", "7F 21 82 02 33 5F 4E 82 01 29" + ascii_hex("6000033") + " 08 05 " + ascii_hex("001")),
        ("05", "FF 40 81 9E DF 41 04 01 03 0E 01 DF 42 10 " + ascii_hex("6000034") + " 08 05"),
    ],
)
def test_text_ap_0004_0005_need_no_pin(adult: MyNumberCard, fid: str, prefix: str) -> None:
    assert sw(adult, SELECT_KENMEN) == 0x9000
    assert sw(adult, f"00 A4 02 0C 02 00 {fid}") == 0x9000
    data, status = tx(adult, "00 B0 00 00 00")
    assert status == 0x9000 and data.startswith(h(prefix))
    assert tx(adult, f"00 B0 8{fid[1]} 00 00") == (data, 0x9000)  # SFI form too


@pytest.mark.parametrize(
    ("key", "opens"),
    [
        ("14", {"01": 0x9000, "02": 0x6982, "03": 0x9000}),  # 照合番号A: not the basic 4 info
        ("15", {"01": 0x6982, "02": 0x9000, "03": 0x9000}),  # 照合番号B: not the My Number
    ],
)
def test_text_ap_codes(
    issued: dict[CardGeneration, PersonalisedCard], tmp_path: Path, key: str, opens: dict[str, int]
) -> None:
    card = fresh(issued[CardGeneration.FIRST], tmp_path)
    codes = issued[CardGeneration.FIRST].codes
    code = codes.code_a if key == "14" else codes.code_b
    sw(card, SELECT_KENMEN)
    assert sw(card, f"00 A4 02 0C 02 00 {key}") == 0x9000
    assert sw(card, "00 20 00 80") == 0x63CA  # 10 tries
    assert sw(card, f"00 20 00 80 {len(code):02X} {ascii_hex(code)}") == 0x9000
    assert {fid: sw(card, f"00 B0 8{fid[1]} 00 00") for fid in opens} == opens


@pytest.mark.parametrize(
    ("key", "opens"),
    [
        (None, {"01": 0x6982, "02": 0x6982, "03": 0x9000, "04": 0x9000, "05": 0x6982}),
        ("11", {"01": 0x9000, "02": 0x6982, "03": 0x9000, "04": 0x9000, "05": 0x6982}),  # birth date
        ("12", {"01": 0x6982, "02": 0x9000, "03": 0x9000, "04": 0x9000, "05": 0x6982}),  # 照合番号B
        ("13", {"01": 0x6982, "02": 0x9000, "03": 0x9000, "04": 0x9000, "05": 0x9000}),  # 照合番号A
    ],
)
def test_face_ap_access(
    issued: dict[CardGeneration, PersonalisedCard], tmp_path: Path, key: str | None, opens: dict[str, int]
) -> None:
    card = fresh(issued[CardGeneration.FROM_2023], tmp_path)
    codes = issued[CardGeneration.FROM_2023].codes
    assert sw(card, SELECT_FACE) == 0x9000
    if key is not None:
        code = {"11": codes.birth_key, "12": codes.code_b, "13": codes.code_a}[key]
        assert sw(card, f"00 A4 02 0C 02 00 {key}") == 0x9000
        assert sw(card, f"00 20 00 80 {len(code):02X} {ascii_hex(code)}") == 0x9000
    assert {fid: sw(card, f"00 B0 8{fid[1]} 00 01") for fid in opens} == opens


def test_face_ap_records_and_codes(issued: dict[CardGeneration, PersonalisedCard], tmp_path: Path) -> None:
    card = fresh(issued[CardGeneration.FIRST], tmp_path)
    codes = issued[CardGeneration.FIRST].codes
    sw(card, SELECT_FACE)
    data, status = tx(card, "00 B0 83 00 00")
    municipality = ascii_hex(demo_holder().municipality_code[:5])
    assert status == 0x9000
    assert data.startswith(h(f"FF 30 82 01 3B DF 31 04 06 03 0E 01 DF 32 10 {ascii_hex('6000024')} 08 05"))
    assert h(f"DF 33 01 01 DF 34 05 {municipality} DF 35 82 01 10") in data
    assert sw(card, "00 A4 02 0C 02 00 13") == 0x9000
    assert sw(card, "00 20 00 80 0C " + ascii_hex("000000000000")) == 0x63C9  # wrong: 9 of 10 left
    assert sw(card, f"00 20 00 80 0C {ascii_hex(codes.code_a)}") == 0x9000
    assert sw(card, "00 24 01 80 0C " + ascii_hex("000000000000")) == 0x6985  # printed, not changeable
    assert codes.code_b.startswith(codes.birth_key) and len(codes.code_b) == 14


@pytest.mark.parametrize(("keep", "after_reselect"), [(True, 0x9000), (False, 0x6982)])
def test_face_ap_reselect_follows_the_card_option(
    issued: dict[CardGeneration, PersonalisedCard], tmp_path: Path, keep: bool, after_reselect: int
) -> None:
    card = fresh(issued[CardGeneration.FIRST], tmp_path, CardOptions(keep_security_on_reselect=keep))
    code = issued[CardGeneration.FIRST].codes.code_a
    sw(card, SELECT_FACE)
    sw(card, "00 A4 02 0C 02 00 13")
    assert sw(card, f"00 20 00 80 0C {ascii_hex(code)}") == 0x9000
    assert sw(card, SELECT_FACE) == 0x9000
    assert sw(card, "00 B0 82 00 01") == after_reselect


def test_image_from_before_the_face_ap_still_loads(template_image: Path, tmp_path: Path) -> None:
    document = json.loads(template_image.read_text(encoding="utf-8"))
    document.pop("kakunin_files")
    for name in ("face_a", "face_b", "face_birth", "kenmen_a", "kenmen_b"):
        document["pins"].pop(name)
    path = tmp_path / "old.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    card = MyNumberCard.from_image(path)
    card.power_on()
    assert sw(card, SELECT_FACE) == 0x6A82
    assert sw(card, SELECT_KENMEN) == 0x9000
    assert sw(card, "00 A4 02 0C 02 00 14") == 0x6A82  # no 照合番号A key reference on that image
