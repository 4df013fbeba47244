"""The staff domain's catalogs (kiosk/locale/{ja,en}/LC_MESSAGES/staff.po): complete, the same placeholders,
compiled and read through gettext, every key the staff screen uses present, every glyph in the font."""

from __future__ import annotations

import ast
import gettext
import string
from pathlib import Path

import pytest
from fontTools.ttLib import TTFont

from kiosk.ui.catalogs import LOCALE_DIR, STAFF_DOMAIN, compile_all, compile_po, parse_po
from kiosk.ui.fonts import IPAEX_GOTHIC
from kiosk.ui.i18n import STAFF_LANGUAGES, Translator

ROOT = Path(__file__).resolve().parents[3]
STAFF_PY = ROOT / "kiosk" / "ui" / "screens" / "staff.py"
POT = parse_po(LOCALE_DIR / f"{STAFF_DOMAIN}.pot")
KEYS = sorted(k for k in POT if k)


def catalog(language: str) -> dict[str, str]:
    return parse_po(LOCALE_DIR / language / "LC_MESSAGES" / f"{STAFF_DOMAIN}.po")


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_staff_is_japanese_and_english_only() -> None:
    assert STAFF_LANGUAGES == ("ja", "en")
    assert sorted(p.parent.parent.name for p in LOCALE_DIR.glob(f"*/LC_MESSAGES/{STAFF_DOMAIN}.po")) == [
        "en",
        "ja",
    ]
    assert Translator("ko", domain=STAFF_DOMAIN).language == "ja"


@pytest.mark.parametrize("language", STAFF_LANGUAGES)
def test_catalog_covers_every_key_with_the_same_placeholders(language: str) -> None:
    entries = catalog(language)
    assert sorted(k for k in entries if k) == KEYS and len(KEYS) > 20
    japanese = catalog("ja")
    for key in KEYS:
        assert entries[key].strip(), f"{language}: {key} is empty"
        assert placeholders(entries[key]) == placeholders(japanese[key]), f"{language}: {key}"


@pytest.mark.parametrize("language", STAFF_LANGUAGES)
def test_compiled_catalog_reads_back_through_gettext(language: str, tmp_path: Path) -> None:
    po = tmp_path / f"{STAFF_DOMAIN}.po"
    po.write_bytes((LOCALE_DIR / language / "LC_MESSAGES" / f"{STAFF_DOMAIN}.po").read_bytes())
    with compile_po(po).open("rb") as mo:
        translation = gettext.GNUTranslations(mo)
    for key, text in catalog(language).items():
        if key:
            assert translation.gettext(key) == text


def test_compile_all_builds_both_domains(tmp_path: Path) -> None:
    for language in STAFF_LANGUAGES:
        folder = tmp_path / language / "LC_MESSAGES"
        folder.mkdir(parents=True)
        for domain in ("kiosk", STAFF_DOMAIN):
            (folder / f"{domain}.po").write_text('msgid "a"\nmsgstr "b"\n', encoding="utf-8")
    written = compile_all(tmp_path)
    assert sorted(p.name for p in written) == ["kiosk.mo", "kiosk.mo", "staff.mo", "staff.mo"]


def test_the_staff_and_resident_domains_are_apart() -> None:
    assert Translator("en", domain=STAFF_DOMAIN)("staff_exit") == "Exit"
    assert Translator("en")("staff_exit") == ""  # not in the resident catalog
    assert Translator("ja", domain=STAFF_DOMAIN)("app_title") == ""


def _keys_used_by_the_staff_screen() -> set[str]:
    used: set[str] = set()
    for node in ast.walk(ast.parse(STAFF_PY.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith("staff_"):
            if node.value.endswith("_"):  # the prefix of an f-string (staff_item_{kind}): the kinds below
                continue
            used.add(node.value)
    return used


def test_every_key_the_staff_screen_uses_is_in_the_template() -> None:
    used = _keys_used_by_the_staff_screen()
    kinds = {f"staff_item_{k}" for k in ("owed", "discrepancy", "id_conflict", "partial_print")}
    assert len(used) > 20
    assert used | kinds <= set(KEYS), (used | kinds) - set(KEYS)


@pytest.mark.parametrize("language", STAFF_LANGUAGES)
def test_the_staff_font_has_every_glyph(language: str) -> None:
    cmap = TTFont(str(IPAEX_GOTHIC)).getBestCmap()  # staff.kv shows both languages in IPAex Gothic
    missing = {ch for text in catalog(language).values() for ch in text if ch != "\n" and ord(ch) not in cmap}
    assert not missing, f"{language} lacks {sorted(missing)}"


def test_every_refusal_the_diagnostics_raise_has_words_on_the_staff_screen() -> None:
    """Each ``SettleRefused(message, code, **params)`` in kiosk/staff/diagnostics.py has
    ``staff_why_<code>`` in
    every staff catalog, with exactly its params as placeholders."""
    source = ROOT / "kiosk" / "staff" / "diagnostics.py"
    raised = {}
    for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "SettleRefused":
            code = node.args[1]
            assert isinstance(code, ast.Constant), ast.unparse(node)
            raised[str(code.value)] = {k.arg for k in node.keywords if k.arg}
    assert {"busy", "wrong_amount", "already", "bad_staff_id"} <= set(raised)
    for language in STAFF_LANGUAGES:
        texts = catalog(language)
        for code, params in raised.items():
            assert placeholders(texts[f"staff_why_{code}"]) == params, (language, code)
