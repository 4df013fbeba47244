"""What the fleet's residents come to do: a mix of scenarios (weights, a TOML file) and the plan of one
transaction drawn from it.

A mix file has one table, ``[scenarios]``, of weights. A certificate type (``juminhyo``, ``inkan``, ...)
is that type's happy path; the other names are the faults a resident brings: ``wrong_pin`` (one wrong
try, then the right PIN), ``locked_card``, ``cancel`` (while paying, after a coin), ``card_removed_early``
(at the PIN screen), ``printer_jam`` (at a sheet of the document), ``paper_out``, ``no_change`` (the
hoppers are empty but the kiosk's figures say otherwise: the change is owed), ``timeout`` (the resident
walks away at the PIN screen). ``default.toml`` ships beside this module.
"""

from __future__ import annotations

import random
import tomllib
from dataclasses import dataclass
from pathlib import Path

from mock_relay.model import CertType

MIXES = Path(__file__).parent / "mixes"
CERT_TYPES = tuple(t.value for t in CertType)
FAULT_KINDS = (
    "wrong_pin",
    "locked_card",
    "cancel",
    "card_removed_early",
    "printer_jam",
    "paper_out",
    "no_change",
    "timeout",
)
_COINS = (500, 100, 50, 10)


class MixError(ValueError):
    """A mix file is unreadable or names an unknown scenario."""


@dataclass(frozen=True)
class Plan:
    """One transaction as the resident means to play it. ``kind`` is ``happy`` or a fault kind;
    ``scenario`` the name the report shows (the mix's name, ``+fault`` when the schedule added one)."""

    kind: str
    scenario: str
    resident_id: str
    resident_name: str
    card: Path
    pin: str
    wrong_pin: str
    cert_type: str
    copies: int = 1
    language: str = "ja"
    pay_over: bool = False
    fault_sheet: int = 1  # printer_jam / paper_out: the sheet that fails
    silent_cash: bool = False
    pull_card_at: str = ""  # "reading": the card is pulled while the kiosk reads it

    def payment(self, fee: int) -> list[int]:
        """The coins and notes the resident puts in for ``fee`` (exact, or over to need change)."""
        if self.pay_over or self.kind == "no_change":
            return [1000] * (fee // 1000 + 1)
        money, left = [], fee
        for coin in _COINS:
            while left >= coin:
                money.append(coin)
                left -= coin
        return money or [10]


@dataclass(frozen=True)
class Mix:
    """Weights over scenario names."""

    weights: dict[str, float]

    @classmethod
    def load(cls, path: Path) -> Mix:
        """Read a mix file (or the name of a bundled one). Raises MixError."""
        if not path.exists() and (MIXES / f"{path.name}.toml").exists():
            path = MIXES / f"{path.name}.toml"
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise MixError(f"{path}: {exc}") from exc
        table = data.get("scenarios")
        if not isinstance(table, dict) or not table:
            raise MixError(f"{path}: a [scenarios] table of weights expected")
        unknown = sorted(set(table) - set(CERT_TYPES) - set(FAULT_KINDS))
        if unknown:
            raise MixError(f"{path}: unknown scenario(s) {', '.join(unknown)}")
        if any(not isinstance(w, int | float) or w < 0 for w in table.values()) or not sum(table.values()):
            raise MixError(f"{path}: weights must be non-negative numbers, not all 0")
        return cls({str(k): float(v) for k, v in table.items()})

    def draw(self, rng: random.Random) -> str:
        """One scenario name, by weight."""
        names = sorted(self.weights)
        return rng.choices(names, weights=[self.weights[n] for n in names])[0]


def happy_types(mix: Mix) -> list[str]:
    """The certificate types of the mix (fault scenarios pick one of these), juminhyo if none."""
    return [t for t in CERT_TYPES if mix.weights.get(t)] or ["juminhyo"]
