"""Staff commands for the change hoppers: ``kiosk cash stock`` and ``kiosk cash refill``.

``kiosk cash stock --config FILE`` shows each hopper's coin, the stock the kiosk counts on, its capacity
and the coins paid since the last refill. ``kiosk cash refill --config FILE --hopper 3 --add 50`` (coins
put in) or ``--set 120`` (coins counted) journals it with the time; it is refused while a transaction is
in progress. No PIN and no personal data are involved; no device is opened (the stock lives in the
journal, see ``kiosk.journal.hopper_stock``). A running kiosk reads the new figure as its next payment starts.
A hopper never counted counts as empty (0 coins: exact amounts only), with or without ``[[cash.hopper]]``
tables. Times are in JST, labelled.

Exit status: 0 done, 2 configuration or journal problem, 3 refused.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from kiosk.app.config import DEFAULT_CONFIG, ConfigError, KioskConfig, load_config
from kiosk.journal.hopper_stock import HopperStock, StockRefused, hopper_slots, hopper_stock, refill
from kiosk.journal.store import Journal, JournalWriteError
from kiosk.staff.clock import staff_time

__all__ = ["add_commands"]

EXIT_CONFIG = 2
EXIT_REFUSED = 3


def add_commands(subparsers: Any) -> None:
    """Add ``cash stock`` and ``cash refill`` to ``subparsers`` (from ``add_subparsers``); each sets
    ``func(args) -> int``. Never raises."""
    cash = subparsers.add_parser("cash", help="staff: the change hoppers' stock (journaled)")
    sub = cash.add_subparsers(dest="cash_command", required=True)
    stock = sub.add_parser("stock", help="each hopper: coin, counted stock, capacity, paid since refill")
    refill_ = sub.add_parser("refill", help="journal coins loaded (--add N) or counted (--set N)")
    for parser in (stock, refill_):
        parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help="the kiosk's kiosk.toml")
    refill_.add_argument("--hopper", type=int, required=True, help="the hopper's bus address, e.g. 3")
    how = refill_.add_mutually_exclusive_group(required=True)
    how.add_argument("--add", type=_coins, help="coins put into the hopper")
    how.add_argument("--set", dest="set_to", type=_coins, help="coins counted in the hopper")
    stock.set_defaults(func=run_stock)
    refill_.set_defaults(func=run_refill)


def _coins(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a number of coins (0 or more), got {text!r}")
    return value


def _open(args: argparse.Namespace) -> tuple[KioskConfig, Journal]:
    config = load_config(args.config, check_certificates=False)  # no device, no center: files unchecked
    return config, Journal(config.journal)


def _line(figure: HopperStock) -> str:
    slot = figure.slot
    capacity = "-" if slot.capacity is None else str(slot.capacity)
    when = staff_time(figure.counted_at) if figure.counted_at else "never counted"
    notes = []
    if figure.uncertain:
        notes.append(f"{figure.uncertain} coins of an interrupted payout counted as paid: count it")
    if figure.emptied:
        notes.append("came up short paying out: empty until counted")
    note = f"  ({'; '.join(notes)})" if notes else ""
    figures = f"{figure.stock:>5}  {capacity:>8}  {figure.paid_since:>10}"
    return f"{slot.address:>6}  {slot.coin:>4} yen  {figures}  {when}{note}"


def stock_lines(figures: Sequence[HopperStock]) -> list[str]:
    """The ``kiosk cash stock`` table, a header line then one line per hopper. Never raises."""
    return ["hopper      coin  stock  capacity  paid since  last refill/count"] + [_line(f) for f in figures]


def run_stock(args: argparse.Namespace) -> int:
    """``kiosk cash stock``: print each hopper's figure. Returns the exit status; raises nothing for a
    bad configuration or an unreadable journal (one line on stderr, status 2)."""
    try:
        config, journal = _open(args)
    except (ConfigError, JournalWriteError) as exc:
        print(f"kiosk: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    try:
        print(f"journal {config.journal}")
        print("\n".join(stock_lines(hopper_stock(journal, hopper_slots(config.cash_hoppers)))))
    finally:
        journal.close()
    return 0


def run_refill(args: argparse.Namespace) -> int:
    """``kiosk cash refill``: journal a refill or a count. Returns the exit status (3: refused, e.g. a
    transaction is in progress); raises nothing for a bad configuration or journal (status 2)."""
    try:
        config, journal = _open(args)
    except (ConfigError, JournalWriteError) as exc:
        print(f"kiosk: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    try:
        before, after = refill(
            journal, hopper_slots(config.cash_hoppers), args.hopper, add=args.add, set_to=args.set_to
        )
    except StockRefused as exc:
        print(f"kiosk: refused: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    except JournalWriteError as exc:
        print(f"kiosk: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    finally:
        journal.close()
    how = f"+{args.add}" if args.add is not None else f"counted {args.set_to}"
    print(f"hopper {args.hopper} ({after.slot.coin} yen): {before.stock} -> {after.stock} coins ({how})")
    print(
        "journaled; a running kiosk counts on it from its next payment (it re-reads the stock as each starts)"
    )
    return 0
