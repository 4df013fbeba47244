"""Where the resident is: the six steps of a transaction, as real multi-copy machines show them
(カード → 暗証番号 → 証明書 → 確認 → お支払い → 印刷), and the step of each screen."""

from __future__ import annotations

from kiosk.ui.bridge import UiState

STEP_KEYS: tuple[str, ...] = ("step_card", "step_pin", "step_cert", "step_confirm", "step_pay", "step_print")
_BY_SCREEN = {
    "place_card": 0,
    "pin": 1,
    "remove_card": 2,
    "choose_type": 2,
    "options": 2,
    "copies": 2,
    "confirm": 3,
    "pay": 4,
    "printing": 5,
}
_BY_WAIT = {
    "wait_reading": 0,
    "wait_verifying": 1,
    "wait_authenticating": 1,
    "wait_issuing": 3,
    "wait_payment": 4,
    "wait_reporting": 5,
}


def step_of(state: UiState) -> int | None:
    """The step (index into ``STEP_KEYS``) the screen of ``state`` belongs to, or None where no step applies
    (start, outcome, the card chase). Never raises."""
    if state.chase_card:
        return None
    if state.screen == "wait":
        return _BY_WAIT.get(state.wait_title)
    return _BY_SCREEN.get(state.screen)
