"""Test helpers for the cash unit (a uniquely named module: test files import it, not conftest)."""

from __future__ import annotations

from kiosk.money import CreditSource, DeviceCounter, FaultKind, PayoutPurpose

TXN = "T-1"  # the transaction the tests' payments belong to
CHANGE, REFUND = PayoutPurpose.CHANGE, PayoutPurpose.REFUND


class RecordingJournal:
    """Keeps every record in order; ``fail_next`` makes the next call of a kind raise. ``txn_of`` maps an
    event id to the transaction it was booked to (and a payout's purpose is ``purpose_of``)."""

    def __init__(self) -> None:
        self.records: list[tuple[object, ...]] = []
        self.fail_next: dict[str, int] = {}
        self.txn_of: dict[str, str] = {}
        self.purpose_of: dict[str, PayoutPurpose] = {}

    def _maybe_fail(self, kind: str) -> None:
        if self.fail_next.get(kind, 0):
            self.fail_next[kind] -= 1
            raise OSError(f"disk full while recording {kind}")

    def record_credit(
        self, event_id: str, yen: int, source: CreditSource, *, txn_id: str, counter: DeviceCounter | None
    ) -> None:
        self._maybe_fail("credit")
        self.records.append(("credit", event_id, yen, str(source)))
        self.txn_of[event_id] = txn_id

    def record_payout(self, event_id: str, yen: int, *, txn_id: str, purpose: PayoutPurpose) -> None:
        self._maybe_fail("payout")
        self.records.append(("payout", event_id, yen))
        self.txn_of[event_id], self.purpose_of[event_id] = txn_id, purpose

    def record_fault(
        self,
        event_id: str,
        kind: FaultKind,
        device: str,
        detail: str,
        *,
        txn_id: str,
        counter: DeviceCounter | None,
    ) -> None:
        self._maybe_fail("fault")
        self.records.append(("fault", event_id, str(kind), device, detail))
        self.txn_of[event_id] = txn_id

    def of(self, kind: str) -> list[tuple[object, ...]]:
        return [r for r in self.records if r[0] == kind]

    def total(self, kind: str) -> int:
        return sum(int(str(r[2])) for r in self.of(kind))
