"""Helpers for the mock center's data/rules/documents tests."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from mock_relay.model import JST, Menu, OrderItem, PricedItem, Route
from mock_relay.registry.store import Registry
from mock_relay.rules.menu import open_menu, price_order

# Monday 30 November 2026, 10:00 JST: inside every window (general hours and all 戸籍 hours).
MONDAY = datetime(2026, 11, 30, 10, 0, tzinfo=JST)


def jst(y: int, mo: int, d: int, h: int = 10, mi: int = 0) -> datetime:
    """An aware JST datetime."""
    return datetime(y, mo, d, h, mi, tzinfo=JST)


def menu_for(reg: Registry, rid: str, now: datetime = MONDAY, route: Route = Route.RESIDENCE) -> Menu:
    """Open the menu of seeded resident ``rid``."""
    resident = reg.resident(rid)
    assert resident is not None, rid
    return open_menu(reg, resident, route, now)


def price(
    reg: Registry,
    rid: str,
    item: Mapping[str, object],
    now: datetime = MONDAY,
    route: Route = Route.RESIDENCE,
) -> PricedItem:
    """Open the menu and price one item given as JSON."""
    resident = reg.resident(rid)
    assert resident is not None, rid
    menu = open_menu(reg, resident, route, now)
    return price_order(reg, resident, menu, [OrderItem.parse(dict(item))], now)[0]
