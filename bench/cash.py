"""Cash unit benchmarks: ccTalk round trip over a pty through our link vs bare pyserial on the same pty,
a full poll cycle (coin + bill buffers), a 900-yen payout's protocol overhead, and change making
(exact bounded knapsack) against a greedy baseline — its speed and how often greedy fails."""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable, Mapping

from bench import Row
from firmware_sim.cash.unit import CashUnitSim
from kiosk.devices.cash.cctalk import Header
from kiosk.devices.cash.change import ChangeError, _greedy, _knapsack, make_change
from kiosk.devices.cash.serial_link import BarePort, CashLink
from kiosk.devices.cash.unit import CashUnit, CashUnitConfig
from kiosk.money import NullJournal, PayoutPurpose

REPEATS = 300
POLL = bytes.fromhex("02 00 01 FE FF")


def _median_ms(action: Callable[[], object], repeats: int = REPEATS) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def _bare_poll(port: BarePort) -> None:
    reply = port.exchange(POLL, 5)
    if len(reply) != 5:
        raise RuntimeError("no reply from the simulator")


def _greedy_only(amount: int, stock: Mapping[int, int]) -> dict[int, int]:
    """The baseline: the driver's greedy pass without its knapsack fallback."""
    plan = _greedy(amount, stock)
    if plan is None:
        raise ChangeError(amount)
    return plan


def _change_figures() -> list[Row]:
    rng = random.Random(7)
    cases = []
    for _ in range(2000):
        stock = {v: rng.randint(0, 30) for v in (10, 50, 100, 500)}
        cases.append((rng.randint(1, 999) * 10, stock))
    rows = []
    solvers = (("make_change", make_change), ("knapsack only", _knapsack), ("greedy baseline", _greedy_only))
    for name, solver in solvers:
        solved = 0
        start = time.perf_counter()
        for amount, stock in cases:
            try:
                solver(amount, stock)
                solved += 1
            except ChangeError:
                pass
        per_call = (time.perf_counter() - start) / len(cases) * 1e6
        note = f"{solved}/{len(cases)} random cases solved"
        rows.append(Row(f"{name}: time per call", per_call, "µs", note))
    awkward = {20: 3, 50: 1}  # 60 yen: greedy takes the 50 and is stuck
    rows.append(Row("60 yen from {50×1, 20×3}", str(make_change(60, awkward)), "", "greedy refuses it"))
    return rows


def run() -> list[Row]:
    """Measure the figures above; needs only a pty."""
    rows: list[Row] = []
    with CashUnitSim(watchdogs=(None, None), coin_interval=0) as sim:
        bare = BarePort(sim.path, timeout=1)
        bare_ms = _median_ms(lambda: _bare_poll(bare))
        bare.close()
        rows.append(Row("simple poll, bare pyserial", bare_ms, "ms", "median over a pty"))
        with CashLink(sim.path) as link:
            ours = _median_ms(lambda: link.command(2, Header.SIMPLE_POLL))
        rows.append(Row("simple poll, CashLink", ours, "ms", f"{ours / bare_ms:.1f}× bare"))
        unit = CashUnit(CashLink(sim.path), NullJournal(), CashUnitConfig(payout_poll=0.001))
        unit.open()
        try:
            fresh = _median_ms(unit.poll_once)
            rows.append(Row("poll cycle, counters at 0", fresh, "ms", "229 + 159 + inhibits re-sent"))
            unit.enable_accepting(100_000, txn_id="bench")
            sim.insert_coin(10)
            sim.insert_note(1000)
            unit.poll_once()
            cycle = _median_ms(unit.poll_once)
            rows.append(Row("poll cycle, steady state", cycle, "ms", "229 + 159 each 200 ms loop turn"))
            start = time.perf_counter()
            unit.dispense(900, txn_id="bench", purpose=PayoutPurpose.CHANGE)
            rows.append(
                Row(
                    "dispense 900 yen (2 hoppers)",
                    (time.perf_counter() - start) * 1000,
                    "ms",
                    "protocol only: simulated coins take no time",
                )
            )
        finally:
            unit.close()
    return rows + _change_figures()
