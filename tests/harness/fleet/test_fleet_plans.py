"""Mixes, fault schedules and the shared counters of a fleet: parsed strictly, drawn reproducibly."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from harness.fleet.mix import Mix, MixError, Plan
from harness.fleet.schedule import Schedule, ScheduleError, apply_device_faults
from harness.fleet.worker import take


def _plan() -> Plan:
    return Plan("happy", "juminhyo", "C-001", "山田 太郎", Path("c.card"), "4821", "1357", "juminhyo")


def test_the_bundled_mix_and_schedule_load() -> None:
    mix = Mix.load(Path("default"))
    assert {"juminhyo", "wrong_pin", "printer_jam", "timeout"} <= set(mix.weights)
    schedule = Schedule.load(Path("default"))
    assert {w.rule.kind for w in schedule.center} == {"latency", "error", "drop", "drop_after", "ocsp_down"}
    assert {w.kind for w in schedule.device} == {"printer_jam", "paper_out", "silent_cash", "card_pulled"}


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("[scenarios]\nflying = 1\n", "unknown scenario"),
        ("[scenarios]\njuminhyo = -1\n", "non-negative"),
        ("x", "Expected"),
    ],
)
def test_a_bad_mix_is_refused(tmp_path: Path, text: str, error: str) -> None:
    (tmp_path / "m.toml").write_text(text)
    with pytest.raises(MixError, match=error):
        Mix.load(tmp_path / "m.toml")


@pytest.mark.parametrize(
    "window",
    [
        'kind = "latency"\nstart = 5\nend = 2',
        'kind = "meteor"\nstart = 0\nend = 2',
        'kind = "error"\nstatus = 200\nstart = 0\nend = 2',
    ],
)
def test_a_bad_center_window_is_refused(tmp_path: Path, window: str) -> None:
    (tmp_path / "f.toml").write_text(f"period = 10\n[[center]]\n{window}\n")
    with pytest.raises(ScheduleError):
        Schedule.load(tmp_path / "f.toml")


def test_draws_repeat_with_the_seed() -> None:
    mix = Mix.load(Path("default"))
    first = [mix.draw(random.Random(7)) for _ in range(5)]
    assert first == [mix.draw(random.Random(7)) for _ in range(5)]
    draws = [mix.draw(random.Random(s)) for s in range(400)]
    assert draws.count("juminhyo") > draws.count("timeout")  # weights 28 and 2


def test_device_faults_turn_a_happy_plan_only(tmp_path: Path) -> None:
    (tmp_path / "f.toml").write_text(
        'period = 10\n[[device]]\nkind = "printer_jam"\nprobability = 1\nstart = 0\nend = 5\n'
    )
    schedule = Schedule.load(tmp_path / "f.toml")
    rng = random.Random(1)
    assert schedule.device_faults(12.0, rng) == ["printer_jam"]  # 12 s is 2 s into the second period
    assert schedule.device_faults(7.0, rng) == []
    jammed = apply_device_faults(_plan(), ["printer_jam"], rng)
    assert (jammed.kind, jammed.scenario) == ("printer_jam", "juminhyo+printer_jam")
    wrong = Plan("wrong_pin", "wrong_pin", "C-001", "山田 太郎", Path("c.card"), "4821", "1357", "inkan")
    assert apply_device_faults(wrong, ["printer_jam"], rng) is wrong


def test_exact_payment_and_change() -> None:
    assert _plan().payment(350) == [100, 100, 100, 50]
    assert Plan(**{**_plan().__dict__, "pay_over": True}).payment(350) == [1000]


def test_the_counter_hands_out_each_number_once_up_to_the_limit(tmp_path: Path) -> None:
    counter = tmp_path / "counters" / "started"
    assert [take(counter, 3) for _ in range(5)] == [1, 2, 3, None, None]
