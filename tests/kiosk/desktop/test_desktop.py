"""The real kiosk window on Xvfb, driven with real X pointer and key events (xdotool's XTest), the card and
cash from the simulators: a whole transaction with double and triple taps on every forward button, the keys
that must do nothing (Esc, F1, Alt+F4, Ctrl+C …) at each step, the cancel question, the card chase, and a
staff-passcode guesser. Each ends as a resident and the store need; the window exits 0 only on ``quit``."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from desktop_helpers import KEYS_THAT_MUST_DO_NOTHING, ROOT, Kiosk, tools_present, xvfb

pytestmark = [pytest.mark.slow]

# A card placed is seen by the reader's presence watch within a few of its 0.2 s steps (reader/monitor.py).
CARD_NOTICED_S = 1.0


@pytest.fixture(scope="module")
def display() -> Iterator[str]:
    missing = tools_present()
    assert not missing, f"scripts/setup.sh installs {missing}"
    with xvfb() as name:
        yield name


@pytest.fixture
def kiosk(display: str, tmp_path: Path) -> Iterator[Kiosk]:
    k = Kiosk(display, tmp_path)
    try:
        yield k
    finally:
        k.close()


def keys_do_nothing(k: Kiosk, screen: str) -> None:
    """Every key that leaves, reconfigures or debugs a Kivy window, and a right and a middle click on the
    title (Kivy's multitouch emulation would leave a dot): the kiosk stays, on the same screen."""
    before = len(k.lines)
    k.keys(*KEYS_THAT_MUST_DO_NOTHING)
    k.click_at("header", "header:title", 3)
    k.click_at("header", "header:title", 2)
    k.since(0.5)
    moved = [line for line in k.lines[before:] if line.startswith(("ui ", "screen "))]
    assert k.alive(), k.lines[-10:]
    assert moved == [], (screen, moved)
    assert k.showing() == (screen, "-")


def flow_screens(lines: list[str]) -> list[str]:
    """The flow's screens in order, each once per visit (a view update on the same screen is not a visit)."""
    screens = [line.split()[1] for line in lines if line.startswith("screen ")]
    return [s for i, s in enumerate(screens) if i == 0 or screens[i - 1] != s]


@pytest.mark.timeout(150)
def test_a_whole_transaction_with_double_taps_and_keys_at_every_step(kiosk: Kiosk, tmp_path: Path) -> None:
    k = kiosk
    k.ui("attract")
    keys_do_nothing(k, "attract")
    k.tap("attract", "start", times=2)  # a double tap: the second lands on the route screen, ignored
    k.ui("route")
    keys_do_nothing(k, "route")
    k.tap("route", "residence", times=3, gap_ms=150)
    k.ui("place_card")
    keys_do_nothing(k, "place_card")
    k.say("card")
    k.ui("pin")
    keys_do_nothing(k, "pin")
    k.tap("pin", "key:1")
    k.tap("pin", "key:ok")  # too short: said, nothing sent
    for digit in "234":
        k.tap("pin", f"key:{digit}")
    k.tap("pin", "key:ok", times=2)
    k.ui("remove_card", timeout=30)
    keys_do_nothing(k, "remove_card")
    k.say("remove")
    k.ui("choose_type")
    keys_do_nothing(k, "choose_type")
    k.tap("choose_type", "type:juminhyo", times=2)
    k.ui("options")
    k.tap("options", "next_button", times=3)  # three taps 150 ms apart: one step, not three
    k.ui("copies")
    assert k.showing() == ("copies", "-") and "confirm" not in flow_screens(k.lines)
    keys_do_nothing(k, "copies")
    k.tap("copies", "next_button", times=3)
    k.ui("confirm")
    assert k.showing() == ("confirm", "-")
    keys_do_nothing(k, "confirm")
    k.tap("confirm", "ok_button", times=2)  # the second tap must not cancel on the next screen
    k.ui("pay", timeout=30)
    keys_do_nothing(k, "pay")
    k.say("coin 500")
    k.ui("done", timeout=60)
    keys_do_nothing(k, "done")
    k.tap("done", "finish", times=2)  # 音声停止 only silences; 終了 ends (the second tap lands on nothing)
    k.ui("attract")  # the card went at remove_card: nothing to chase
    seen = flow_screens(k.lines)
    assert "failed" not in seen and "aborting" not in seen, seen
    assert seen[seen.index("done") :] == ["done", "attract"], seen
    assert seen.count("issuing") == 1 and seen.count("pay") == 1
    assert k.stop() == 0
    assert list((tmp_path / "kivy-home").rglob("*.ini")) == []  # Kivy's config never written (F1 did nothing)
    assert list(ROOT.glob("*/ui/*.ini")) == []  # nor an app config beside the code


@pytest.mark.timeout(120)
def test_cancel_asks_once_more_and_the_card_is_chased(kiosk: Kiosk) -> None:
    k = kiosk
    k.ui("attract")
    k.tap("attract", "start")
    k.ui("route")
    k.tap("route", "residence")
    k.ui("place_card")
    k.say("card")
    k.ui("pin")
    for digit in "1234":
        k.tap("pin", f"key:{digit}")
    k.tap("pin", "key:ok")
    k.ui("remove_card", timeout=30)
    k.say("remove")
    k.ui("choose_type")
    k.tap("choose_type", "cancel", times=2)  # the PIN was verified: asked, a double tap answers nothing
    k.ui("cancel_ask")
    keys_do_nothing(k, "cancel_ask")
    assert "failed" not in flow_screens(k.lines)
    k.tap("cancel_ask", "keep")
    k.ui("choose_type")
    k.tap("choose_type", "cancel")
    k.ui("cancel_ask")
    k.tap("cancel_ask", "cancel")
    k.ui("error", timeout=30)
    k.say("card")  # the resident puts the card back on the reader … and leaves it
    time.sleep(CARD_NOTICED_S)  # … long enough for the reader's presence watch to see it, as a person would
    k.tap("error", "finish")
    k.ui("remove_card")  # chased: not the start screen while the card is on the reader
    keys_do_nothing(k, "remove_card")
    assert flow_screens(k.lines)[-1] == "take_card"
    k.say("remove")
    k.ui("attract")
    assert k.stop() == 0


@pytest.mark.timeout(120)
def test_a_staff_passcode_guesser_meets_a_back_off(kiosk: Kiosk) -> None:
    k = kiosk
    k.ui("attract")
    k.hold("header", "header:title", 3.3)
    k.ui("staff")
    assert k.showing() == ("staff", "passcode")
    k.keys(*KEYS_THAT_MUST_DO_NOTHING)
    assert k.alive() and k.showing() == ("staff", "passcode")
    for code in ("1111", "2222", "3333"):  # three wrong codes close staff mode …
        for digit in code:
            k.tap("staff", f"key:{digit}")
        k.tap("staff", "key:ok")
    k.ui("attract")
    k.hold("header", "header:title", 3.3)  # … and a fresh entry gives no fresh tries
    k.ui("staff")
    for code in ("4444", "0000"):  # the fourth wrong code starts a back-off; the right one waits too
        for digit in code:
            k.tap("staff", f"key:{digit}")
        k.tap("staff", "key:ok")
    assert k.showing() == ("staff", "passcode")
    assert k.stop() == 0
