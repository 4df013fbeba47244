"""Dates that never break: the simulated kiosk runs on an injected clock, never on the wall calendar.

Every bundled scenario is played on the simulated kiosk (in-process loopback reader) at a fixed moment,
and a representative resident at a sweep of moments: weekday, weekend, month end, a year-end closure day,
a municipality's maintenance day, a leap day, and the last minutes of a day in JST against UTC. One center
is made once per module and copied into each kiosk's work folder (its PKI and register are the slow part).
The next-service-day search is checked against the center's own calendar.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from harness.cli import SCENARIOS
from harness.clock import ClockError, SimClock, parse_clock, refusal_at, service_time
from harness.scenario import Player, Scenario, check_expectations, load_scenario
from harness.sim import SimKiosk, start_time
from kiosk.flow.view import ViewState
from mock_relay.faults import JST, CenterClock
from mock_relay.registry import seed
from mock_relay.server import RelayServer

pytestmark = pytest.mark.slow
WEDNESDAY = datetime(2027, 3, 3, 10, 0, tzinfo=JST)  # an ordinary service day, far from any closure
BUNDLED = sorted(p.stem for p in SCENARIOS.glob("*.toml"))


@pytest.fixture(scope="module")
def center_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A center's data folder (PKI, register, ledger), made once and copied into every kiosk."""
    data = tmp_path_factory.mktemp("center-template") / "center"
    RelayServer(data, clock=CenterClock(WEDNESDAY)).start().stop()
    return data


def play(scenario: Scenario, work: Path, template: Path, clock: datetime | None = None) -> ViewState:
    shutil.copytree(template, work / "center")
    with SimKiosk(work, scenario.setup, clock=clock) as kiosk:
        return Player(kiosk.flow, kiosk.hands, out=lambda _line: None).play(scenario, step_timeout=30)


def test_there_are_bundled_scenarios() -> None:
    assert len(BUNDLED) >= 20 and {"juminhyo", "out_of_hours", "printer_jam"} <= set(BUNDLED)


@pytest.mark.parametrize("name", BUNDLED)
def test_every_bundled_scenario_meets_its_expectations_on_an_injected_clock(
    name: str, tmp_path: Path, center_template: Path
) -> None:
    scenario = load_scenario(SCENARIOS / f"{name}.toml")
    clock = None if scenario.setup.get("clock") else WEDNESDAY  # a scenario's own clock wins
    final = play(scenario, tmp_path, center_template, clock)
    assert check_expectations(scenario, final) == [], name


def _resident(resident: str, *extra_steps: dict[str, object]) -> Scenario:
    """A resident who starts, places the card, types the PIN and buys one 住民票 with a 500 yen coin."""
    steps: list[dict[str, object]] = [
        {"wait": "attract", "do": "start"},
        {"wait": "route", "do": "route", "route": "residence"},
        {"wait": "place_card", "do": "insert_card"},
        {"wait": "pin", "do": "pin", "pin": "1234"},
        {"wait": "remove_card", "do": "remove_card"},
        {"wait": "choose_type", "do": "choose", "type": "juminhyo"},
        {"wait": "options", "do": "options", "options": {"scope": "all"}},
        {"wait": "copies", "do": "copies", "copies": 1},
        {"wait": "confirm", "do": "confirm"},
        {"wait": "pay", "do": "coins", "coins": [500]},
        *extra_steps,
    ]
    return Scenario("sweep", {"resident": resident}, tuple(steps))


SWEEP = [  # (clock, resident, expected staff code: OK = printed, else the center's refusal)
    ("2027-03-03T10:00:00+09:00", "C-001", "OK"),  # a Wednesday
    ("2027-03-06T10:00:00+09:00", "C-001", "OK"),  # a Saturday: 住民票 is served every day
    ("2027-04-30T22:50:00+09:00", "C-001", "OK"),  # the last day of a month, ten minutes before closing
    ("2027-12-30T10:00:00+09:00", "C-001", "S-year_end_closure"),  # 12/29-1/3
    ("2028-01-03T22:00:00+09:00", "C-001", "S-year_end_closure"),
    ("2028-01-04T06:30:00+09:00", "C-001", "OK"),  # the first morning after the closure, at opening
    ("2027-02-14T10:00:00+09:00", "Y-001", "S-maintenance"),  # 横浜市中区's maintenance day (center data)
    ("2027-02-14T10:00:00+09:00", "C-001", "OK"),  # ... which is not 千代田区's
    ("2028-02-29T10:00:00+09:00", "C-001", "OK"),  # a leap day
    ("2027-03-03T13:55:00+00:00", "C-001", "OK"),  # 22:55 JST
    ("2027-03-03T14:00:30+00:00", "C-001", "S-out_of_hours"),  # 23:00:30 JST, though mid-afternoon UTC
    ("2027-03-03T21:29:00+00:00", "C-001", "S-out_of_hours"),  # 06:29 JST on the 4th
    ("2027-03-03T23:30:00+00:00", "C-001", "OK"),  # 08:30 JST on the 4th, though late at night UTC
]


@pytest.mark.parametrize(("clock", "resident", "staff"), SWEEP)
def test_a_sweep_of_dates_gives_the_center_s_answer(
    clock: str, resident: str, staff: str, tmp_path: Path, center_template: Path
) -> None:
    final = play(_resident(resident), tmp_path, center_template, parse_clock(clock))
    assert final.outcome is not None
    assert final.outcome.staff_code == staff, final.outcome
    assert final.pages_printed == (2 if staff == "OK" else 0)


def test_the_next_service_day_follows_the_center_s_calendar() -> None:
    towns = seed.municipalities()
    friday = datetime(2027, 3, 5, 15, 0, tzinfo=JST)
    assert service_time(friday) == datetime(2027, 3, 8, 10, 0, tzinfo=JST)  # 千代田区's 戸籍: weekdays only
    assert service_time(datetime(2027, 12, 28, 9, tzinfo=JST)) == datetime(2028, 1, 4, 10, tzinfo=JST)
    assert service_time(datetime(2028, 2, 28, 9, tzinfo=JST), hour=9) == datetime(2028, 2, 29, 9, tzinfo=JST)
    thursday_utc = datetime(2027, 3, 4, 16, 0, tzinfo=UTC)  # Friday 01:00 in JST: the next day is Monday
    assert service_time(thursday_utc) == datetime(2027, 3, 8, 10, tzinfo=JST)
    assert refusal_at(datetime(2027, 12, 31, 12, tzinfo=JST)) == "year_end_closure"
    assert refusal_at(datetime(2027, 3, 6, 10, tzinfo=JST)) == "koseki_out_of_hours"  # a Saturday
    yokohama = [m for m in towns if m.name == "横浜市中区"]
    assert refusal_at(datetime(2027, 2, 14, 10, tzinfo=JST), yokohama) == "maintenance"
    monday = datetime(2027, 3, 8, 10, tzinfo=JST)
    closed = [m.__class__(**{**m.__dict__, "maintenance_days": (monday.date(),)}) for m in towns]
    assert service_time(friday, municipalities=closed) == monday + timedelta(days=1)


def test_a_kiosk_s_clock_comes_from_the_caller_or_the_scenario() -> None:
    assert start_time({"clock": "2027-03-03T10:00:00+09:00"}) == WEDNESDAY
    assert start_time({"clock": "2027-03-03T10:00:00+09:00"}, datetime(2028, 2, 29, tzinfo=JST)).day == 29
    assert start_time({}).hour == 10 and refusal_at(start_time({})) is None  # the next day the center serves
    with pytest.raises(ClockError, match="needs an offset"):
        start_time({"clock": "2027-03-03T10:00:00"})
    with pytest.raises(ClockError, match="not an ISO 8601 time"):
        parse_clock("next tuesday")
    clock = SimClock(WEDNESDAY)
    assert WEDNESDAY <= clock.now() < WEDNESDAY + timedelta(seconds=5)
