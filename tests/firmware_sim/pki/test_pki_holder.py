"""Holder: check digits (My Number, 団体コード), eras, validation, address parsing."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware_sim.holder import (
    Era,
    Sex,
    city_of,
    demo_holder,
    era_of,
    era_year,
    is_valid_municipality_code,
    is_valid_my_number,
    jpki_birth_date,
    municipality_check_digit,
    my_number_check_digit,
    random_my_number,
)

DETERMINISTIC = settings(derandomize=True, deadline=None, max_examples=300)


@pytest.mark.parametrize(
    "number",
    [
        "123456789018",  # the example every My Number validator documents
        "537686677188",  # the 個人番号 on the JPKI test card in soltia48/myna-card's fixtures
    ],
)
def test_known_good_my_numbers(number: str) -> None:
    assert is_valid_my_number(number)
    assert my_number_check_digit(number[:11]) == int(number[11])


@pytest.mark.parametrize(
    "number", ["123456789010", "12345678901", "1234567890189", "12345678901a", "１２３４５６７８９０１８", ""]
)
def test_bad_my_numbers(number: str) -> None:
    assert not is_valid_my_number(number)


def test_check_digit_remainder_rule() -> None:
    # remainder 0 and 1 both give check digit 0: 00000000000 has sum 0; 00000000006 has sum 12 → r=1
    assert my_number_check_digit("00000000000") == 0
    assert my_number_check_digit("00000000006") == 0
    # 00000000001: weight 2 → r=2 → 9
    assert my_number_check_digit("00000000001") == 9


@DETERMINISTIC
@given(st.text(alphabet="0123456789", min_size=11, max_size=11))
def test_exactly_one_check_digit_is_valid(body: str) -> None:
    valid = [d for d in "0123456789" if is_valid_my_number(body + d)]
    assert valid == [str(my_number_check_digit(body))]


def _remainder(body: str) -> int:
    return sum(int(d) * w for d, w in zip(body, (6, 5, 4, 3, 2, 7, 6, 5, 4, 3, 2), strict=True)) % 11


@DETERMINISTIC
@given(st.text(alphabet="0123456789", min_size=11, max_size=11), st.integers(0, 11), st.integers(1, 9))
def test_single_digit_change_is_detected(body: str, position: int, delta: int) -> None:
    good = body + str(my_number_check_digit(body))
    changed = good[:position] + str((int(good[position]) + delta) % 10) + good[position + 1 :]
    assert is_valid_my_number(good)
    # Every weight is coprime to 11, so a body change always moves the remainder; it goes unnoticed
    # only in the one documented collapse, remainders 0 and 1 both giving check digit 0.
    missed = position < 11 and {_remainder(good[:11]), _remainder(changed[:11])} == {0, 1}
    assert is_valid_my_number(changed) is missed


@pytest.mark.parametrize(
    ("code", "valid"),
    [
        ("131016", True),  # 千代田区
        ("131041", True),  # 新宿区: remainder 0 → check digit 1
        ("131130", True),  # 渋谷区: remainder 1 → check digit 0
        ("141038", True),  # 横浜市中区
        ("130001", True),  # 東京都
        ("131017", False),
        ("481234", False),  # no prefecture 48
        ("13101", False),
        ("13101x", False),
    ],
)
def test_municipality_codes(code: str, valid: bool) -> None:
    assert is_valid_municipality_code(code) is valid


def test_municipality_check_digit_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="5 ASCII digits"):
        municipality_check_digit("1310")
    with pytest.raises(ValueError, match="11 ASCII digits"):
        my_number_check_digit("1234")


@pytest.mark.parametrize(
    ("day", "era", "year", "encoded"),
    [
        (date(1868, 1, 25), Era.MEIJI, 1, "118680125"),
        (date(1912, 7, 29), Era.MEIJI, 45, "119120729"),
        (date(1912, 7, 30), Era.TAISHO, 1, "219120730"),
        (date(1926, 12, 24), Era.TAISHO, 15, "219261224"),
        (date(1926, 12, 25), Era.SHOWA, 1, "319261225"),
        (date(1980, 2, 17), Era.SHOWA, 55, "319800217"),
        (date(1989, 1, 7), Era.SHOWA, 64, "319890107"),
        (date(1989, 1, 8), Era.HEISEI, 1, "419890108"),
        (date(2019, 4, 30), Era.HEISEI, 31, "420190430"),
        (date(2019, 5, 1), Era.REIWA, 1, "520190501"),
    ],
)
def test_era_boundaries(day: date, era: Era, year: int, encoded: str) -> None:
    assert era_of(day) is era
    assert era_year(day) == year
    assert jpki_birth_date(day) == encoded


def test_before_meiji_is_rejected() -> None:
    with pytest.raises(ValueError, match="before the Meiji era"):
        jpki_birth_date(date(1868, 1, 24))


def test_demo_holder_is_valid_and_complete() -> None:
    holder = demo_holder().validate(today=date(2026, 1, 1))
    assert holder.name == "山田\u3000太郎"
    assert holder.kana == "ヤマダ\u3000タロウ"
    assert holder.prefecture == "神奈川県"
    assert holder.city == "横浜市中区"
    assert holder.locality == ("Kanagawa-ken", "Yokohama-shi Naka-ku")
    assert len(holder.holder_id) == 16 and holder.my_number not in holder.holder_id


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"family_name": ""}, "family_name"),
        ({"given_name": "太 郎"}, "given_name"),
        ({"family_kana": "やまだ"}, "katakana"),
        ({"address": "横浜市中区山下町１"}, "prefecture"),
        ({"address": "神奈川県"}, "municipality"),
        ({"address": "神奈川県横浜市中区" + "一" * 200}, "200"),
        ({"birth_date": date(2099, 1, 1)}, "future"),
        ({"birth_date": date(1800, 1, 1)}, "Meiji"),
        ({"sex": 3}, "sex"),
        ({"my_number": "123456789010"}, "check digit"),
        ({"municipality_code": "141039"}, "municipality_code"),
        ({"municipality_code": "131016"}, "not in 神奈川県"),
    ],
)
def test_validate_names_the_bad_field(changes: dict[str, object], message: str) -> None:
    holder = replace(demo_holder(), **changes)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=message):
        holder.validate(today=date(2026, 1, 1))


@pytest.mark.parametrize(
    ("address", "city"),
    [
        ("東京都千代田区霞が関１－２", "千代田区"),
        ("東京都清瀬市中里１－２", "清瀬市"),
        ("神奈川県横浜市中区山下町１", "横浜市中区"),
        ("北海道虻田郡倶知安町北１条", "虻田郡倶知安町"),
    ],
)
def test_city_of(address: str, city: str) -> None:
    assert city_of(address) == city


def test_age_on_counts_the_birthday_itself() -> None:
    holder = replace(demo_holder(), birth_date=date(2011, 6, 15))
    assert holder.age_on(date(2026, 6, 14)) == 14
    assert holder.age_on(date(2026, 6, 15)) == 15


def test_sex_certificate_codes() -> None:
    assert [s.certificate_code for s in Sex] == ["1", "2", "3"]


def test_random_my_numbers_are_valid_and_reproducible() -> None:
    import random

    assert all(is_valid_my_number(random_my_number()) for _ in range(100))
    assert random_my_number(random.Random(7)) == random_my_number(random.Random(7))
