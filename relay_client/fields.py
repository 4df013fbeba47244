"""Reading typed fields out of decoded JSON; every failure is a CenterProtocolError naming the path."""

from __future__ import annotations

import dataclasses
import re
import typing
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, TypeVar

from relay_client.auth import b64_decode
from relay_client.errors import CenterProtocolError

T = TypeVar("T")
OptionValue = str | bool | int | tuple[str, ...]  # a tuple for "members" (opaque resident ids)
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


class Fields:
    """Reads typed fields out of one JSON object; every failure is a CenterProtocolError naming the path."""

    def __init__(self, raw: Any, where: str) -> None:
        if not isinstance(raw, Mapping):
            raise bad(where, "is not an object")
        self.raw: Mapping[str, Any] = raw
        self.where = where

    def _get(self, name: str, kinds: type | tuple[type, ...], what: str) -> Any:
        value = self.raw.get(name)
        ok = isinstance(value, kinds) and not (isinstance(value, bool) and bool not in _tuple(kinds))
        if not ok:
            raise bad(f"{self.where}.{name}", f"missing or not {what}")
        return value

    def text(self, name: str) -> str:
        """A required string field."""
        return str(self._get(name, str, "a string"))

    def opt_text(self, name: str) -> str | None:
        """An optional (or null) string field."""
        return None if self.raw.get(name) is None else self.text(name)

    def integer(self, name: str, minimum: int = 0) -> int:
        """A required integer field (booleans refused) not below ``minimum``."""
        value = int(self._get(name, int, "an integer"))
        if value < minimum:
            raise bad(f"{self.where}.{name}", f"below {minimum}")
        return value

    def flag(self, name: str) -> bool:
        """A required boolean field."""
        return bool(self._get(name, bool, "a boolean"))

    def hex64(self, name: str) -> str:
        """A required lower-case sha256 hex string."""
        value = self.text(name)
        if not _HEX64.match(value):
            raise bad(f"{self.where}.{name}", "is not 64 lower-case hex digits")
        return value

    def time(self, name: str) -> datetime:
        """A required RFC 3339 timestamp with an offset."""
        text = self.text(name)
        try:
            value = datetime.fromisoformat(text)
        except ValueError as exc:
            raise bad(f"{self.where}.{name}", "is not an RFC 3339 time") from exc
        if value.tzinfo is None:
            raise bad(f"{self.where}.{name}", "has no UTC offset")
        return value

    def b64(self, name: str) -> bytes:
        """A required base64 field, decoded."""
        try:
            return b64_decode(self.text(name))
        except ValueError as exc:
            raise bad(f"{self.where}.{name}", "is not base64") from exc

    def obj(self, name: str) -> Fields:
        """A required nested object."""
        return Fields(self.raw.get(name), f"{self.where}.{name}")

    def items(self, name: str, parse: Callable[[Fields], T]) -> tuple[T, ...]:
        """A required array of objects, each parsed by ``parse``."""
        values = self._get(name, list, "an array")
        return tuple(parse(Fields(v, f"{self.where}.{name}[{i}]")) for i, v in enumerate(values))

    def scalars(self, name: str) -> tuple[OptionValue, ...]:
        """A required array of string/boolean/integer values."""
        values = self._get(name, list, "an array")
        if not all(isinstance(v, str | bool | int) for v in values):
            raise bad(f"{self.where}.{name}", "holds a value that is not a string, boolean or integer")
        return tuple(values)

    def scalar(self, name: str) -> OptionValue:
        """A required option value: string, boolean, integer, or array of strings (as a tuple)."""
        value = _option_value(self.raw.get(name))
        if value is None:
            raise bad(f"{self.where}.{name}", "missing or not an option value")
        return value

    def options(self, name: str) -> tuple[tuple[str, OptionValue], ...]:
        """An optional object of option name → scalar, as sorted pairs."""
        raw = self.raw.get(name) or {}
        if not isinstance(raw, Mapping):
            raise bad(f"{self.where}.{name}", "is not an object")
        out: list[tuple[str, OptionValue]] = []
        for key, value in raw.items():
            parsed = _option_value(value)
            if not isinstance(key, str) or parsed is None:
                raise bad(f"{self.where}.{name}.{key}", "is not an option value")
            out.append((key, parsed))
        return tuple(sorted(out))


def _option_value(value: Any) -> OptionValue | None:
    if isinstance(value, str | bool | int):
        return value
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    return None


def _tuple(kinds: type | tuple[type, ...]) -> tuple[type, ...]:
    return kinds if isinstance(kinds, tuple) else (kinds,)


def bad(where: str, what: str) -> CenterProtocolError:
    return CenterProtocolError("malformed_response", detail=f"{where} {what}")


_READERS: dict[object, Callable[[Fields, str], Any]] = {
    str: Fields.text,
    str | None: Fields.opt_text,
    int: Fields.integer,
    bool: Fields.flag,
    datetime: Fields.time,
    bytes: Fields.b64,
}


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    """``cls``'s resolved annotations, resolved once (resolving them took 2 % of a busy kiosk's CPU, once
    per answer)."""
    hints = _HINTS.get(cls)
    if hints is None:
        hints = _HINTS[cls] = typing.get_type_hints(cls)
    return hints


def build(cls: type[T], f: Fields, **special: Any) -> T:
    """Construct dataclass ``cls`` from ``f``: each field read by its annotation unless given in ``special``.

    Raises CenterProtocolError naming the first missing or mistyped field.
    """
    hints = _hints(cls)
    kwargs: dict[str, Any] = {}
    for field in dataclasses.fields(cls):  # type: ignore[arg-type]
        if field.name in special:
            kwargs[field.name] = special[field.name]
        elif field.init:
            kwargs[field.name] = _READERS[hints[field.name]](f, field.name)
    return cls(**kwargs)
