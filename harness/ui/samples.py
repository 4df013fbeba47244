"""A representative ``UiState`` for every screen (screenshots, tests, demos). No personal data."""

from __future__ import annotations

from dataclasses import replace

from kiosk.ui.bridge import UiMenuItem, UiOutcome, UiState

MENU = (
    UiMenuItem("juminhyo", 200, True, 5, (("scope", ("all", "selected")), ("honseki", ("false", "true")))),
    UiMenuItem("inkan", 200, True, 5),
    UiMenuItem("koseki_zenbu", 350, True, 3),
    UiMenuItem("shotoku_kazei", 300, False, 3, (("year", ("2025", "2024")),)),
)
REFUNDED = UiOutcome("outcome_take_your_money", "PR1", refunded=400, cause_key="cause_print_failed")


def sample_states(language: str = "ja") -> dict[str, UiState]:
    """Screen name -> a state that shows it with typical content. Never raises."""
    base = UiState(language=language, menu=MENU, can_cancel=True)
    chosen = replace(base, chosen_type="juminhyo", options=(("honseki", "true"), ("scope", "all")), copies=2)
    return {
        "attract": replace(base, screen="attract", can_cancel=False),
        "language": replace(base, screen="attract", can_cancel=False),
        "route": replace(base, screen="route"),
        "place_card": replace(base, screen="place_card", countdown=42),
        "wait": replace(base, screen="wait", wait_title="wait_reading", wait_hint="wait_keep_card"),
        "pin": replace(
            base,
            screen="pin",
            message="msg_pin_incorrect",
            tries_left=1,
            last_try_warning=True,
            countdown=8,
            countdown_warning=True,
        ),
        "locked": replace(base, screen="locked", outcome=UiOutcome("outcome_go_to_city_hall", "P01")),
        "remove_card": replace(base, screen="remove_card"),
        "choose_type": replace(base, screen="choose_type"),
        "options": replace(chosen, screen="options"),
        "copies": replace(chosen, screen="copies"),
        "confirm": replace(chosen, screen="confirm", fee=400),
        "pay": replace(chosen, screen="pay", fee=400, inserted=100, countdown=95),
        "printing": replace(chosen, screen="printing", pages_printed=1, pages_total=2, can_cancel=False),
        "done": replace(chosen, screen="done", change=600, sound_on=True, can_cancel=False),
        "error": replace(base, screen="error", outcome=REFUNDED, change=300),
        "cancel_ask": replace(chosen, screen="pay", fee=400, inserted=100, cancel_asked=True),
        "honseki_confirm": replace(base, screen="honseki_confirm", honseki_municipality="横浜市中区"),
        "honseki_done": replace(
            base,
            screen="honseki_done",
            can_cancel=False,
            honseki_municipality="横浜市中区",
            honseki_usable_from="2026-12-09",
        ),
    }
