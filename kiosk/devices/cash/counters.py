"""The acceptors' event counters kept across restarts: the journal hook that lets the driver credit what a
coin acceptor or bill validator took while the kiosk was not listening (``CashStateJournal``).

A ccTalk acceptor is a machine of its own: when the kiosk process dies it keeps its inhibit state and
goes on accepting. Its event buffer (devices.md §1.5) holds the last 5 events and a counter (1..255, 255
is followed by 1, 0 only after power-up or reset). The driver journals the counter of every event it
acts on in the same durable write as the money, and the journal keeps which transaction was taking
money; on open, the events between the journaled counter and the device's are that transaction's money
(or, with none, money owed for staff). On a journal that holds no counter yet (a fresh one, or one
written before counters were kept) the driver journals where each buffer stands as it opens, crediting
nothing of it. A journal without this hook gives the old behaviour: the first read is a baseline kept
in memory only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from kiosk.money import CashState, CreditSource, DeviceCounter

__all__ = ["CashStateJournal", "state_journal"]


@runtime_checkable
class CashStateJournal(Protocol):
    """Durable cash-unit state, implemented by ``kiosk.journal.store.Journal``. Each write returns only
    once it is durable; any exception stops the driver's operation (it raises JournalError)."""

    def cash_state(self) -> CashState:
        """The counters journaled per acceptor and the transaction taking money ("" for none)."""

    def record_counters(self, counters: Sequence[DeviceCounter]) -> None:
        """Events up to each of ``counters`` were processed and needed no record of their own (or the
        counters are baselines: where each buffer stood when the kiosk started listening). One write."""

    def record_unattended(
        self, event_id: str, yen: int, source: CreditSource, *, record_id: str, counter: DeviceCounter | None
    ) -> None:
        """An acceptor took ``yen`` while no transaction was taking money: booked to the record
        ``record_id`` (a finished transaction owing it back, for staff), with the counter, in one write."""


def state_journal(journal: object) -> CashStateJournal | None:
    """``journal`` as a cash-state journal, or None when it keeps no counters. Never raises."""
    return journal if isinstance(journal, CashStateJournal) else None
