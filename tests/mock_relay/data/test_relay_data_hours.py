"""Service hours, year-end closure, maintenance days and 戸籍 hours, with an injected clock."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from relay_data_helpers import jst, menu_for

from mock_relay.model import CertType, Refusal
from mock_relay.registry.store import Registry
from mock_relay.rules.calendar import check_service_hours
from mock_relay.rules.menu import open_menu


@pytest.mark.parametrize(
    ("now", "code"),
    [
        (jst(2026, 11, 30, 6, 29), "out_of_hours"),
        (jst(2026, 11, 30, 6, 30), None),
        (jst(2026, 11, 30, 22, 59), None),
        (jst(2026, 11, 30, 23, 0), "out_of_hours"),
        (jst(2026, 11, 30, 0, 0), "out_of_hours"),
        (jst(2026, 12, 28, 22, 59), None),
        (jst(2026, 12, 29, 6, 30), "year_end_closure"),
        (jst(2026, 12, 31, 12, 0), "year_end_closure"),
        (jst(2027, 1, 1, 12, 0), "year_end_closure"),
        (jst(2027, 1, 3, 22, 59), "year_end_closure"),
        (jst(2027, 1, 4, 6, 30), None),
        (jst(2026, 12, 29, 3, 0), "year_end_closure"),
        # aware times in other zones are judged in JST: 21:30 UTC = 06:30 JST next day
        (datetime(2026, 11, 29, 21, 29, tzinfo=UTC), "out_of_hours"),
        (datetime(2026, 11, 29, 21, 30, tzinfo=UTC), None),
        (datetime(2026, 11, 30, 13, 59, tzinfo=UTC), None),
        (datetime(2026, 11, 30, 14, 0, tzinfo=UTC), "out_of_hours"),
    ],
)
def test_general_hours_and_year_end(registry: Registry, now: datetime, code: str | None) -> None:
    if code is None:
        check_service_hours(registry.municipality("131016"), now)
        assert menu_for(registry, "C-001", now).entries
    else:
        with pytest.raises(Refusal) as info:
            menu_for(registry, "C-001", now)
        assert info.value.code == code
        assert info.value.detail_ja and info.value.detail_en


@pytest.mark.parametrize(
    ("rid", "now", "code"),
    [
        ("V-001", jst(2026, 12, 6, 12), "maintenance"),  # 大衡村 maintenance day
        ("V-001", jst(2026, 12, 5, 12), None),
        ("V-001", jst(2026, 12, 7, 6, 30), None),
        ("C-001", jst(2026, 12, 6, 12), None),  # other municipalities unaffected
        ("Y-001", jst(2027, 2, 14, 8), "maintenance"),
        ("C-005", jst(2027, 2, 14, 8), None),  # residence route of a 横浜 本籍 holder is Chiyoda's
    ],
)
def test_maintenance_days(registry: Registry, rid: str, now: datetime, code: str | None) -> None:
    if code is None:
        menu_for(registry, rid, now)
    else:
        with pytest.raises(Refusal) as info:
            menu_for(registry, rid, now)
        assert info.value.code == code
        assert "保守" in info.value.detail_ja


def test_honseki_route_checks_the_honseki_municipality_maintenance(registry: Registry) -> None:
    from mock_relay.model import Route

    with pytest.raises(Refusal) as info:
        menu_for(registry, "C-005", jst(2027, 2, 14, 10), Route.HONSEKI)
    assert info.value.code == "maintenance"


def test_naive_now_is_a_value_error(registry: Registry) -> None:
    resident = registry.resident("C-001")
    assert resident is not None
    with pytest.raises(ValueError, match="aware"):
        open_menu(registry, resident, "residence", datetime(2026, 11, 30, 10))  # type: ignore[arg-type]


# Chiyoda: 戸籍/附票 weekdays 09:00–17:00. 2026-11-30 is a Monday, 12-05 a Saturday.
@pytest.mark.parametrize(
    ("now", "available"),
    [
        (jst(2026, 11, 30, 8, 59), False),
        (jst(2026, 11, 30, 9, 0), True),
        (jst(2026, 11, 30, 16, 59), True),
        (jst(2026, 11, 30, 17, 0), False),
        (jst(2026, 12, 4, 12, 0), True),
        (jst(2026, 12, 5, 12, 0), False),
        (jst(2026, 12, 6, 12, 0), False),
    ],
)
def test_chiyoda_koseki_hours(registry: Registry, now: datetime, available: bool) -> None:
    menu = menu_for(registry, "C-001", now)
    for t in (CertType.KOSEKI_ZENBU, CertType.KOSEKI_KOJIN, CertType.FUHYO):
        entry = menu.entry(t)
        assert entry is not None and entry.available is available
        if not available:
            assert entry.unavailable_code == "koseki_out_of_hours"
            assert entry.unavailable_detail is not None and "平日09:00–17:00" in entry.unavailable_detail
    juminhyo = menu.entry(CertType.JUMINHYO)
    assert juminhyo is not None and juminhyo.available  # other types keep the general hours


# Sapporo: 戸籍 every day 08:45–21:00.
@pytest.mark.parametrize(
    ("now", "available"),
    [
        (jst(2026, 12, 5, 8, 44), False),
        (jst(2026, 12, 5, 8, 45), True),
        (jst(2026, 12, 5, 20, 59), True),
        (jst(2026, 12, 5, 21, 0), False),
    ],
)
def test_sapporo_koseki_hours_include_weekends(registry: Registry, now: datetime, available: bool) -> None:
    entry = menu_for(registry, "S-001", now).entry(CertType.KOSEKI_ZENBU)
    assert entry is not None and entry.available is available
