"""A small stdlib-only gettext compiler: ``.po`` (our own plain catalogs) to GNU ``.mo``.

Enough for the catalogs under ``kiosk/locale``: single-line or continued ``msgid``/``msgstr`` strings with
C escapes, comments and flags, and plural entries (``msgid_plural`` / ``msgstr[n]``, the forms chosen by
the header's ``Plural-Forms``); no contexts (the screens do not use them). A plural entry is kept as
``{"singular\\0plural": "form0\\0form1…"}``, which is how a ``.mo`` file stores it.
"""

from __future__ import annotations

import ast
import struct
from pathlib import Path

DOMAIN = "kiosk"
STAFF_DOMAIN = "staff"  # the store staff's diagnostics mode (ja and en only): kiosk/ui/screens/staff.py
DOMAINS = (DOMAIN, STAFF_DOMAIN)
LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"


class CatalogError(ValueError):
    """A ``.po`` file this compiler cannot read (names the file and line)."""


def _unquote(text: str, where: str) -> str:
    text = text.strip()
    if len(text) < 2 or text[0] != '"' or text[-1] != '"':
        raise CatalogError(f"{where}: expected a quoted string")
    try:
        value = ast.literal_eval(text)
    except (SyntaxError, ValueError) as exc:
        raise CatalogError(f"{where}: bad string literal") from exc
    if not isinstance(value, str):
        raise CatalogError(f"{where}: bad string literal")
    return value


def parse_po(path: Path) -> dict[str, str]:
    """Read a ``.po`` file into ``{msgid: msgstr}`` (the header under ``""``). Raises CatalogError."""
    entries: dict[str, str] = {}
    msgid: str | None = None
    msgstr: str | None = None
    plural: str | None = None
    forms: list[str] = []
    current = ""

    def flush() -> None:
        if msgid is None:
            return
        if plural is not None:
            if not forms:
                raise CatalogError(f"{path}: plural msgid {msgid!r} has no msgstr[0]")
            entries[f"{msgid}\0{plural}"] = "\0".join(forms)
            return
        if msgstr is None:
            raise CatalogError(f"{path}: msgid {msgid!r} has no msgstr")
        entries[msgid] = msgstr

    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line, where = raw.strip(), f"{path}:{number}"
        if not line or line.startswith("#"):
            continue
        if line.startswith("msgid "):
            flush()
            msgid, msgstr, plural, forms, current = _unquote(line[6:], where), None, None, [], "id"
        elif line.startswith("msgid_plural "):
            if msgid is None:
                raise CatalogError(f"{where}: msgid_plural without msgid")
            plural, current = _unquote(line[13:], where), "plural"
        elif line.startswith("msgstr[") and plural is not None:
            index, _, rest = line[7:].partition("]")
            if not index.isdigit() or int(index) != len(forms):
                raise CatalogError(f"{where}: plural forms out of order")
            forms.append(_unquote(rest, where))
            current = "form"
        elif line.startswith('"') and current == "form" and forms:
            forms[-1] += _unquote(line, where)
        elif line.startswith('"') and current == "plural" and plural is not None:
            plural += _unquote(line, where)
        elif line.startswith("msgstr "):
            if msgid is None:
                raise CatalogError(f"{where}: msgstr without msgid")
            msgstr, current = _unquote(line[7:], where), "str"
        elif line.startswith('"') and current == "id" and msgid is not None:
            msgid += _unquote(line, where)
        elif line.startswith('"') and current == "str" and msgstr is not None:
            msgstr += _unquote(line, where)
        else:
            raise CatalogError(f"{where}: unsupported line")
    flush()
    return entries


def mo_bytes(entries: dict[str, str]) -> bytes:
    """The GNU ``.mo`` image (little-endian, no hash table) of ``entries``. Never raises."""
    keys = sorted(entries)
    ids = [k.encode("utf-8") for k in keys]
    strs = [entries[k].encode("utf-8") for k in keys]
    count = len(keys)
    id_table, str_table = 7 * 4, 7 * 4 + count * 8
    data_start = str_table + count * 8
    offsets: list[tuple[int, int]] = []
    blob = b""
    for item in ids + strs:
        offsets.append((len(item), data_start + len(blob)))
        blob += item + b"\0"
    header = struct.pack("<7I", 0x950412DE, 0, count, id_table, str_table, 0, 0)
    table = b"".join(struct.pack("<2I", length, offset) for length, offset in offsets)
    return header + table + blob


def compile_po(po: Path) -> Path:
    """Write ``kiosk.mo`` beside ``po`` (atomically) and return its path. Raises CatalogError, OSError."""
    mo = po.with_suffix(".mo")
    tmp = mo.with_suffix(".mo.tmp")
    tmp.write_bytes(mo_bytes(parse_po(po)))
    tmp.replace(mo)
    return mo


def compile_all(locale_dir: Path = LOCALE_DIR, *, only_stale: bool = False) -> list[Path]:
    """Compile every ``<lang>/LC_MESSAGES/<domain>.po`` (each of ``DOMAINS``) under ``locale_dir``; return
    the ``.mo`` paths written.

    With ``only_stale`` a ``.mo`` newer than its ``.po`` is kept. Raises CatalogError, OSError.
    """
    written: list[Path] = []
    for po in sorted(p for domain in DOMAINS for p in locale_dir.glob(f"*/LC_MESSAGES/{domain}.po")):
        mo = po.with_suffix(".mo")
        if only_stale and mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        written.append(compile_po(po))
    return written
