"""Catalogs: every language covers every key, code and kv show no literal text, fonts have every glyph."""

from __future__ import annotations

import ast
import gettext
import re
import string
from pathlib import Path

import pytest
from fontTools.ttLib import TTCollection, TTFont

from kiosk.ui.catalogs import LOCALE_DIR, CatalogError, compile_po, mo_bytes, parse_po
from kiosk.ui.fonts import font_file
from kiosk.ui.i18n import LANGUAGES, Translator, catalog_dir_name

UI = Path(__file__).resolve().parents[3] / "kiosk" / "ui"
POT = parse_po(LOCALE_DIR / "kiosk.pot")
KEYS = sorted(k for k in POT if k)  # a plural entry's key is "singular\0plural"


def catalog(language: str) -> dict[str, str]:
    return parse_po(LOCALE_DIR / catalog_dir_name(language) / "LC_MESSAGES" / "kiosk.po")


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@pytest.mark.parametrize("language", LANGUAGES)
def test_catalog_covers_every_key_with_the_same_placeholders(language: str) -> None:
    entries = catalog(language)
    assert sorted(k for k in entries if k) == KEYS
    japanese = catalog("ja")
    for key in KEYS:
        assert entries[key].strip(), f"{language}: {key} is empty"
        assert placeholders(entries[key]) == placeholders(japanese[key]), f"{language}: {key}"


# English words once left in other catalogs where the language has its own (a Tagalog resident read "city
# hall" and "rehistradong domicile"). Names residents meet in English on the card itself stay (My Number
# Card, PIN, Face ID).
ENGLISH_LEFT = ("city hall", "domicile", "family register", "residence record", "user authentication")


@pytest.mark.parametrize("language", [tag for tag in LANGUAGES if tag != "en"])
def test_no_english_left_where_the_language_has_its_own_word(language: str) -> None:
    left = {
        key: text
        for key, text in catalog(language).items()
        if key and any(word in text.lower() for word in ENGLISH_LEFT)
    }
    assert not left, f"{language}: English left in {left}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_compiled_catalog_reads_back_through_gettext(language: str, tmp_path: Path) -> None:
    src = LOCALE_DIR / catalog_dir_name(language) / "LC_MESSAGES" / "kiosk.po"
    po = tmp_path / "kiosk.po"
    po.write_bytes(src.read_bytes())
    with compile_po(po).open("rb") as mo:
        translation = gettext.GNUTranslations(mo)
    for key, text in catalog(language).items():
        if "\0" in key:  # a plural entry: each form comes back for a count that selects it
            singular = key.split("\0")[0]
            forms = text.split("\0")
            picked = {translation.ngettext(singular, singular, n) for n in (0, 1, 2, 5, 11)}
            assert picked == set(forms), (language, singular)
        elif key:
            assert translation.gettext(key) == text


PLURAL_KEYS = ("copies_n", "countdown", "pin_tries_left", "pin_wrong_tries")
SINGULAR = {  # the one form for n = 1 and the other for n = 2 in languages that inflect
    "en": ("1 copy", "2 copies"),
    "pt": ("1 cópia", "2 cópias"),
    "es": ("1 copia", "2 copias"),
}


@pytest.mark.parametrize("language", LANGUAGES)
def test_counts_use_gettext_plural_forms(language: str) -> None:
    entries = catalog(language)
    for key in PLURAL_KEYS:
        assert f"{key}\0{key}" in entries and key not in entries, (language, key)
    header = entries[""]
    assert "Plural-Forms: nplurals=" in header, language
    tr = Translator(language)
    if language in SINGULAR:
        forms = tuple(tr.plural("copies_n", n).replace("\u00a0", " ") for n in (1, 2))
        assert forms == SINGULAR[language]
        assert tr.plural("pin_wrong_tries", 1) != tr.plural("pin_wrong_tries", 2).replace("2", "1")
    for key in PLURAL_KEYS:
        assert "{" not in tr.plural(key, 2) and "2" in tr.plural(key, 2), (language, key)


def test_plural_po_round_trip(tmp_path: Path) -> None:
    po = tmp_path / "kiosk.po"
    po.write_text(
        'msgid ""\nmsgstr "Plural-Forms: nplurals=2; plural=(n != 1);\\n"\n\n'
        'msgid "k"\nmsgid_plural "k"\nmsgstr[0] "{n} thing"\nmsgstr[1] "{n} things"\n',
        encoding="utf-8",
    )
    assert parse_po(po)["k\0k"] == "{n} thing\0{n} things"
    with compile_po(po).open("rb") as mo:
        translation = gettext.GNUTranslations(mo)
    assert translation.ngettext("k", "k", 1) == "{n} thing"
    assert translation.ngettext("k", "k", 3) == "{n} things"
    po.write_text('msgid "k"\nmsgid_plural "k"\nmsgstr[1] "x"\n', encoding="utf-8")
    with pytest.raises(CatalogError, match="out of order"):
        parse_po(po)


def test_translator_formats_and_never_shows_a_key() -> None:
    assert Translator("ko").plural("pin_tries_left", 2) == "2번 더 틀리면 잠깁니다"
    assert Translator("en").plural("copies_n", 1) == "1\u00a0copy"
    assert Translator("xx").language == "ja"
    assert Translator("en")("no_such_key") == ""


@pytest.mark.parametrize(
    "text", ['msgid "a"\n', 'msgstr "x"\n', 'msgid a\nmsgstr "b"\n', 'msgid "a"\nmsgstr "b"\nbogus\n']
)
def test_bad_po_is_a_clear_error(text: str, tmp_path: Path) -> None:
    po = tmp_path / "bad.po"
    po.write_text(text, encoding="utf-8")
    with pytest.raises(CatalogError, match=r"bad\.po"):
        parse_po(po)


def test_mo_is_gnu_format() -> None:
    assert mo_bytes({"": "h", "a": "b"})[:4] == b"\xde\x12\x04\x95"


def _keys_used_in_code() -> set[str]:
    used: set[str] = set()
    for path in UI.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call) or not node.args or not isinstance(node.args[0], ast.Constant):
                continue
            func = node.func
            if isinstance(func, ast.Name) and func.id == "tr":
                used.add(str(node.args[0].value))
            elif isinstance(func, ast.Attribute) and func.attr == "plural":
                used.add(f"{node.args[0].value}\0{node.args[0].value}")
    return used


def test_every_key_the_screens_use_is_in_the_template() -> None:
    used = _keys_used_in_code()
    assert len(used) > 40
    assert used <= set(KEYS), used - set(KEYS)


def _is_visible_literal(value: str) -> bool:
    """Text a resident could read: any letter (ASCII or not). Digits, '-', '+' and ids are not."""
    return any(ch.isalpha() for ch in value) and not re.fullmatch(r"[a-z0-9_\-]+", value)


def _resident_facing(pattern: str) -> list[Path]:
    """Every file of the touchscreen (the test engineer's English panel lives in harness/, not here)."""
    return sorted(UI.rglob(pattern))


def _name(path: Path) -> str:
    return path.relative_to(UI).as_posix()


def test_no_resident_visible_literal_in_kv() -> None:
    offenders = []
    for path in _resident_facing("*.kv"):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            match = re.match(r"\s*text:\s*(.+)$", line)
            if match:
                for literal in re.findall(r"'([^']*)'|\"([^\"]*)\"", match.group(1)):
                    if _is_visible_literal("".join(literal)):
                        offenders.append(f"{_name(path)}:{number}")
    assert not offenders


def test_no_resident_visible_literal_in_python() -> None:
    offenders = []
    for path in _resident_facing("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and not node.value.isascii():
                offenders.append(f"{_name(path)}:{node.lineno}")  # no Japanese or other text outside catalogs
            if isinstance(node, ast.keyword) and node.arg == "text" and isinstance(node.value, ast.Constant):
                if _is_visible_literal(str(node.value.value)):
                    offenders.append(f"{_name(path)}:{node.value.lineno}")
    docstring_lines = {f"{_name(p)}:1" for p in UI.rglob("*.py")}
    assert [o for o in offenders if o not in docstring_lines and not _in_docstring(o)] == []


def _in_docstring(where: str) -> bool:
    name, line = where.split(":")
    tree = ast.parse((UI / name).read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
            value = body[0].value
            if isinstance(value, ast.Constant) and isinstance(value.value, str) and value.lineno <= int(line):
                if int(line) <= (value.end_lineno or value.lineno):
                    return True
    return False


def _cmap(path: Path) -> dict[int, str]:
    font = TTCollection(str(path)).fonts[0] if path.suffix == ".ttc" else TTFont(str(path))
    return font.getBestCmap()


@pytest.mark.parametrize("language", LANGUAGES)
def test_language_font_has_every_glyph_of_its_catalog(language: str) -> None:
    cmap = _cmap(font_file(language))
    missing = {
        ch for text in catalog(language).values() for ch in text if ch not in "\n\0" and ord(ch) not in cmap
    }
    assert not missing, f"{language} ({font_file(language).name}) lacks {sorted(missing)}"


def test_ipaex_lacks_hangul_which_is_why_korean_has_its_own_font() -> None:
    assert ord("한") not in _cmap(font_file("ja"))


def test_the_checks_see_the_screens() -> None:
    assert {"pin.kv", "pin.py"} <= {p.name for p in _resident_facing("*.*")}
    assert "screens/pin.py:1" in {f"{_name(p)}:1" for p in UI.rglob("*.py")}


def test_a_count_is_held_to_its_word_so_a_line_never_ends_on_a_bare_number() -> None:
    """Portrait, large text, Tagalog: "… paninirahan  2" / "kopya" wrapped the count away from its word."""
    assert Translator("tl").plural("copies_n", 2) == "2\u00a0kopya"
    assert Translator("en").plural("countdown", 42) == "42\u00a0seconds left"
    assert Translator("ja").plural("copies_n", 2) == "2通"  # no space, nothing to hold
    assert Translator("vi")("yen", amount="1,200") == "1,200\u00a0yên"  # the amount's unit stays with it
    tries = Translator("en").plural("pin_tries_left", 1)
    assert "1\u00a0" in tries and tries.count("\u00a0") == 1  # only the count, no other space
