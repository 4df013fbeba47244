"""Change making: exact or refused, never more or less, within the hoppers' stock."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.devices.cash.change import (
    ChangeError,
    acceptable_denominations,
    can_make_change,
    make_change,
    plan_total,
)

FULL = {10: 50, 50: 20, 100: 50, 500: 20}


@pytest.mark.parametrize(
    ("amount", "stock", "plan"),
    [
        (0, FULL, {}),
        (900, FULL, {500: 1, 100: 4}),
        (9700, FULL, {500: 19, 100: 2}),
        (160, FULL, {100: 1, 50: 1, 10: 1}),
        (900, {100: 20}, {100: 9}),
        (300, {500: 5, 100: 2, 50: 2}, {100: 2, 50: 2}),
        (60, {50: 1, 20: 3}, {20: 3}),  # greedy (50 first) would fail; any coin set works
        (150, {100: 0, 50: 3}, {50: 3}),
    ],
)
def test_make_change_table(amount: int, stock: dict[int, int], plan: dict[int, int]) -> None:
    assert make_change(amount, stock) == plan


@pytest.mark.parametrize(
    ("amount", "stock"),
    [(900, {100: 8}), (5, FULL), (9700, {500: 18, 100: 6}), (10, {}), (-10, FULL), (100, {100: -1})],
)
def test_make_change_refuses(amount: int, stock: dict[int, int]) -> None:
    with pytest.raises(ChangeError):
        make_change(amount, stock)


def _possible(amount: int, stock: dict[int, int]) -> bool:
    values = sorted(stock)
    ranges = [range(stock[v] + 1) for v in values]
    combos = itertools.product(*ranges)
    return any(sum(v * n for v, n in zip(values, combo, strict=True)) == amount for combo in combos)


stocks = st.dictionaries(st.sampled_from([10, 20, 50, 100, 500]), st.integers(0, 6), max_size=4)


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 3000).map(lambda x: x * 10), stocks)
def test_change_exact_within_stock_or_refused_only_if_impossible(amount: int, stock: dict[int, int]) -> None:
    try:
        plan = make_change(amount, stock)
    except ChangeError:
        assert not _possible(amount, stock)
        return
    assert plan_total(plan) == amount
    assert all(0 < count <= stock[value] for value, count in plan.items())


@given(st.integers(1, 2000).map(lambda x: x * 10), st.integers(0, 12000), stocks)
def test_can_make_change_agrees_with_make_change(price: int, inserted: int, stock: dict[int, int]) -> None:
    owed = inserted - price
    expected = owed <= 0 or _possible(owed, stock)
    assert can_make_change(price, inserted, stock) is expected


def test_decline_large_notes_when_change_cannot_be_made() -> None:
    stock = {10: 50, 50: 20, 100: 30, 500: 0}
    assert acceptable_denominations(300, 0, (1000, 5000, 10000), stock) == {1000}
    assert acceptable_denominations(300, 0, (1000, 5000, 10000), FULL) == {1000, 5000, 10000}
    assert acceptable_denominations(300, 300, (10, 100, 1000), FULL) == frozenset()  # nothing more due


def test_coins_that_need_no_change_are_always_acceptable() -> None:
    empty: dict[int, int] = {}
    assert acceptable_denominations(300, 100, (10, 50, 100, 500), empty) == {10, 50, 100}
