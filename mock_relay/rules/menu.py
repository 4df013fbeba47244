"""Eligibility and pricing rules of コンビニ交付 (docs/service.md §3–§4), pure functions over the registry.

Public API (stable; the service calendar is ``mock_relay.rules.calendar``):
    open_menu(registry, resident, route, now) -> Menu                      raises Refusal
    price_order(registry, resident, menu, items, now) -> tuple[PricedItem, ...]   raises Refusal
    order_total(priced) -> int
    is_removed(resident, day) / move_out_pending(resident, day) -> bool
``now`` must be timezone-aware; everything is evaluated in JST. ``price_order`` re-reads the resident and
re-opens the menu at ``now`` (hours, seal state, issued-today …), so a stale menu never prices anything.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING

from mock_relay.model import (
    GENERAL_HOURS,
    JST,
    CertType,
    Menu,
    MenuEntry,
    Municipality,
    Offering,
    OrderItem,
    PricedItem,
    Resident,
    ResidentStatus,
    Route,
    ServiceHours,
)
from mock_relay.rules.calendar import check_service_hours, jst, tax_years_offered, within
from mock_relay.rules.options import entry_options, normalise_options
from mock_relay.rules.text import refusal

if TYPE_CHECKING:
    from mock_relay.registry.store import Registry

MAX_ITEMS = 10
# The real service publishes no per-transaction limit; the mock's choice (docs/center-protocol.md): at most
# a type's max_copies summed over the order's items of that type, and MAX_COPIES copies in all.
MAX_COPIES = 20
MIN_AGE = 15


def is_removed(resident: Resident, day: date) -> bool:
    """消除者 on ``day``: deceased, or moved out on or before ``day`` (not shown on certificates)."""
    if resident.status is ResidentStatus.DECEASED:
        return True
    return resident.status is ResidentStatus.MOVED_OUT and (
        resident.status_date is None or resident.status_date <= day
    )


def move_out_pending(resident: Resident, day: date) -> bool:
    """転出届 filed, moving after ``day``."""
    return (
        resident.status is ResidentStatus.MOVED_OUT
        and resident.status_date is not None
        and resident.status_date > day
    )


def check_person(resident: Resident, day: date) -> None:
    """The cardholder-level exclusions of docs/service.md §4.

    Raises:
        Refusal: ``deceased``, ``moved_out``, ``support_measure``, ``under_15`` or ``moved_in_today``.
    """
    if resident.status is ResidentStatus.DECEASED:
        raise refusal("deceased")
    if resident.status is ResidentStatus.MOVED_OUT:
        raise refusal("moved_out")
    if resident.support_measure:
        raise refusal("support_measure")
    if resident.age_on(day) < MIN_AGE:
        raise refusal("under_15")
    if resident.moved_in == day:
        raise refusal("moved_in_today")


def open_menu(registry: Registry, resident: Resident, route: Route, now: datetime) -> Menu:
    """The menu this cardholder may order from now, on ``route``.

    Raises:
        Refusal: hours/closure/maintenance, the person-level refusals (``under_15``, ``moved_out``,
        ``deceased``, ``support_measure``, ``moved_in_today``), ``unknown_resident`` and the route refusals
        (``no_koseki``, ``honseki_same_as_residence``, ``honseki_not_participating``,
        ``not_registered_honseki``, ``registration_pending``).
        ValueError: ``now`` is naive.
    """
    t = jst(now)
    home = registry.municipality(resident.municipality_code)
    if home is None:
        raise refusal("unknown_resident")
    check_service_hours(home, t)
    check_person(resident, t.date())
    if Route(route) is Route.HONSEKI_REGISTRATION:  # no certificates: the 本籍地 registers the resident
        issuer = registration_issuer(registry, resident, home, t)
        return Menu(resident.id, issuer.code, issuer.name, Route(route), (), t)
    issuer, offerings = _route_offerings(registry, resident, home, Route(route), t)
    entries = tuple(_entry(registry, resident, issuer, o, t) for o in offerings)
    return Menu(resident.id, issuer.code, issuer.name, Route(route), entries, t)


def registration_issuer(
    registry: Registry, resident: Resident, home: Municipality, t: datetime
) -> Municipality:
    """The 本籍地 a 利用登録 at a kiosk goes to, if the resident may file one now.

    Raises:
        Refusal: ``no_koseki``, ``honseki_same_as_residence``, ``honseki_not_participating``,
        ``honseki_already_registered``, ``registration_pending`` (filed, not yet usable), and the 本籍地's
        ``maintenance`` (kiosk registration is suspended then, docs/service.md §3).
    """
    koseki = resident.koseki
    if koseki is None:
        raise refusal("no_koseki")
    if koseki.municipality_code == home.code:
        raise refusal("honseki_same_as_residence")
    issuer = registry.municipality(koseki.municipality_code)
    if issuer is None or not issuer.honseki_service:
        raise refusal("honseki_not_participating")
    if koseki.registration_date is not None:
        if koseki.registration_date > t.date():
            raise refusal("registration_pending", date=koseki.registration_date.isoformat())
        raise refusal("honseki_already_registered")
    check_service_hours(issuer, t)
    return issuer


def _route_offerings(
    registry: Registry, resident: Resident, home: Municipality, route: Route, t: datetime
) -> tuple[Municipality, tuple[Offering, ...]]:
    koseki = resident.koseki
    if route is Route.RESIDENCE:
        keeps_koseki = koseki is not None and koseki.municipality_code == home.code
        return home, tuple(o for o in home.offerings if keeps_koseki or not o.type.is_koseki)
    if koseki is None:
        raise refusal("no_koseki")
    if koseki.municipality_code == home.code:
        raise refusal("honseki_same_as_residence")
    issuer = registry.municipality(koseki.municipality_code)
    offerings = tuple(o for o in issuer.offerings if o.type.is_koseki) if issuer else ()
    if issuer is None or not issuer.honseki_service or not offerings:
        raise refusal("honseki_not_participating")
    if koseki.registration_date is None:
        raise refusal("not_registered_honseki")
    if koseki.registration_date > t.date():
        raise refusal("registration_pending", date=koseki.registration_date.isoformat())
    check_service_hours(issuer, t)
    return issuer, offerings


def _entry(
    registry: Registry, resident: Resident, issuer: Municipality, offering: Offering, t: datetime
) -> MenuEntry:
    cert_type = offering.type
    hours = issuer.koseki_hours if cert_type.is_koseki else GENERAL_HOURS
    options = entry_options(registry, resident, issuer, cert_type, t)
    code = _unavailable(registry, resident, issuer, offering, hours, t)
    detail = None
    if code is not None:
        detail = refusal(code, **_fields(hours, offering)).detail_ja
    return MenuEntry(
        cert_type,
        cert_type.label_ja,
        cert_type.label_en,
        offering.fee_yen,
        offering.max_copies,
        options,
        hours,
        available=code is None,
        unavailable_code=code,
        unavailable_detail=detail,
    )


def _fields(hours: ServiceHours, offering: Offering) -> dict[str, object]:
    days_ja, days_en = ("平日", "on weekdays ") if hours.weekdays_only else ("毎日", "daily ")
    span = f"{hours.start:%H:%M}–{hours.end:%H:%M}"
    return {"hours": f"{days_ja}{span}", "hours_en": f"{days_en}{span}", "max": offering.max_copies}


def _unavailable(
    registry: Registry,
    resident: Resident,
    issuer: Municipality,
    offering: Offering,
    hours: ServiceHours,
    t: datetime,
) -> str | None:
    cert_type, day = offering.type, t.date()
    if cert_type.is_koseki and not within(hours, t):
        return "koseki_out_of_hours"
    last = resident.last_issued.get(cert_type)
    if issuer.refuse_same_day_reissue and last is not None and last.astimezone(JST).date() == day:
        return "issued_today"
    if cert_type.label_ja.startswith("住民票"):
        household = registry.household(resident.household_id)
        if any(move_out_pending(m, day) for m in household):
            return "household_move_out"
    if cert_type.value == "inkan":
        status = resident.seal.status.value
        return {"none": "seal_not_registered", "abolished": "seal_abolished"}.get(status)
    if cert_type.is_tax and not any(resident.tax_for(y) for y in tax_years_offered(issuer, t)):
        return "no_tax_record"
    return None


def price_order(
    registry: Registry,
    resident: Resident,
    menu: Menu,
    items: Sequence[OrderItem],
    now: datetime,
    *,
    menu_is_fresh: bool = False,
) -> tuple[PricedItem, ...]:
    """Validate the chosen items against the menu re-opened at ``now``; fill defaults; compute fees.

    ``menu_is_fresh``: the caller opened ``menu`` itself an instant ago with ``open_menu`` at this very
    ``now`` from the register's current record of ``resident``; then it is used as the re-opened menu (when
    the register still gives that same record), not opened a second time.

    Raises:
        Refusal: anything ``open_menu`` raises, ``empty_order``/``too_many_items``, the entry's
        ``unavailable_code``, an item-level code (``type_not_offered``, ``invalid_copies``,
        ``copies_exceeded``, ``option_not_allowed``, ``invalid_option``, ``tax_cardholder_only``,
        ``seal_cardholder_only``, ``tax_year_not_offered``, ``no_tax_record``, ``not_in_household``,
        ``not_in_koseki``) — the first violation found.
        ValueError: ``menu`` is not this resident's, or ``now`` is naive.
    """
    if menu.resident_id != resident.id:
        raise ValueError("menu belongs to another resident")
    if not items:
        raise refusal("empty_order")
    if len(items) > MAX_ITEMS:
        raise refusal("too_many_items", max=MAX_ITEMS)
    current = registry.resident(resident.id)
    if current is None:
        raise refusal("unknown_resident")
    same = menu_is_fresh and menu.opened_at == jst(now) and current is resident
    fresh = menu if same else open_menu(registry, current, menu.route, now)
    if fresh.municipality_code != menu.municipality_code:
        raise refusal("type_not_offered")
    priced = tuple(_price_item(registry, current, fresh, item, jst(now)) for item in items)
    _check_order_size(fresh, priced)
    return priced


def _check_order_size(menu: Menu, priced: Sequence[PricedItem]) -> None:
    per_type: dict[CertType, int] = {}
    for p in priced:
        per_type[p.item.type] = per_type.get(p.item.type, 0) + p.item.copies
    for cert_type, copies in per_type.items():
        entry = menu.entry(cert_type)
        if entry is not None and copies > entry.max_copies:
            raise refusal("copies_exceeded", max=entry.max_copies)
    if sum(per_type.values()) > MAX_COPIES:
        raise refusal("order_too_large", max=MAX_COPIES)


def _price_item(
    registry: Registry, resident: Resident, menu: Menu, item: OrderItem, t: datetime
) -> PricedItem:
    entry = menu.entry(item.type)
    if entry is None:
        raise refusal("type_not_offered")
    if not entry.available and entry.unavailable_code is not None:
        raise refusal(entry.unavailable_code, **_entry_fields(entry))
    if not isinstance(item.copies, int) or isinstance(item.copies, bool) or item.copies < 1:
        raise refusal("invalid_copies")
    if item.copies > entry.max_copies:
        raise refusal("copies_exceeded", max=entry.max_copies)
    issuer = registry.municipality(menu.municipality_code)
    assert issuer is not None  # the menu was just built from it
    options, subjects = normalise_options(registry, resident, issuer, entry, item.options, t)
    normal = OrderItem(item.type, options, item.copies)
    return PricedItem(
        normal, issuer.code, entry.label_ja, entry.fee_yen, entry.fee_yen * item.copies, subjects
    )


def _entry_fields(entry: MenuEntry) -> dict[str, object]:
    return _fields(entry.hours, Offering(entry.type, entry.fee_yen, entry.max_copies))


def order_total(priced: Sequence[PricedItem]) -> int:
    """Sum of the items' amounts in yen."""
    return sum(p.amount_yen for p in priced)
