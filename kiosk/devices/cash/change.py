"""Exact change from limited coin stock, and the "can we still give change?" checks made BEFORE
money is taken (pure: no I/O).

``stock`` maps a coin value in yen to how many coins of it the hoppers hold (several hoppers of one
value are summed by the caller). A plan never pays more or less than asked: it is exact or refused.
Greedy (largest coin first, within stock) answers almost every case in microseconds; when it gets
stuck, a bounded knapsack over multiples of the coins' common divisor (fewest coins) decides, so
the answer is right for any set of coin values, not only for Japan's 10/50/100/500.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

Stock = Mapping[int, int]


class ChangeError(ValueError):
    """Exact change for the amount cannot be made from the stock (or the input is invalid)."""

    def __init__(self, amount: int, message: str | None = None) -> None:
        self.amount = amount
        super().__init__(message or f"cannot make exact change for {amount} yen from the hoppers' stock")


def _check_stock(stock: Stock) -> None:
    for value, count in stock.items():
        if value <= 0 or count < 0:
            raise ChangeError(0, f"invalid stock entry {value} yen × {count}")


def make_change(amount: int, stock: Stock) -> dict[int, int]:
    """Coins (value → count) summing exactly to ``amount`` within ``stock``.

    Raises ChangeError when it is impossible or the input is invalid (negative amount or stock).
    """
    if amount < 0:
        raise ChangeError(amount, f"negative amount {amount}")
    _check_stock(stock)
    plan = _greedy(amount, stock)
    return plan if plan is not None else _knapsack(amount, stock)


def _greedy(amount: int, stock: Stock) -> dict[int, int] | None:
    """Largest coins first; None when that gets stuck (the knapsack may still find a way)."""
    plan: dict[int, int] = {}
    for value in sorted(stock, reverse=True):
        take = min(amount // value, stock[value])
        if take:
            plan[value] = take
            amount -= take * value
    return None if amount else plan


def _knapsack(amount: int, stock: Stock) -> dict[int, int]:
    """Fewest coins summing to ``amount`` within ``stock``. Raises ChangeError when impossible."""
    if plan_total(stock) < amount:
        raise ChangeError(amount)  # not enough money in the hoppers at all: no search needed
    coins = sorted(v for v, c in stock.items() if c > 0)
    if not coins:
        raise ChangeError(amount)
    unit = math.gcd(*coins)
    if amount % unit:
        raise ChangeError(amount)
    target = amount // unit
    # 0/1 knapsack over binary chunks of each coin's stock; best[x] = fewest coins for x units.
    items = [
        (value, chunk)
        for value in coins
        for chunk in _binary_chunks(min(stock[value], target // (value // unit)))
    ]
    best: list[float] = [0.0] + [math.inf] * target
    took = [bytearray(target + 1) for _ in items]
    for index, (value, chunk) in enumerate(items):
        step = value // unit * chunk
        for x in range(target, step - 1, -1):
            if best[x - step] + chunk < best[x]:
                best[x] = best[x - step] + chunk
                took[index][x] = 1
    if math.isinf(best[target]):
        raise ChangeError(amount)
    plan: dict[int, int] = {}
    x = target
    for index in range(len(items) - 1, -1, -1):
        if took[index][x]:
            value, chunk = items[index]
            plan[value] = plan.get(value, 0) + chunk
            x -= value // unit * chunk
    return plan


def _binary_chunks(count: int) -> Iterable[int]:
    """Split ``count`` into 1, 2, 4, … + rest so any 0..count is a sum of a subset (bounded knapsack)."""
    chunk = 1
    while count > 0:
        take = min(chunk, count)
        yield take
        count -= take
        chunk *= 2


def plan_total(plan: Mapping[int, int]) -> int:
    """Yen paid by a plan."""
    return sum(value * count for value, count in plan.items())


def can_make_change(price: int, inserted_so_far: int, stock: Stock) -> bool:
    """True when the change owed for ``inserted_so_far`` against ``price`` can be paid exactly.

    Nothing is owed when ``inserted_so_far`` ≤ ``price``. Raises ChangeError on invalid stock.
    """
    owed = inserted_so_far - price
    if owed <= 0:
        _check_stock(stock)
        return True
    try:
        make_change(owed, stock)
    except ChangeError as exc:
        if exc.amount != owed:
            raise
        return False
    return True


def acceptable_denominations(
    price: int, inserted_so_far: int, offered: Iterable[int], stock: Stock
) -> frozenset[int]:
    """Which of the ``offered`` coins/notes may still be taken: only while something is still due, and
    only those whose insertion leaves change that can be paid exactly. Raises ChangeError on bad stock.
    """
    if inserted_so_far >= price:
        return frozenset()
    return frozenset(d for d in offered if can_make_change(price, inserted_so_far + d, stock))
