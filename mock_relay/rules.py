"""Eligibility and pricing rules of コンビニ交付 (service.md §3–§4), pure functions over the registry.

Public API (stable):
    check_service_hours(municipality, now) -> None                         raises Refusal
    open_menu(registry, resident, route, now) -> Menu                      raises Refusal
    price_order(registry, resident, menu, items, now) -> tuple[PricedItem, ...]   raises Refusal
    order_total(priced) -> int
    tax_years_offered(municipality, now) -> tuple[int, ...]
``now`` must be timezone-aware; everything is evaluated in JST.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from mock_relay.model import Menu, Municipality, OrderItem, PricedItem, Resident, Route

if TYPE_CHECKING:
    from mock_relay.registry import Registry


def check_service_hours(municipality: Municipality | None, now: datetime) -> None:
    """Service window: 06:30–23:00 JST, closed 12/29–1/3 and on the municipality's maintenance days.

    Raises:
        Refusal: ``year_end_closure``, ``out_of_hours`` (retryable) or ``maintenance``.
        ValueError: ``now`` is naive.
    """
    raise NotImplementedError


def open_menu(registry: Registry, resident: Resident, route: Route, now: datetime) -> Menu:
    """The menu this cardholder may order from now, on ``route``.

    Raises:
        Refusal: hours/closure/maintenance, the person-level refusals (``under_15``, ``moved_out``,
        ``deceased``, ``support_measure``, ``moved_in_today``) and the route refusals (``no_koseki``,
        ``honseki_same_as_residence``, ``honseki_not_participating``, ``not_registered_honseki``,
        ``registration_pending``).
    """
    raise NotImplementedError


def price_order(
    registry: Registry, resident: Resident, menu: Menu, items: Sequence[OrderItem], now: datetime
) -> tuple[PricedItem, ...]:
    """Validate the chosen items against ``menu`` and the rules at ``now``; fill defaults; compute fees.

    Raises:
        Refusal: the entry's ``unavailable_code`` or any item-level code (``copies_exceeded``,
        ``option_not_allowed``, ``tax_cardholder_only`` …) — the first violation found.
    """
    raise NotImplementedError


def order_total(priced: Sequence[PricedItem]) -> int:
    """Sum of the items' amounts in yen."""
    return sum(p.amount_yen for p in priced)


def tax_years_offered(municipality: Municipality, now: datetime) -> tuple[int, ...]:
    """The 年度 this municipality issues tax certificates for at ``now``, latest first."""
    raise NotImplementedError
