"""A kiosk process that dies mid-payout (run by test_hopper_stock.py): ``JOURNAL PTY MODE``.

It opens the journal and the cash unit on the simulator's pty (the test process serves it), starts a
transaction and pays 300 yen (three 100-yen coins from hopper 3), and is SIGKILLed:
``after_intent`` right after the dispense is journaled (before the command goes out), ``before_journal``
after the coins came out but before the payout is journaled, ``after_payout`` right after the payout is
journaled (before the dispense is marked over)."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

from harness.crash import kill_at
from kiosk.devices.cash.serial_link import CashLink
from kiosk.devices.cash.unit import CashUnit, CashUnitConfig
from kiosk.journal.store import Journal
from kiosk.money import PayoutPurpose

CRASH_POINT = {"after_intent": 2, "after_payout": 3, "before_journal": None}  # begin = point 1


def main(journal_path: str, pty: str, mode: str) -> int:
    point = CRASH_POINT[mode]
    journal = Journal(Path(journal_path), on_point=kill_at(point) if point else None)
    if mode == "before_journal":
        journal.record_payout = lambda *_, **__: os.kill(os.getpid(), signal.SIGKILL)  # type: ignore[method-assign]
    config = CashUnitConfig(payout_poll=0.002, journal_stock=True)
    cash = CashUnit(CashLink(pty, reply_timeout=0.5), journal, config, run_id="child")
    cash.open()
    journal.begin("txn-child")
    cash.dispense(300, txn_id="txn-child", purpose=PayoutPurpose.REFUND)
    return 1  # not reached: the process was killed


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
