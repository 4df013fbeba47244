"""Resident-visible strings: gettext catalogs per language, looked up by stable keys."""

from __future__ import annotations

import gettext
import logging
import re
from functools import cache

from kiosk.ui.catalogs import DOMAIN, LOCALE_DIR, STAFF_DOMAIN, compile_all

log = logging.getLogger(__name__)

# Language tags as the flow carries them, in the order the language screen shows them.
LANGUAGES: tuple[str, ...] = ("ja", "en", "zh-Hans", "ko", "pt", "es", "vi", "tl")
DEFAULT_LANGUAGE = "ja"
NO_BREAK_SPACE = chr(0xA0)
STAFF_LANGUAGES: tuple[str, ...] = ("ja", "en")  # the staff domain (kiosk/ui/screens/staff.py)


def catalog_dir_name(language: str) -> str:
    """The directory under kiosk/locale for a language tag (``zh-Hans`` -> ``zh_Hans``). Never raises."""
    return language.replace("-", "_")


@cache
def _translation(language: str, domain: str = DOMAIN) -> gettext.NullTranslations:
    compile_all(only_stale=True)  # set-up compiles them; this keeps a fresh checkout working too
    return gettext.translation(domain, str(LOCALE_DIR), languages=[catalog_dir_name(language)])


class Translator:
    """Looks keys up in one language's catalog and formats ``{placeholders}``.

    An unknown language falls back to Japanese; a missing key shows nothing (and is logged) rather
    than showing the key to a resident — tests check every catalog covers every key.
    """

    def __init__(self, language: str = DEFAULT_LANGUAGE, *, domain: str = DOMAIN) -> None:
        known = STAFF_LANGUAGES if domain == STAFF_DOMAIN else LANGUAGES
        self.language = language if language in known else DEFAULT_LANGUAGE
        self._catalog = _translation(self.language, domain)

    def __call__(self, key: str, **values: object) -> str:
        """The text for ``key`` in this language. Never raises (a bad placeholder shows the raw text)."""
        text = self._catalog.gettext(key)
        if text == key:
            log.warning("catalog %s has no entry for %s", self.language, key)
            return ""
        return self._format(key, text, values)

    def plural(self, key: str, n: int, **values: object) -> str:
        """The text for ``key`` in the language's plural form for the count ``n`` (gettext ``ngettext``;
        ``{n}`` is filled in and held to the word after it with a no-break space, so that a wrapped line
        never ends on a bare "2" with "kopya" on the next). Never raises."""
        text = self._catalog.ngettext(key, key, n)
        if text == key:
            log.warning("catalog %s has no plural entry for %s", self.language, key)
            return ""
        return re.sub(
            rf"(?<![\d,.]){n} (?=\S)",
            f"{n}{NO_BREAK_SPACE}",
            self._format(key, text, {"n": n, **values}),
            count=1,
        )

    def _format(self, key: str, text: str, values: dict[str, object]) -> str:
        if not values:
            return text
        try:
            return text.format(**values)
        except (KeyError, IndexError, ValueError):
            log.warning("catalog %s: bad placeholders in %s", self.language, key)
            return text


def money(amount: int) -> str:
    """Yen with thousands separators, as a placeholder value (``1,200``). Never raises."""
    return f"{amount:,}"


_TRANSLATED_VALUES = ("all", "selected", "true", "false")


REIWA_OFFSET = 2018  # 令和1年 = 2019


def option_value(tr: Translator, value: str, name: str = "") -> str:
    """How an option's value reads on screen: the catalog's words for scope and yes/no values (the
    center's booleans arrive as "True" / "False"), a tax year in 令和 with 年度 and the income's 年分 made
    explicit, anything else as it is. Never raises."""
    token = value.lower()
    if token in _TRANSLATED_VALUES:
        return tr("optval_" + token)
    if name == "year" and value.isdigit() and len(value) == 4 and int(value) > REIWA_OFFSET + 1:
        year = int(value)
        return tr(
            "year_value",
            era=year - REIWA_OFFSET,
            year=year,
            income_era=year - 1 - REIWA_OFFSET,
            income_year=year - 1,
        )
    return value
