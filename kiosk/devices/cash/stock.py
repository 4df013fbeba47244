"""The hoppers' durable stock, as the driver sees it: the journal hook a dispense is written to before and
after it is sent (``HopperStockJournal``).

ccTalk hoppers report no coin counts, so the kiosk's figure is what staff loaded minus what was paid out.
For that figure to survive a restart, each dispense is journaled BEFORE the command goes out (coins asked)
and again once it is over (coins paid). A crash in between leaves only the first record: the coins asked
count as paid, so the figure can only err low (the kiosk then asks for exact amounts; it never promises
change it cannot give). The figures themselves are computed by ``kiosk.journal.hopper_stock``.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

__all__ = ["HopperStockJournal", "stock_journal"]


@runtime_checkable
class HopperStockJournal(Protocol):
    """Durable record of each dispense, implemented by ``kiosk.journal.store.Journal``. Each method returns
    only
    once the record is durable; any exception stops the payout (the driver raises JournalError)."""

    def hopper_dispensing(self, event_id: str, address: int, coin_yen: int, coins: int) -> None:
        """Up to ``coins`` are about to leave hopper ``address`` (``event_id``: the payout's money id)."""

    def hopper_dispensed(self, event_id: str, paid: int) -> None:
        """The dispense ``event_id`` is over: ``paid`` coins came out."""


def stock_journal(journal: object) -> HopperStockJournal:
    """``journal`` as a hopper stock journal. Raises TypeError if it does not implement one."""
    if not isinstance(journal, HopperStockJournal):
        raise TypeError(f"{type(journal).__name__} cannot journal the hopper stock (journal_stock=True)")
    return journal
