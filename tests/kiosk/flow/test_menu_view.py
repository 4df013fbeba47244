"""The center's menu as the touchscreen sees it: the household "members" pick is not offered (the center's
default, the cardholder, applies), every other option lists the center's default first (the screen
preselects values[0]), and the center's booleans come back as the text the flow accepts."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from flow_fakes import PIN, FakeCenter, build_kiosk

from kiosk.flow import events as ev
from kiosk.flow.view import Screen
from relay_client import Authenticated, MenuOption

OPTIONS = (
    MenuOption("scope", "choice", "世帯全員／一部", ("all", "selected"), "all"),
    MenuOption("members", "members", "記載する方", ("M-aaa", "M-bbb"), "M-aaa"),
    MenuOption("honseki", "bool", "本籍・筆頭者", (False, True), False),
    MenuOption("year", "year", "年度", (2024, 2025, 2026), 2026),
)


class HouseholdCenter(FakeCenter):
    """The fake center, offering a 住民票 with the options the mock center really offers."""

    def authenticate(self, *args: Any, **kwargs: Any) -> Authenticated:
        auth = super().authenticate(*args, **kwargs)
        juminhyo = dataclasses.replace(auth.menu[0], options=OPTIONS)
        return dataclasses.replace(auth, menu=(juminhyo, *auth.menu[1:]))

    def create_order(self, session: Authenticated, items: Any, **kwargs: Any) -> Any:
        self.items = list(items)
        return super().create_order(session, items, **kwargs)


def _menu(tmp_path: Path) -> Any:
    k, _ = build_kiosk(tmp_path, center=HouseholdCenter())
    k.to_pin()
    k.post(ev.PinEntered(PIN), ev.CardRemoved(), ev.ChooseType("juminhyo"))
    assert k.flow.view.screen is Screen.OPTIONS
    return k


def test_members_pick_is_not_offered_and_defaults_come_first(tmp_path: Path) -> None:
    k = _menu(tmp_path)
    item = next(m for m in k.flow.view.menu if m.type == "juminhyo")
    assert dict(item.options) == {
        "scope": ("all", "selected"),
        "honseki": ("False", "True"),
        "year": ("2026", "2024", "2025"),
    }


def test_what_the_screen_sends_is_accepted_and_reaches_the_order(tmp_path: Path) -> None:
    k = _menu(tmp_path)
    k.post(ev.ChooseOptions((("honseki", "True"), ("scope", "all"), ("year", "2026"))))
    assert k.flow.view.screen is Screen.COPIES and k.flow.view.message_key == ""
    k.post(ev.ChooseCopies(1), ev.Confirm())
    assert k.flow.view.screen is Screen.PAY
    (item,) = k.center.items
    assert dict(item.options or {}) == {"honseki": True, "scope": "all", "year": 2026}  # the center's types


def test_a_members_value_is_refused_on_the_options_screen(tmp_path: Path) -> None:
    k = _menu(tmp_path)
    k.post(ev.ChooseOptions((("members", "M-bbb"),)))
    assert k.flow.view.screen is Screen.OPTIONS and k.flow.view.message_key == "option_not_offered"
