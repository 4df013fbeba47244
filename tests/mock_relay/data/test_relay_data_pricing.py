"""price_order: copies, options, subjects, cardholder-only types, stale menus, parsing and messages."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import pytest
from relay_data_helpers import MONDAY, jst, menu_for, price

from mock_relay.model import REFUSAL_CODES, CertType, OrderItem, Refusal, Route
from mock_relay.registry.store import Registry
from mock_relay.rules.menu import open_menu, order_total, price_order
from mock_relay.rules.text import MESSAGES


def test_fees_and_total(registry: Registry) -> None:
    resident = registry.resident("C-001")
    assert resident is not None
    menu = menu_for(registry, "C-001")
    items = [
        OrderItem.parse({"type": "juminhyo", "copies": 3}),
        OrderItem.parse({"type": "koseki_zenbu"}),
        OrderItem.parse({"type": "inkan", "copies": 2}),
    ]
    priced = price_order(registry, resident, menu, items, MONDAY)
    assert [(p.unit_fee_yen, p.amount_yen) for p in priced] == [(200, 600), (350, 350), (200, 400)]
    assert order_total(priced) == 1350
    assert priced[0].item.options["scope"] == "all"  # defaults filled in
    assert priced[0].subject_ids == ("C-001", "C-002", "C-003", "C-004")
    assert priced[1].subject_ids == ("C-001", "C-002", "C-003", "C-004")
    assert priced[2].subject_ids == ("C-001",)


@pytest.mark.parametrize(
    ("rid", "item", "code"),
    [
        ("C-001", {"type": "juminhyo", "copies": 0}, "invalid_copies"),
        ("C-001", {"type": "juminhyo", "copies": -1}, "invalid_copies"),
        ("C-001", {"type": "juminhyo", "copies": 11}, "copies_exceeded"),
        ("C-001", {"type": "juminhyo", "options": {"my_number": True}}, "option_not_allowed"),
        ("C-001", {"type": "juminhyo", "options": {"colour": "red"}}, "option_not_allowed"),
        ("C-001", {"type": "juminhyo", "options": {"setainushi": "yes"}}, "invalid_option"),
        ("C-001", {"type": "juminhyo", "options": {"scope": "some"}}, "invalid_option"),
        ("C-001", {"type": "juminhyo", "options": {"scope": "selected", "members": []}}, "invalid_option"),
        (
            "C-001",
            {"type": "juminhyo", "options": {"scope": "selected", "members": ["Y-001"]}},
            "not_in_household",
        ),
        ("C-001", {"type": "koseki_kojin", "options": {"members": ["C-005"]}}, "not_in_koseki"),
        ("C-001", {"type": "inkan", "options": {"members": ["C-002"]}}, "seal_cardholder_only"),
        ("C-001", {"type": "shotoku_kazei", "options": {"members": ["C-002"]}}, "tax_cardholder_only"),
        ("C-001", {"type": "nozei", "options": {"members": ["C-004"]}}, "tax_cardholder_only"),
        ("C-001", {"type": "shotoku_kazei", "options": {"year": 2025}}, "tax_year_not_offered"),
        ("C-001", {"type": "shotoku_kazei", "options": {"year": "2026"}}, "invalid_option"),
        ("S-009", {"type": "kazei", "options": {"year": 2021}}, "tax_year_not_offered"),
        ("C-002", {"type": "inkan"}, "seal_abolished"),
        ("C-004", {"type": "inkan"}, "seal_not_registered"),
        ("V-001", {"type": "koseki_zenbu"}, "type_not_offered"),
        ("V-001", {"type": "juminhyo_kisai"}, "type_not_offered"),
        (
            "Y-005",
            {"type": "juminhyo", "options": {"honseki": True}},
            "option_not_allowed",
        ),  # foreign national
        ("C-011", {"type": "juminhyo"}, "household_move_out"),
        ("C-001", {"type": "passport"}, "type_not_offered"),
    ],
)
def test_item_refusals(registry: Registry, rid: str, item: Mapping[str, object], code: str) -> None:
    with pytest.raises(Refusal) as info:
        price(registry, rid, item)
    assert info.value.code == code


def test_ten_copies_is_the_limit(registry: Registry) -> None:
    assert price(registry, "C-001", {"type": "juminhyo", "copies": 10}).amount_yen == 2000


def test_naming_oneself_on_a_cardholder_only_type_is_fine(registry: Registry) -> None:
    assert price(registry, "C-001", {"type": "inkan", "options": {"members": ["C-001"]}}).subject_ids == (
        "C-001",
    )


def test_my_number_only_where_allowed(registry: Registry) -> None:
    p = price(registry, "Y-001", {"type": "juminhyo", "options": {"my_number": True}})
    assert p.item.options["my_number"] is True and p.unit_fee_yen == 300


def test_selected_members_in_register_order(registry: Registry) -> None:
    p = price(
        registry,
        "S-001",
        {"type": "juminhyo", "options": {"scope": "selected", "members": ["S-006", "S-002"]}},
    )
    assert p.subject_ids == ("S-002", "S-006")
    assert p.item.options["members"] == ("S-002", "S-006")


def test_selected_without_members_is_the_cardholder(registry: Registry) -> None:
    assert price(registry, "S-002", {"type": "juminhyo", "options": {"scope": "selected"}}).subject_ids == (
        "S-002",
    )


def test_under_15_household_member_may_be_printed(registry: Registry) -> None:
    p = price(registry, "C-001", {"type": "juminhyo", "options": {"scope": "selected", "members": ["C-003"]}})
    assert p.subject_ids == ("C-003",)


def test_foreign_items_option(registry: Registry) -> None:
    p = price(registry, "Y-005", {"type": "juminhyo_kisai", "options": {"foreign_items": True}})
    assert p.item.options["foreign_items"] is True and "honseki" not in p.item.options


def test_honseki_route_item_is_issued_by_the_honseki_municipality(registry: Registry) -> None:
    p = price(registry, "C-005", {"type": "koseki_zenbu"}, MONDAY, Route.HONSEKI)
    assert p.municipality_code == "141011" and p.amount_yen == 450
    assert p.subject_ids == ("C-005", "C-006")


def test_koseki_kojin_members(registry: Registry) -> None:
    p = price(registry, "S-004", {"type": "koseki_kojin", "options": {"members": ["S-007", "S-004"]}})
    assert p.subject_ids == ("S-004", "S-007")


def test_tax_year_default_and_explicit(registry: Registry) -> None:
    assert price(registry, "Y-001", {"type": "shotoku_kazei"}).item.options["year"] == 2026
    assert (
        price(registry, "Y-001", {"type": "shotoku_kazei", "options": {"year": 2025}}).item.options["year"]
        == 2025
    )


def test_stale_menu_is_rechecked_at_order_time(registry: Registry) -> None:
    resident = registry.resident("C-001")
    assert resident is not None
    menu = menu_for(registry, "C-001", jst(2026, 11, 30, 22, 58))
    item = [OrderItem.parse({"type": "juminhyo"})]
    assert price_order(registry, resident, menu, item, jst(2026, 11, 30, 22, 59))
    with pytest.raises(Refusal, match="out_of_hours"):
        price_order(registry, resident, menu, item, jst(2026, 11, 30, 23, 0))
    registry.record_issue("C-001", CertType.JUMINHYO, jst(2026, 11, 30, 22, 59))
    with pytest.raises(Refusal, match="issued_today"):
        price_order(registry, resident, menu, item, jst(2026, 11, 30, 22, 59))


def test_koseki_hours_rechecked_at_order_time(registry: Registry) -> None:
    resident = registry.resident("C-001")
    assert resident is not None
    menu = menu_for(registry, "C-001", jst(2026, 11, 30, 16, 59))
    with pytest.raises(Refusal) as info:
        price_order(registry, resident, menu, [OrderItem.parse({"type": "fuhyo"})], jst(2026, 11, 30, 17, 0))
    assert info.value.code == "koseki_out_of_hours" and "17:00" in info.value.detail_en


def test_order_shape_refusals(registry: Registry) -> None:
    resident = registry.resident("C-001")
    other = registry.resident("C-002")
    assert resident is not None and other is not None
    menu = menu_for(registry, "C-001")
    with pytest.raises(Refusal, match="empty_order"):
        price_order(registry, resident, menu, [], MONDAY)
    with pytest.raises(Refusal, match="too_many_items"):
        price_order(registry, resident, menu, [OrderItem(CertType.JUMINHYO)] * 11, MONDAY)
    with pytest.raises(ValueError, match="another resident"):
        price_order(registry, other, menu, [OrderItem(CertType.JUMINHYO)], MONDAY)


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("juminhyo", "invalid_item"),
        ({"type": 3}, "invalid_item"),
        ({"type": "juminhyo", "copies": "2"}, "invalid_item"),
        ({"type": "juminhyo", "copies": True}, "invalid_item"),
        ({"type": "juminhyo", "options": []}, "invalid_item"),
        ({"type": "juminhyo", "options": {"members": [1, 2]}}, "invalid_item"),
        ({"type": "juminhyo", "options": {"x": None}}, "invalid_item"),
        ({"type": "nope"}, "type_not_offered"),
    ],
)
def test_order_item_parse_refusals(raw: object, code: str) -> None:
    with pytest.raises(Refusal) as info:
        OrderItem.parse(raw)
    assert info.value.code == code


def test_order_item_parse_normalises_lists() -> None:
    item = OrderItem.parse(
        {"type": "juminhyo", "options": {"members": ["A", "B"], "setainushi": True}, "copies": 2}
    )
    assert item == OrderItem(CertType.JUMINHYO, {"members": ("A", "B"), "setainushi": True}, 2)
    assert OrderItem.parse({"type": "inkan"}).copies == 1


def test_every_refusal_code_has_both_texts() -> None:
    assert set(MESSAGES) == set(REFUSAL_CODES)
    assert all(ja and en for ja, en in MESSAGES.values())


def test_copies_of_one_type_are_limited_over_the_whole_order(registry: Registry) -> None:
    # Issue #14 item 8: ten items of 10 印鑑登録証明書 were priced (and issued: 100 documents).
    resident = registry.resident("C-001")
    assert resident is not None
    menu = menu_for(registry, "C-001")
    with pytest.raises(Refusal) as info:
        price_order(registry, resident, menu, [OrderItem(CertType.INKAN, {}, 10)] * 10, MONDAY)
    assert (info.value.code, info.value.detail_en) == (
        "copies_exceeded",
        "At most 10 copies of one certificate type per order.",
    )
    split = [OrderItem(CertType.JUMINHYO, {}, 6), OrderItem(CertType.JUMINHYO, {"setainushi": True}, 5)]
    with pytest.raises(Refusal, match="copies_exceeded"):
        price_order(registry, resident, menu, split, MONDAY)
    at_the_limit = [
        OrderItem(CertType.JUMINHYO, {}, 6),
        OrderItem(CertType.JUMINHYO, {"setainushi": True}, 4),
    ]
    assert sum(p.item.copies for p in price_order(registry, resident, menu, at_the_limit, MONDAY)) == 10


def test_an_order_holds_at_most_twenty_copies(registry: Registry) -> None:
    resident = registry.resident("C-001")
    assert resident is not None
    menu = menu_for(registry, "C-001")
    twenty = [OrderItem(CertType.JUMINHYO, {}, 10), OrderItem(CertType.INKAN, {}, 10)]
    assert order_total(price_order(registry, resident, menu, twenty, MONDAY)) == 20 * 200
    with pytest.raises(Refusal) as info:
        price_order(registry, resident, menu, [*twenty, OrderItem(CertType.JUMINHYO_KISAI)], MONDAY)
    assert (info.value.code, info.value.detail_en) == ("order_too_large", "At most 20 copies per order.")


def test_a_fresh_menu_is_used_as_it_is_and_any_other_is_opened_again(registry: Registry) -> None:
    resident = registry.resident("C-001")
    assert resident is not None
    menu = open_menu(registry, resident, Route.RESIDENCE, MONDAY)
    item = [OrderItem(CertType.JUMINHYO)]
    priced = price_order(registry, resident, menu, item, MONDAY, menu_is_fresh=True)
    assert priced == price_order(registry, resident, menu, item, MONDAY)
    emptied = dataclasses.replace(menu, entries=())  # not what the rules give: only trusted when fresh
    assert price_order(registry, resident, emptied, item, MONDAY) == priced
    with pytest.raises(Refusal):
        price_order(registry, resident, emptied, item, MONDAY, menu_is_fresh=True)
    registry.record_issue("C-001", CertType.INKAN, MONDAY)  # the register moved on: a new record
    assert registry.resident("C-001") is not resident
    assert price_order(registry, resident, emptied, item, MONDAY, menu_is_fresh=True) == priced
