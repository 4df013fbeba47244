"""Who may use the service, on which route, and which menu entries are available (docs/service.md §3–§4)."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest
from relay_data_helpers import MONDAY, jst, menu_for

from mock_relay.model import KOSEKI_TYPES, CertType, Refusal, Route
from mock_relay.registry.store import Registry
from mock_relay.rules.calendar import tax_years_offered
from mock_relay.rules.menu import open_menu


@pytest.mark.parametrize(
    ("rid", "route", "code"),
    [
        ("C-003", Route.RESIDENCE, "under_15"),
        ("S-008", Route.RESIDENCE, "under_15"),
        ("C-009", Route.RESIDENCE, "moved_out"),
        ("C-010", Route.RESIDENCE, "moved_out"),  # 転出届 filed, moving 2027-03-31
        ("Y-007", Route.RESIDENCE, "deceased"),
        ("C-007", Route.RESIDENCE, "support_measure"),
        ("C-006", Route.HONSEKI, "not_registered_honseki"),
        ("Y-006", Route.HONSEKI, "honseki_not_participating"),
        ("Y-005", Route.HONSEKI, "no_koseki"),
        ("C-001", Route.HONSEKI, "honseki_same_as_residence"),
        ("C-003", Route.HONSEKI, "under_15"),  # person checks come before route checks
    ],
)
def test_refused_cardholders(registry: Registry, rid: str, route: Route, code: str) -> None:
    with pytest.raises(Refusal) as info:
        menu_for(registry, rid, MONDAY, route)
    assert info.value.code == code
    assert info.value.retryable is False
    assert info.value.detail_ja and info.value.detail_en and code in str(info.value)


@pytest.mark.parametrize(
    ("today", "refused"),
    [(date(2029, 5, 9), True), (date(2029, 5, 10), False), (date(2029, 5, 11), False)],
)
def test_fifteenth_birthday_boundary(registry: Registry, today: date, refused: bool) -> None:
    shota = registry.resident("C-003")  # born 2014-05-10
    assert shota is not None
    shota = dataclasses.replace(shota, last_issued={})
    now = jst(today.year, today.month, today.day, 12)
    if refused:
        with pytest.raises(Refusal, match="under_15"):
            open_menu(registry, shota, Route.RESIDENCE, now)
    else:
        assert open_menu(registry, shota, Route.RESIDENCE, now).entries


def test_moved_in_today_is_refused_until_the_next_day(registry: Registry) -> None:
    base = registry.resident("S-009")
    assert base is not None
    newcomer = dataclasses.replace(base, moved_in=date(2026, 11, 30))
    with pytest.raises(Refusal, match="moved_in_today"):
        open_menu(registry, newcomer, Route.RESIDENCE, jst(2026, 11, 30, 12))
    assert open_menu(registry, newcomer, Route.RESIDENCE, jst(2026, 12, 1, 6, 30)).entries


def test_move_out_date_passed_still_refused(registry: Registry) -> None:
    with pytest.raises(Refusal, match="moved_out"):
        menu_for(registry, "C-010", jst(2027, 4, 1))


def test_honseki_route_menu_is_the_honseki_municipality_koseki_menu(registry: Registry) -> None:
    menu = menu_for(registry, "C-005", MONDAY, Route.HONSEKI)  # lives in Chiyoda, 本籍 横浜市中区
    assert menu.municipality_code == "141011" and menu.route is Route.HONSEKI
    assert {e.type for e in menu.entries} == set(KOSEKI_TYPES)
    assert {e.fee_yen for e in menu.entries} == {450, 300}
    residence = menu_for(registry, "C-005", MONDAY)
    assert residence.municipality_code == "131016"
    assert not any(e.type.is_koseki for e in residence.entries)


def test_honseki_route_into_chiyoda_uses_chiyoda_koseki_hours(registry: Registry) -> None:
    menu = menu_for(registry, "Y-004", jst(2026, 12, 5, 12), Route.HONSEKI)  # Saturday
    assert menu.municipality_code == "131016"
    assert all(e.unavailable_code == "koseki_out_of_hours" for e in menu.entries)


def test_registration_pending_until_its_date(registry: Registry) -> None:
    base = registry.resident("Y-004")
    assert base is not None and base.koseki is not None
    pending = dataclasses.replace(
        base, koseki=dataclasses.replace(base.koseki, registration_date=date(2026, 12, 2))
    )
    with pytest.raises(Refusal) as info:
        open_menu(registry, pending, Route.HONSEKI, jst(2026, 12, 1, 12))
    assert info.value.code == "registration_pending" and "2026-12-02" in info.value.detail_en
    assert open_menu(registry, pending, Route.HONSEKI, jst(2026, 12, 2, 12)).entries


def test_village_menu_is_small_and_has_no_koseki(registry: Registry) -> None:
    menu = menu_for(registry, "V-001")
    assert [e.type for e in menu.entries] == [CertType.JUMINHYO, CertType.INKAN, CertType.SHOTOKU_KAZEI]
    assert all(e.fee_yen == 200 and e.max_copies == 10 for e in menu.entries)


def test_foreign_resident_menu_has_no_koseki(registry: Registry) -> None:
    menu = menu_for(registry, "Y-005")
    assert not any(e.type.is_koseki for e in menu.entries)


@pytest.mark.parametrize(
    ("rid", "cert_type", "code"),
    [
        ("C-002", CertType.INKAN, "seal_abolished"),
        ("C-004", CertType.INKAN, "seal_not_registered"),
        ("C-001", CertType.INKAN, None),
        ("S-010", CertType.SHOTOKU_KAZEI, "no_tax_record"),  # moved in 2026-04: taxed elsewhere on 1 January
        ("C-004", CertType.SHOTOKU_KAZEI, "no_tax_record"),
        ("C-011", CertType.JUMINHYO, "household_move_out"),
        ("C-011", CertType.JUMINHYO_KISAI, "household_move_out"),
        ("C-011", CertType.INKAN, None),
        ("Y-009", CertType.JUMINHYO, None),  # seeded "issued today" is for the registry clock's day only
        ("Y-008", CertType.JUMINHYO, None),  # household of a deceased person: the record is simply removed
        ("C-008", CertType.JUMINHYO, None),  # household of a person who moved out in the past
    ],
)
def test_entry_availability(registry: Registry, rid: str, cert_type: CertType, code: str | None) -> None:
    entry = menu_for(registry, rid, jst(2026, 12, 1)).entry(cert_type)
    assert entry is not None
    assert entry.available is (code is None)
    assert entry.unavailable_code == code


def test_household_move_out_ends_once_the_move_date_passes(registry: Registry) -> None:
    entry = menu_for(registry, "C-011", jst(2027, 3, 31)).entry(CertType.JUMINHYO)
    assert entry is not None and entry.available
    option = next(o for o in entry.options if o.key == "members")
    assert option.choices == ("C-011",)  # 消除者 are not shown


def test_issued_today_is_per_type_and_per_day(registry: Registry) -> None:
    registry.record_issue("C-001", CertType.JUMINHYO, jst(2026, 12, 1, 6, 45))
    menu = menu_for(registry, "C-001", jst(2026, 12, 1, 22, 59))
    assert menu.entry(CertType.JUMINHYO).unavailable_code == "issued_today"  # type: ignore[union-attr]
    assert menu.entry(CertType.JUMINHYO_KISAI).available  # type: ignore[union-attr]
    assert menu_for(registry, "C-001", jst(2026, 12, 2, 6, 30)).entry(CertType.JUMINHYO).available  # type: ignore[union-attr]


def test_issued_today_not_enforced_where_the_municipality_allows_reissue(registry: Registry) -> None:
    registry.record_issue("V-001", CertType.JUMINHYO, jst(2026, 12, 1, 7))
    assert menu_for(registry, "V-001", jst(2026, 12, 1, 8)).entry(CertType.JUMINHYO).available  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("code", "now", "years"),
    [
        ("131016", jst(2026, 5, 31, 22), (2025,)),
        ("131016", jst(2026, 6, 1, 6, 30), (2026,)),
        ("141011", jst(2026, 6, 1, 6, 30), (2026, 2025)),
        ("011011", jst(2026, 6, 9), (2025, 2024, 2023)),
        ("011011", jst(2026, 6, 10), (2026, 2025, 2024)),
        ("131016", jst(2027, 1, 10), (2026,)),
    ],
)
def test_tax_year_switches_around_june(
    registry: Registry, code: str, now: object, years: tuple[int, ...]
) -> None:
    municipality = registry.municipality(code)
    assert municipality is not None
    assert tax_years_offered(municipality, now) == years  # type: ignore[arg-type]


def test_menu_year_choices_only_with_records(registry: Registry) -> None:
    entry = menu_for(registry, "S-001", jst(2026, 7, 1)).entry(CertType.SHOTOKU_KAZEI)
    assert entry is not None
    year = next(o for o in entry.options if o.key == "year")
    assert year.choices == (2026, 2025, 2024) and year.default == 2026
