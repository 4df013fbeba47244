"""Structure for the text targets: a byte string read as a recipe for a TOML document of known sections
and keys, or a JSON document of known keys, with values of any type, so that the mutator spends its time
on what the loaders check (a key's type, its range, a table where a value belongs) rather than on the
syntax, which the C JSON scanner gives no coverage feedback for."""

from __future__ import annotations

import json
from collections.abc import Sequence

_STRINGS = ("", "x", "1234", "https://h:1/", "pcsc://", "pn532:///dev/ttyS0", "juminhyo", "attract", "\u3042")
_NUMBERS = ("0", "1", "-1", "3", "255", "100000", "0.5", "-0.0", "1e308", "nan", "inf", "-inf")
_JSON_ATOMS: tuple[str, ...] = (
    "null",
    "true",
    "false",
    "0",
    "1",
    "-1",
    "200",
    "1000001",
    "1.5",
    "1e999",
    "-0",
    "12345678901234567890",
)
_JSON_ATOMS += (
    '""',
    '"\\ud800"',
    '"2026-04-01T10:00:00+09:00"',
    '"2026-04-01"',
    '"' + "0" * 64 + '"',
    '"AA=="',
)


class Recipe:
    """A cursor over the recipe bytes; every read past the end gives 0."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def byte(self) -> int:
        value = self.data[self.pos] if self.pos < len(self.data) else 0
        self.pos += 1
        return value

    def more(self) -> bool:
        return self.pos < len(self.data)

    def pick(self, choices: Sequence[str]) -> str:
        return choices[self.byte() % len(choices)]

    def value(self, words: Sequence[str], depth: int = 0) -> str:
        """One TOML value: a word or string, number, boolean, date, array or inline table."""
        kind = self.byte() % (8 if depth < 3 else 5)
        if kind == 0:
            return json.dumps(self.pick(words))
        if kind == 1:
            return json.dumps(self.pick(_STRINGS), ensure_ascii=False)
        if kind == 2:
            return self.pick(_NUMBERS)
        if kind == 3:
            return self.pick(("true", "false"))
        if kind == 4:
            return self.pick(("1979-05-27T07:32:00Z", "1979-05-27", "07:32:00"))
        if kind in (5, 6):
            items = [self.value(words, depth + 1) for _ in range(self.byte() % 4)]
            return "[" + ", ".join(items) + "]"
        pairs = [f"{self.pick(words)} = {self.value(words, depth + 1)}" for _ in range(self.byte() % 3)]
        return "{" + ", ".join(pairs) + "}"


def json_value(recipe: Recipe, words: Sequence[str], depth: int = 0) -> str:
    """One JSON value: a word as a string, an atom, an array or an object with keys from ``words``."""
    kind = recipe.byte() % (6 if depth < 6 else 3)
    if kind == 0:
        return json.dumps(recipe.pick(words), ensure_ascii=False)
    if kind == 1:
        return recipe.pick(_JSON_ATOMS)
    if kind == 2:
        return json.dumps(recipe.pick(_STRINGS), ensure_ascii=False)
    if kind == 3:
        return "[" + ", ".join(json_value(recipe, words, depth + 1) for _ in range(recipe.byte() % 4)) + "]"
    pairs = [
        f"{json.dumps(recipe.pick(words))}: {json_value(recipe, words, depth + 1)}"
        for _ in range(recipe.byte() % 6)
    ]
    return "{" + ", ".join(pairs) + "}"


def json_document(data: bytes, words: Sequence[str]) -> bytes:
    """The JSON object the recipe ``data`` spells (keys from ``words``)."""
    recipe = Recipe(data)
    pairs = []
    while recipe.more():
        pairs.append(f"{json.dumps(recipe.pick(words))}: {json_value(recipe, words, 1)}")
    return ("{" + ", ".join(pairs) + "}").encode("utf-8")


def toml_document(data: bytes, tables: Sequence[str], words: Sequence[str]) -> bytes:
    """The TOML text the recipe ``data`` spells: lines ``key = value`` under table headers from ``tables``
    (``""`` = top level, ``[[name]]`` for arrays of tables), keys from ``words``."""
    recipe = Recipe(data)
    lines: list[str] = []
    while recipe.more():
        header = recipe.pick(tables)
        if header:
            lines.append(header)
        for _ in range(1 + recipe.byte() % 4):
            lines.append(f"{recipe.pick(words)} = {recipe.value(words)}")
    return ("\n".join(lines) + "\n").encode("utf-8")
