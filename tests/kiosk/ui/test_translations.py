"""Translations are translations: no catalog but English shows a resident the English text (a draft left
untranslated), except what every language writes the same way."""

from __future__ import annotations

import pytest

from kiosk.ui.catalogs import LOCALE_DIR, parse_po
from kiosk.ui.i18n import LANGUAGES, catalog_dir_name

SAME_IN_EVERY_LANGUAGE = {
    "yen",  # ¥{amount}
    "opt_my_number",  # マイナンバー / "My Number" is the card's name abroad too
    "fee_times",  # {unit} × {count} = {total}: only placeholders and signs
    "label_value",  # {label}: {value}
    "step_pin",  # PIN is the word in Spanish and Tagalog too
}


def _catalog(language: str) -> dict[str, str]:
    return parse_po(LOCALE_DIR / catalog_dir_name(language) / "LC_MESSAGES" / "kiosk.po")


@pytest.mark.parametrize("language", [lang for lang in LANGUAGES if lang != "en"])
def test_no_english_left_in_another_language(language: str) -> None:
    english, catalog = _catalog("en"), _catalog(language)
    untranslated = sorted(
        key
        for key, text in catalog.items()
        if key
        and key not in SAME_IN_EVERY_LANGUAGE
        and text == english.get(key)
        and any(c.isalpha() for c in text)
    )
    assert untranslated == []


def test_the_checker_would_see_an_untranslated_text() -> None:
    english = _catalog("en")
    assert english["refunded"] and english["refunded"] != _catalog("tl")["refunded"]
