"""団体コード and 個人番号 check digits, and that the data set only uses valid ones."""

from __future__ import annotations

import pytest

from mock_relay.registry import seed
from mock_relay.registry.checkdigits import is_valid_lg_code, lg_check_digit, my_number_check_digit


@pytest.mark.parametrize(
    ("code", "name"),
    [
        ("131016", "千代田区"),
        ("141011", "横浜市中区"),
        ("011011", "札幌市中央区"),
        ("271276", "大阪市北区"),
        ("044245", "大衡村"),
        ("261025", "京都市上京区"),
        ("130001", "東京都"),
    ],
)
def test_real_codes_have_valid_check_digits(code: str, name: str) -> None:
    assert lg_check_digit(code[:5]) == code[5], name
    assert is_valid_lg_code(code)


@pytest.mark.parametrize("code", ["131017", "14101", "1410111", "14101a", "０１１０１１", ""])
def test_invalid_codes_rejected(code: str) -> None:
    assert not is_valid_lg_code(code)


def test_remainder_zero_and_one_cases() -> None:
    # 01101 → sum 11, remainder 0 → 11 → digit 1;  a remainder of 1 → 10 → digit 0
    assert lg_check_digit("01101") == "1"
    first5 = next(
        f"{n:05d}"
        for n in range(100000)
        if sum(int(d) * w for d, w in zip(f"{n:05d}", (6, 5, 4, 3, 2), strict=True)) % 11 == 1
    )
    assert lg_check_digit(first5) == "0"


@pytest.mark.parametrize("bad", ["1234", "123456", "12a45", "１２３４５"])
def test_lg_check_digit_rejects_bad_input(bad: str) -> None:
    with pytest.raises(ValueError, match="5 digits"):
        lg_check_digit(bad)


def test_my_number_check_digit_known_vector() -> None:
    assert my_number_check_digit("12345678901") == "8"  # the commonly quoted valid sample 123456789018
    with pytest.raises(ValueError):
        my_number_check_digit("1234567890")


def test_seeded_codes_and_my_numbers_are_valid() -> None:
    munis = seed.municipalities()
    assert len(munis) >= 4
    assert all(is_valid_lg_code(m.code) for m in munis)
    residents = seed.residents()
    numbers = [r.my_number for r in residents]
    assert len(set(numbers)) == len(numbers)
    assert all(len(n) == 12 and my_number_check_digit(n[:11]) == n[11] for n in numbers)
    for r in residents:
        if r.koseki is not None:
            assert is_valid_lg_code(r.koseki.municipality_code), r.id


@pytest.mark.parametrize("body", ["00000000000", "00000000001", "12345678901", "98765432109", "55555555555"])
def test_agrees_with_the_card_side_implementations(body: str) -> None:
    from firmware_sim.holder import municipality_check_digit
    from reader.kenmen import my_number_check_digit as reader_check_digit

    assert my_number_check_digit(body) == str(reader_check_digit(body))
    assert lg_check_digit(body[:5]) == str(municipality_check_digit(body[:5]))
