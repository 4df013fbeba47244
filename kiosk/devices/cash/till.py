"""The payment the acceptors take money for: handed from the flow's thread to the polling thread as the
argument of ``CashUnit.enable_accepting`` and held under the cash unit's lock (issue #11: no state passes
between threads through attributes of a shared object), and what happened while the kiosk was down.
"""

from __future__ import annotations

from dataclasses import dataclass

from kiosk.devices.cash.cctalk import EventBuffer
from kiosk.money import DeviceCounter

__all__ = ["CreditTo", "Resync", "Till", "resync"]


@dataclass(frozen=True, slots=True)
class Till:
    """One transaction's payment: ``due``, ``credited`` so far, and whether the acceptors are open for it.
    Replaced whole (never mutated) under the cash unit's lock."""

    txn_id: str
    due: int
    credited: int = 0
    accepting: bool = True


@dataclass(frozen=True, slots=True)
class CreditTo:
    """Whose a credit is: ``txn_id`` ("" none: then, with a journal that keeps cash state, the money is
    booked to the record ``unattended`` as owed for staff)."""

    txn_id: str
    unattended: str


@dataclass(frozen=True, slots=True)
class Resync:
    """What to do with an acceptor's event buffer on open, given the counter the journal holds.

    ``kind``: ``baseline`` (nothing journaled, or another device: its events are not ours), ``same``
    (nothing happened while down), ``reset`` (the counter went back to 0: power loss or reset; what it took
    after the journaled counter is unknown), ``events`` (credit what came after the journaled counter).
    ``note`` is what the start-up report says ("" for nothing)."""

    kind: str
    note: str = ""
    replaced: bool = False


def resync(role: str, known: DeviceCounter | None, buffer: EventBuffer, serial: int | None) -> Resync:
    """Compare the journaled counter of ``role`` (e.g. "coin acceptor") with the device's. Never raises."""
    if known is not None and None not in (known.serial, serial) and known.serial != serial:
        return Resync(
            "baseline",
            f"{role}: serial number {serial} is not the journaled {known.serial} (replaced while the kiosk"
            f" was down): its {buffer.counter} buffered events are not ours, nothing credited",
            replaced=True,
        )
    if known is None:
        if buffer.counter == 0:
            return Resync("baseline")
        return Resync(
            "baseline",
            f"{role}: no journaled event counter (first start on this journal, or a journal from before"
            f" counters were kept): its buffer (counter {buffer.counter}) is taken as a baseline, nothing"
            " credited",
        )
    if buffer.counter == known.counter:
        return Resync("same")
    if buffer.counter == 0:
        return Resync(
            "reset",
            f"{role}: reset or powered off while the kiosk was down (event counter {known.counter} -> 0):"
            f" what it took after event {known.counter} is unknown; count its cashbox",
        )
    return Resync("events")
