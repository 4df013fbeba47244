"""The bridge against the flow's real view state and events (no window needed)."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest

from kiosk.flow import events as ev
from kiosk.flow.outcomes import outcome
from kiosk.flow.view import MenuItem, Screen, ViewState
from kiosk.ui.bridge import MESSAGE_KEYS, SCREENS, from_view, to_flow_event


@pytest.mark.parametrize("screen", list(Screen))
def test_every_flow_screen_maps_to_a_ui_screen(screen: Screen) -> None:
    view = ViewState(screen=screen, outcome=outcome("timeout") if screen is Screen.FAILED else None)
    state = from_view(view)
    assert state.screen in SCREENS
    if state.screen == "wait":
        assert state.wait_title


def test_view_fields_reach_the_ui_state() -> None:
    menu = (MenuItem("juminhyo", "住民票の写し", 300, 5, True, options=(("scope", ("all", "selected")),)),)
    view = ViewState(
        screen=Screen.PAY,
        language="en",
        menu=menu,
        chosen_type="juminhyo",
        options=(("scope", "all"),),
        copies=2,
        fee=600,
        amount_inserted=1000,
        change=400,
        countdown=12,
        countdown_warning=True,
        can_cancel=True,
    )
    state = from_view(view)
    assert (state.screen, state.language, state.fee) == ("pay", "en", 600)
    assert (state.inserted, state.change) == (1000, 400)
    assert state.remaining == 0 and state.countdown == 12 and state.countdown_warning
    item = state.chosen_item()
    assert item is not None and item.options == (("scope", ("all", "selected")),)


def test_pin_messages_and_locked_outcome() -> None:
    view = ViewState(screen=Screen.PIN, message_key="pin_incorrect", tries_left=1, last_try_warning=True)
    wrong = from_view(view)
    assert (wrong.message, wrong.tries_left, wrong.last_try_warning) == ("msg_pin_incorrect", 1, True)
    locked = from_view(ViewState(screen=Screen.FAILED, outcome=outcome("pin_locked")))
    assert locked.screen == "locked" and locked.outcome is not None and locked.outcome.staff_code == "P01"
    printed = outcome("print_failed", refunded=300)
    failed = from_view(replace(ViewState(screen=Screen.FAILED), outcome=printed))
    assert failed.screen == "error" and failed.outcome is not None
    assert (failed.outcome.message_key, failed.outcome.refunded) == ("outcome_take_your_money", 300)


def test_intents_become_flow_events() -> None:
    assert to_flow_event("start", "ko") == ev.Start(language="ko")
    assert to_flow_event("route", "honseki") == ev.ChooseRoute(route="honseki")
    assert to_flow_event("options", (("scope", "all"),)) == ev.ChooseOptions(options=(("scope", "all"),))
    assert to_flow_event("copies", 2) == ev.ChooseCopies(copies=2)
    assert isinstance(to_flow_event("cancel"), ev.Cancel) and isinstance(to_flow_event("finish"), ev.Finish)
    pin = to_flow_event("pin", "1234")
    assert pin == ev.PinEntered(pin="1234") and "1234" not in repr(pin)
    with pytest.raises(KeyError):
        to_flow_event("reboot")


def test_every_message_the_flow_shows_reaches_the_screen() -> None:
    """A message key the flow sets but the bridge drops is a message the resident never sees."""
    flow_dir = Path(__file__).resolve().parents[3] / "kiosk" / "flow"
    used = {
        key
        for path in flow_dir.glob("*.py")
        for key in re.findall(r'message_key="([a-z_]+)"', path.read_text(encoding="utf-8"))
    }
    assert "exact_amount_only" in used and "pin_incorrect" in used
    assert used <= MESSAGE_KEYS, used - MESSAGE_KEYS
    pay = from_view(ViewState(screen=Screen.PAY, message_key="exact_amount_only", fee=200))
    assert pay.message == "msg_exact_amount_only"


def test_the_card_chase_the_cancel_question_and_refusal_reasons_reach_the_ui_state() -> None:
    chase = from_view(ViewState(screen=Screen.TAKE_CARD, sound_on=True))
    assert chase.screen == "remove_card" and chase.chase_card
    assert not from_view(ViewState(screen=Screen.REMOVE_CARD)).chase_card
    asked = from_view(ViewState(screen=Screen.PAY, cancel_asked=True, amount_inserted=100))
    assert asked.cancel_asked and asked.inserted == 100
    menu = (
        MenuItem("juminhyo", "住民票の写し", 300, 5, False, "issued_today"),
        MenuItem("inkan", "印鑑登録証明書", 300, 5, False, "seal_not_registered"),
        MenuItem("koseki_zenbu", "戸籍謄本", 450, 5, False, "under_15"),
    )
    keys = [m.unavailable_key for m in from_view(ViewState(screen=Screen.CHOOSE_TYPE, menu=menu)).menu]
    assert keys == ["unavail_issued_today", "unavail_city_hall", "type_unavailable"]


def test_the_new_intents_become_flow_events() -> None:
    assert to_flow_event("cancel") == ev.Cancel(ask=True)  # the touchscreen's 取消 may be asked about
    assert to_flow_event("cancel_confirmed") == ev.Cancel()
    assert to_flow_event("keep_going") == ev.KeepGoing() and to_flow_event("more_time") == ev.MoreTime()


def test_an_ending_says_what_happened_before_what_to_do() -> None:
    """The resident whose certificate did not print is told so, not only to take the money back."""
    failed = from_view(ViewState(screen=Screen.FAILED, outcome=outcome("print_failed", refunded=400)))
    assert failed.outcome is not None
    assert (failed.outcome.cause_key, failed.outcome.message_key) == (
        "cause_print_failed",
        "outcome_take_your_money",
    )
    refunded = outcome("cancelled_refunded", refunded=200)
    cancelled = from_view(ViewState(screen=Screen.FAILED, outcome=refunded))
    assert cancelled.outcome is not None and cancelled.outcome.cause_key == "outcome_cancelled"
    protocol = from_view(ViewState(screen=Screen.FAILED, outcome=outcome("center_protocol")))
    assert protocol.outcome is not None and protocol.outcome.cause_key == ""  # nothing a resident can act on


def test_every_cause_is_a_reason_the_flow_gives_and_a_key_every_catalog_has() -> None:
    from kiosk.flow.outcomes import _CENTER_REASON, _TABLE
    from kiosk.ui.bridge import CAUSE_KEYS, HINT_KEYS
    from kiosk.ui.catalogs import LOCALE_DIR, parse_po

    template = parse_po(LOCALE_DIR / "kiosk.pot")
    assert set(CAUSE_KEYS) <= set(_TABLE) | set(_CENTER_REASON), (
        set(CAUSE_KEYS) - set(_TABLE) - set(_CENTER_REASON)
    )
    missing = {key for key in (*CAUSE_KEYS.values(), *HINT_KEYS.values()) if key not in template}
    assert not missing
