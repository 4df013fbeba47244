"""The hoppers' stock kept in the journal (kiosk.journal.hopper_stock): the [[cash.hopper]] layout, staff
refills
and counts, the figure after payouts and a restart on the same journal (the cash simulator on a pty), a
process killed mid-payout (the figure errs low), and the ``kiosk cash`` staff commands."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from cash_helpers import CHANGE, REFUND

from firmware_sim.cash.unit import CashUnitSim
from kiosk.app.cli import main as kiosk_main
from kiosk.app.config import ConfigError, KioskConfig, load_config
from kiosk.devices.cash.serial_link import CashLink
from kiosk.devices.cash.unit import CashUnit, CashUnitConfig
from kiosk.journal.hopper_stock import (
    HopperSlot,
    StockRefused,
    cash_unit_config,
    hopper_slots,
    hopper_stock,
    refill,
)
from kiosk.journal.store import Journal
from kiosk.staff.diagnostics import Diagnostics

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
LAYOUT = """
[[cash.hopper]]
address = 3
coin = 100
capacity = 400

[[cash.hopper]]
address = 4
coin = 10
capacity = 100
"""


def write_toml(folder: Path, hoppers: str = LAYOUT) -> Path:
    """A kiosk.toml whose certificate files do not exist (the cash commands do not read them)."""
    path = folder / "kiosk.toml"
    path.write_text(
        'journal = "var/journal.sqlite"\n[center]\nurl = "https://127.0.0.1:1"\nterminal_cert = "t.pem"\n'
        'terminal_key = "t.key"\nca = "ca.pem"\n[jpki]\nca_bundle = "jpki.pem"\n[printer]\n'
        f'uri = "ipp://127.0.0.1/ipp/print"\n[cash]\nport = "/dev/null"\n{hoppers}',
        encoding="utf-8",
    )
    return path


def stock_of(journal: Journal, slots: tuple[HopperSlot, ...]) -> dict[int, int]:
    return {f.slot.address: f.stock for f in hopper_stock(journal, slots)}


# --- the layout ------------------------------------------------------------------------------------
def test_the_layout_is_read_from_the_cash_hopper_tables(tmp_path: Path) -> None:
    config = load_config(write_toml(tmp_path), check_certificates=False)
    assert config.cash_hoppers == (HopperSlot(3, 100, 400), HopperSlot(4, 10, 100))
    assert hopper_slots(config.cash_hoppers) == config.cash_hoppers
    with pytest.raises(ConfigError, match=r"center\.terminal_cert: file "):
        load_config(tmp_path / "kiosk.toml")  # the kiosk itself still checks the certificates


def test_without_tables_the_standard_layout_is_empty_until_counted(tmp_path: Path) -> None:
    """One truth with or without [[cash.hopper]] tables: a hopper staff never counted holds 0 coins for the
    kiosk (exact amounts only), and `kiosk cash stock` and `kiosk diag` say so."""
    slots = hopper_slots(KioskConfig().cash_hoppers)
    assert [(s.address, s.coin) for s in slots] == [(3, 100), (4, 10), (5, 500), (6, 50)]
    journal = Journal(tmp_path / "j.sqlite")
    try:
        assert stock_of(journal, slots) == {3: 0, 4: 0, 5: 0, 6: 0}
        assert [h.stock for h in cash_unit_config(slots, journal).hoppers] == [0, 0, 0, 0]  # the driver's
        assert [f.stock for f in Diagnostics(journal).hopper_stock()] == [0, 0, 0, 0]  # the staff screen's
    finally:
        journal.close()
    toml = write_toml(tmp_path, "")
    for command in (["cash", "stock"], ["diag"]):
        run = subprocess.run(
            [sys.executable, "-m", "kiosk", *command, "--config", str(toml)],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=ROOT,
            check=False,
        )
        assert run.returncode == 0, run.stderr
        rows = [line.split() for line in run.stdout.splitlines() if line.strip().endswith("never counted")]
        assert [row[:4] for row in rows] == [
            [a, c, "yen", "0"] for a, c in (("3", "100"), ("4", "10"), ("5", "500"), ("6", "50"))
        ], run.stdout


def _table(address: object = 3, coin: object = 100, capacity: object = 400, extra: str = "") -> str:
    return f"\n[[cash.hopper]]\naddress = {address}\ncoin = {coin}\ncapacity = {capacity}\n{extra}"


@pytest.mark.parametrize(
    ("hoppers", "words"),
    [
        (_table() + _table(coin=10), "cash.hopper #2: address: 3 is already cash.hopper #1"),
        (_table(coin=5), "cash.hopper #1: coin: expected a coin in yen (10, 50, 100, 500), got 5"),
        (_table(coin=1000), "coin: expected a coin in yen (10, 50, 100, 500), got 1000"),
        (_table(address=2), "cash.hopper #1: address: 2 cannot be a hopper (it is the coin acceptor's)"),
        (_table() + _table(address=40), "#2: address: 40 cannot be a hopper (it is the bill validator's)"),
        (_table(address=1), "address: 1 cannot be a hopper (expected 3-255)"),
        (_table(capacity=0), "cash.hopper #1: capacity: expected a positive whole number, got 0"),
        (_table(capacity='"lots"'), "capacity: expected a positive whole number, got 'lots'"),
        (_table(extra="stock = 5\n"), "cash.hopper #1: unknown key 'stock' (keys: address, coin, capacity)"),
        ("\n[[cash.hopper]]\naddress = 3\ncoin = 100\n", "cash.hopper #1: missing key capacity"),
        ("hopper = 3\n", "cash.hopper: expected [[cash.hopper]] tables"),
    ],
)
def test_layout_errors_are_one_line_naming_the_key(tmp_path: Path, hoppers: str, words: str) -> None:
    path = write_toml(tmp_path, hoppers)
    with pytest.raises(ConfigError) as caught:
        load_config(path, check_certificates=False)
    message = str(caught.value)
    assert words in message and str(path) in message and "\n" not in message


# --- staff records -----------------------------------------------------------------------------------
SLOTS = (HopperSlot(3, 100, 400), HopperSlot(4, 10, 100))


def test_refill_and_count_are_journaled_and_survive_reopening(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite")
    assert stock_of(journal, SLOTS) == {3: 0, 4: 0}  # never counted: empty (exact amounts only)
    before, after = refill(journal, SLOTS, 3, set_to=120)
    assert (before.stock, after.stock, before.counted_at) == (0, 120, None) and after.counted_at
    assert refill(journal, SLOTS, 3, add=50)[1].stock == 170
    assert refill(journal, SLOTS, 4, add=30)[1].stock == 30
    journal.close()
    journal = Journal(tmp_path / "j.sqlite")
    assert stock_of(journal, SLOTS) == {3: 170, 4: 30}
    journal.close()


def test_refill_refusals(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite")
    refill(journal, SLOTS, 4, set_to=90)
    with pytest.raises(StockRefused, match="hopper 4 holds at most 100 coins; 110 would be over"):
        refill(journal, SLOTS, 4, add=20)
    with pytest.raises(StockRefused, match="no hopper at address 7"):
        refill(journal, SLOTS, 7, add=1)
    with pytest.raises(ValueError, match="either"):
        refill(journal, SLOTS, 3, add=1, set_to=2)
    journal.begin("txn-open")
    with pytest.raises(StockRefused, match=r"a transaction is in progress \(txn-open\)"):
        refill(journal, SLOTS, 3, set_to=10)
    assert stock_of(journal, SLOTS) == {3: 0, 4: 90}  # nothing of the refused ones was written
    journal.finish("txn-open", "cancelled", "")
    assert refill(journal, SLOTS, 3, set_to=10)[1].stock == 10
    journal.close()


# --- payouts, restart ----------------------------------------------------------------------------------
def _unit(sim: CashUnitSim, journal: Journal, run_id: str) -> CashUnit:
    config = cash_unit_config(
        hopper_slots(KioskConfig().cash_hoppers), journal, CashUnitConfig(payout_poll=0.002)
    )
    assert config.journal_stock
    cash = CashUnit(CashLink(sim.path, reply_timeout=0.5), journal, config, run_id=run_id)
    cash.open()
    return cash


def test_stock_after_payouts_and_a_restart_is_loaded_minus_paid(sim: CashUnitSim, tmp_path: Path) -> None:
    slots = hopper_slots(KioskConfig().cash_hoppers)
    journal = Journal(tmp_path / "j.sqlite")
    for slot in slots:  # staff count what the simulator holds (DEFAULT_HOPPERS)
        refill(journal, slots, slot.address, set_to=sim.hoppers[slot.address].stock)
    cash = _unit(sim, journal, "run1")
    journal.begin("txn-1")
    assert cash.dispense(360, txn_id="txn-1", purpose=CHANGE) == 360  # 3 x 100, 1 x 50, 1 x 10
    assert cash.dispense(100, txn_id="txn-1", purpose=REFUND) == 100
    journal.finish("txn-1", "cancelled", "")
    cash.close()
    journal.close()
    journal = Journal(tmp_path / "j.sqlite")  # the restart: a new driver on the same journal
    real = {a: h.stock for a, h in sim.hoppers.items()}
    assert real == {3: 46, 4: 49, 5: 20, 6: 19}
    assert stock_of(journal, slots) == real
    cash = _unit(sim, journal, "run2")
    assert {a: n for a, (_, n) in cash.hoppers.levels().items()} == real
    cash.close()
    (h3,) = [f for f in hopper_stock(journal, slots) if f.slot.address == 3]
    assert (h3.paid_since, h3.uncertain, h3.emptied) == (4, 0, False)
    journal.close()


def test_a_hopper_that_came_up_short_is_empty_until_counted(sim: CashUnitSim, tmp_path: Path) -> None:
    slots = hopper_slots(KioskConfig().cash_hoppers)
    journal = Journal(tmp_path / "j.sqlite")
    refill(journal, slots, 3, set_to=50)
    refill(journal, slots, 5, set_to=20)
    sim.set_hopper_stock(2, address=5)  # staff believe 20 are in; only 2 are
    cash = _unit(sim, journal, "run1")
    journal.begin("txn-1")
    # three 500s asked, 2 came out: the rest from the 100-yen hopper
    assert cash.dispense(1500, txn_id="txn-1", purpose=CHANGE) == 1500
    cash.close()
    assert sim.hoppers[5].stock == 0 and sim.hoppers[3].stock == 45
    (h5,) = [f for f in hopper_stock(journal, slots) if f.slot.address == 5]
    assert (h5.stock, h5.paid_since, h5.emptied) == (0, 2, True)
    journal.close()


@pytest.mark.parametrize(
    ("mode", "uncertain"), [("after_intent", 3), ("before_journal", 3), ("after_payout", 0)]
)
def test_a_kill_mid_payout_leaves_the_figure_at_or_below_reality(
    sim: CashUnitSim, tmp_path: Path, mode: str, uncertain: int
) -> None:
    slots = hopper_slots(KioskConfig().cash_hoppers)
    path = tmp_path / "j.sqlite"
    journal = Journal(path)
    refill(journal, slots, 3, set_to=50)
    journal.close()
    child = subprocess.run(
        [sys.executable, str(HERE / "hopper_crash_child.py"), str(path), sim.path, mode],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert child.returncode == -9, child.stderr
    journal = Journal(path)
    (h3,) = [f for f in hopper_stock(journal, slots) if f.slot.address == 3]
    real = sim.hoppers[3].stock
    assert real == (50 if mode == "after_intent" else 47)
    assert h3.stock == 47 <= real and h3.uncertain == uncertain
    journal.close()


# --- the staff commands -------------------------------------------------------------------------------
def test_cash_stock_and_refill_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    toml = str(write_toml(tmp_path))
    assert kiosk_main(["cash", "refill", "--config", toml, "--hopper", "3", "--set", "120"]) == 0
    said = capsys.readouterr().out.splitlines()
    assert said[0] == "hopper 3 (100 yen): 0 -> 120 coins (counted 120)"
    assert said[1].startswith("journaled; a running kiosk counts on it from its next payment")
    assert kiosk_main(["cash", "refill", "--config", toml, "--hopper", "4", "--add", "95"]) == 0
    assert kiosk_main(["cash", "refill", "--config", toml, "--hopper", "4", "--add", "6"]) == 3
    assert "refused: hopper 4 holds at most 100 coins" in capsys.readouterr().err
    assert kiosk_main(["cash", "stock", "--config", toml]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1].split() == ["hopper", "coin", "stock", "capacity", "paid", "since", "last", "refill/count"]
    assert out[2].split()[:6] == ["3", "100", "yen", "120", "400", "0"] and out[2].endswith(" JST")
    assert out[3].split()[:6] == ["4", "10", "yen", "95", "100", "0"]
    journal = Journal(tmp_path / "var" / "journal.sqlite")
    journal.begin("txn-paying")
    journal.close()
    assert kiosk_main(["cash", "refill", "--config", toml, "--hopper", "3", "--add", "1"]) == 3
    assert "refused: a transaction is in progress (txn-paying)" in capsys.readouterr().err


def test_cash_commands_as_a_process_one_line_errors(tmp_path: Path) -> None:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "kiosk", "cash", *args]
        return subprocess.run(command, capture_output=True, text=True, timeout=60, cwd=ROOT)

    toml = str(write_toml(tmp_path, _table(coin=3)))
    bad = run("stock", "--config", toml)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "coin: expected a coin" in bad.stderr
    toml = str(write_toml(tmp_path))
    done = run("stock", "--config", toml)
    assert done.returncode == 0 and "never counted" in done.stdout and "Traceback" not in done.stderr
    negative = run("refill", "--config", toml, "--hopper", "3", "--add", "-4")
    assert negative.returncode == 2 and "expected a number of coins" in negative.stderr
