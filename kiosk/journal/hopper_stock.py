"""The change hoppers' stock, kept in the journal: what staff loaded minus what was paid out.

ccTalk hoppers report no coin counts, and the kiosk refuses coins it cannot give change for, so this
figure decides what residents may pay with. It is computed from the journal's hopper log, per hopper:
the last staff record (``count``: coins now in, or ``refill``: coins added) and, since then, every
dispense. A dispense is journaled before it is sent (coins asked) and once it is over (coins paid); one
left without its second record (a crash) counts as paid by the payout journaled under its id in
``money``, or else as all the coins asked, so the figure errs low: the kiosk then asks for exact amounts
rather than owing change (staff code M02). A dispense that paid less than asked leaves the hopper at 0
(empty or jammed, as the driver treats it) until staff count it.

A hopper staff never counted counts as empty (0 coins), whether ``[[cash.hopper]]`` lists it or the
standard layout is assumed. A running kiosk starts from the figures it read at start
(``cash_unit_config``) and re-reads them as each payment starts (``stock_source``): a refill recorded
while it runs counts from its next payment.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from kiosk.devices.cash.hopper import HopperConfig
from kiosk.devices.cash.policy import CashUnitConfig
from kiosk.journal.store import Journal

__all__ = ["HopperStock", "StockRefused", "cash_unit_config", "hopper_slots", "hopper_stock", "refill"]


class StockRefused(Exception):
    """A refill or count the kiosk will not record (unknown hopper, over capacity, transaction open)."""


@dataclass(frozen=True)
class HopperSlot:
    """One change hopper of the cash unit (``[[cash.hopper]]``): bus address, coin value, coins it holds.
    ``initial``: the coins assumed before staff ever counted it (0 for a configured hopper)."""

    address: int
    coin: int
    capacity: int | None = None
    initial: int = 0


@dataclass(frozen=True)
class HopperStock:
    """One hopper's figure: ``stock`` coins the kiosk counts on, ``counted_at`` the last staff refill or
    count (None: never), ``paid_since`` coins paid out since then, of which ``uncertain`` were counted as
    paid because their dispense was interrupted (a crash), ``emptied`` True when a dispense came up short."""

    slot: HopperSlot
    stock: int
    counted_at: str | None
    paid_since: int
    uncertain: int
    emptied: bool


def hopper_slots(configured: tuple[HopperSlot, ...]) -> tuple[HopperSlot, ...]:
    """The hoppers the configuration lists (``KioskConfig.cash_hoppers``), or the standard layout (3: 100
    yen, 4: 10, 5: 500, 6: 50); either way empty until staff count them. Never raises."""
    if configured:
        return configured
    return tuple(HopperSlot(h.address, h.coin_yen) for h in CashUnitConfig().hoppers)


def _figure(slot: HopperSlot, log: Iterable[tuple[str, int, int | None, str, int | None]]) -> HopperStock:
    stock, counted_at, paid_since, uncertain, emptied = slot.initial, None, 0, 0, False
    for kind, coins, paid, at, payout_yen in log:
        if kind in ("count", "refill"):
            stock = coins if kind == "count" else stock + coins
            counted_at, paid_since, uncertain, emptied = at, 0, 0, False
            continue
        if paid is None and payout_yen is not None:
            paid = payout_yen // slot.coin  # crashed after the payout was journaled: that is what came out
        if paid is None:
            paid, uncertain = coins, uncertain + coins  # crashed before: count every coin asked as paid
        paid_since += paid
        stock = max(0, stock - paid)
        if paid < coins:
            stock, emptied = 0, True
    return HopperStock(slot, stock, counted_at, paid_since, uncertain, emptied)


def hopper_stock(journal: Journal, slots: Iterable[HopperSlot]) -> list[HopperStock]:
    """The figure of each hopper in ``slots`` from the journal (records of another coin value at the same
    address are ignored: the hopper was changed). Raises sqlite3.Error if the journal cannot be read."""
    return [_figure(slot, journal.hopper_log(slot.address, slot.coin)) for slot in slots]


def cash_unit_config(
    slots: Iterable[HopperSlot], journal: Journal, base: CashUnitConfig | None = None
) -> CashUnitConfig:
    """The cash unit's configuration for the real kiosk: ``base`` (default policy) with the hoppers
    ``slots`` at their journaled stock, every dispense journaled (``journal_stock``). Raises
    sqlite3.Error if the journal cannot be read."""
    figures = hopper_stock(journal, slots)
    hoppers = tuple(HopperConfig(f.slot.address, f.slot.coin, f.stock) for f in figures)
    return dataclasses.replace(base or CashUnitConfig(), hoppers=hoppers, journal_stock=True)


def refill(
    journal: Journal,
    slots: Iterable[HopperSlot],
    address: int,
    *,
    add: int | None = None,
    set_to: int | None = None,
) -> tuple[HopperStock, HopperStock]:
    """Journal that staff added ``add`` coins to hopper ``address``, or counted ``set_to`` coins in it.
    Returns its figure (before, after).

    Raises ValueError (not exactly one of add/set_to, or a negative count), StockRefused (no such hopper,
    the result is over its capacity, a transaction is open: the flow may be paying out), JournalWriteError.
    """
    if (add is None) == (set_to is None) or (add or 0) < 0 or (set_to or 0) < 0:
        raise ValueError("give either coins added or coins counted, not negative")
    slot = next((s for s in slots if s.address == address), None)
    if slot is None:
        raise StockRefused(f"no hopper at address {address}")
    (before,) = hopper_stock(journal, (slot,))
    after = before.stock + add if add is not None else set_to or 0
    if slot.capacity is not None and after > slot.capacity:
        raise StockRefused(
            f"hopper {address} holds at most {slot.capacity} coins; {after} would be over its capacity"
        )
    kind, coins = ("refill", add) if add is not None else ("count", set_to or 0)
    if not journal.hopper_staff(f"staff:{uuid.uuid4().hex}", address, slot.coin, kind, coins):
        open_ids = ", ".join(t.id for t in journal.transactions(unfinished_only=True))
        raise StockRefused(f"a transaction is in progress ({open_ids}): refill when the kiosk is idle")
    (now,) = hopper_stock(journal, (slot,))
    return before, now


def stock_source(slots: Iterable[HopperSlot], journal: Journal) -> Callable[[], dict[int, int]]:
    """What the cash unit re-reads at the start of each payment (``CashUnit(stock_source=...)``): address →
    coins, from the journal, so a refill recorded with ``kiosk cash refill`` counts without a restart.
    The returned function raises sqlite3.Error if the journal cannot be read."""
    slots = tuple(slots)
    return lambda: {f.slot.address: f.stock for f in hopper_stock(journal, slots)}
