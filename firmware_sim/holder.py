"""The card holder: the 基本4情報 plus the numbers a My Number card carries (docs/card.md §6, §7.2).

Pure data and checks, no I/O. Check-digit rules:
- 個人番号 (My Number): 行政手続における特定の個人を識別するための番号の利用等に関する法律施行令 §8 —
  weights 6,5,4,3,2,7,6,5,4,3,2 on the first 11 digits (left to right), r = sum mod 11,
  check = 0 if r <= 1 else 11 - r.
- 全国地方公共団体コード: weights 6,5,4,3,2 on the first 5 digits, r = sum mod 11,
  check = (11 - r) mod 10 (so r = 0 gives 1 and r = 1 gives 0; e.g. 131041 新宿区, 131130 渋谷区).
"""

from __future__ import annotations

import hashlib
import random
import re
import secrets
from dataclasses import dataclass, field
from datetime import date
from enum import IntEnum

from firmware_sim.pki.places import PREFECTURES, municipality_romaji

_MY_NUMBER_WEIGHTS = (6, 5, 4, 3, 2, 7, 6, 5, 4, 3, 2)
_MUNICIPALITY_WEIGHTS = (6, 5, 4, 3, 2)
IDEOGRAPHIC_SPACE = "\u3000"
_KATAKANA = re.compile(r"^[\u30a1-\u30fa\u30fc\u30fb]+$")
_MAX_ADDRESS_CHARS = 200  # the sign certificate's 住所 limit (docs/card.md §7.2)


class Sex(IntEnum):
    """性別 as 券面事項入力補助AP DF25 writes it (JIS X 0303 / ISO 5218)."""

    MALE = 1
    FEMALE = 2
    NOT_APPLICABLE = 9

    @property
    def certificate_code(self) -> str:
        """The sign certificate's 性別 value: 1 male, 2 female, 3 unknown (docs/card.md §7.2)."""
        return {Sex.MALE: "1", Sex.FEMALE: "2", Sex.NOT_APPLICABLE: "3"}[self]


class Era(IntEnum):
    """Japanese eras, valued by the digit JPKI writes before a birth date (0 = unknown)."""

    MEIJI = 1
    TAISHO = 2
    SHOWA = 3
    HEISEI = 4
    REIWA = 5


# First Gregorian day of each era, newest first. Meiji counts from 1868-01-25 (明治元年1月1日).
_ERA_STARTS = (
    (date(2019, 5, 1), Era.REIWA),
    (date(1989, 1, 8), Era.HEISEI),
    (date(1926, 12, 25), Era.SHOWA),
    (date(1912, 7, 30), Era.TAISHO),
    (date(1868, 1, 25), Era.MEIJI),
)


def era_of(day: date) -> Era:
    """The era ``day`` falls in. Raises ValueError before the Meiji era (1868-01-25)."""
    for start, era in _ERA_STARTS:
        if day >= start:
            return era
    raise ValueError(f"{day.isoformat()} is before the Meiji era (1868-01-25)")


def era_year(day: date) -> int:
    """The year within its era (元年 = 1). Raises ValueError before the Meiji era."""
    era = era_of(day)
    start = next(s for s, e in _ERA_STARTS if e is era)
    return day.year - start.year + 1


def jpki_birth_date(day: date) -> str:
    """The sign certificate's 生年月日 ``EYYYYMMDD``: era digit + Gregorian date (``319800217``).

    Raises ValueError before the Meiji era.
    """
    return f"{int(era_of(day))}{day:%Y%m%d}"


def my_number_check_digit(first11: str) -> int:
    """Check digit for the first 11 digits of a 個人番号. Raises ValueError unless 11 ASCII digits."""
    if len(first11) != 11 or not first11.isascii() or not first11.isdigit():
        raise ValueError("a My Number body must be exactly 11 ASCII digits")
    remainder = sum(int(d) * w for d, w in zip(first11, _MY_NUMBER_WEIGHTS, strict=True)) % 11
    return 0 if remainder <= 1 else 11 - remainder


def is_valid_my_number(value: str) -> bool:
    """True when ``value`` is 12 ASCII digits whose last digit is the correct check digit."""
    if len(value) != 12 or not value.isascii() or not value.isdigit():
        return False
    return my_number_check_digit(value[:11]) == int(value[11])


def random_my_number(rng: random.Random | None = None) -> str:
    """A random 個人番号 with a valid check digit (pass a seeded ``rng`` for reproducible data)."""
    pick = rng.randrange if rng is not None else secrets.randbelow
    body = f"{pick(10**11):011d}"
    return body + str(my_number_check_digit(body))


def municipality_check_digit(first5: str) -> int:
    """Check digit of a 団体コード's first 5 digits. Raises ValueError unless 5 ASCII digits."""
    if len(first5) != 5 or not first5.isascii() or not first5.isdigit():
        raise ValueError("a municipality code body must be exactly 5 ASCII digits")
    remainder = sum(int(d) * w for d, w in zip(first5, _MUNICIPALITY_WEIGHTS, strict=True)) % 11
    return (11 - remainder) % 10


def is_valid_municipality_code(value: str) -> bool:
    """True when ``value`` is 6 ASCII digits with a correct check digit and a real prefecture (01–47)."""
    if len(value) != 6 or not value.isascii() or not value.isdigit():
        return False
    if not 1 <= int(value[:2]) <= len(PREFECTURES):
        return False
    return municipality_check_digit(value[:5]) == int(value[5])


def split_prefecture(address: str) -> tuple[str, str]:
    """Split an address into (prefecture, rest). Raises ValueError if it does not start with one."""
    for name, _romaji in PREFECTURES:
        if address.startswith(name):
            return name, address[len(name) :]
    raise ValueError(f"address must start with a prefecture (都道府県), got {address[:10]!r}…")


def city_of(address: str) -> str:
    """The municipality part of an address: up to the first 市/区/町/村 (a 政令市 keeps its 区).

    Raises ValueError when the address has no prefecture or no municipality.
    """
    _pref, rest = split_prefecture(address)
    match = re.match(r"^(.+?市.+?区|.+?郡.+?[町村]|.+?[市区町村])", rest)
    if not match:
        raise ValueError(f"cannot find the municipality (市区町村) in {address!r}")
    return match.group(1)


@dataclass(frozen=True)
class Holder:
    """A resident as a card is personalised for them. Call :meth:`validate` before trusting it."""

    family_name: str  # 氏 (kanji)
    given_name: str  # 名
    family_kana: str  # フリガナ, katakana
    given_kana: str
    address: str  # from the prefecture, no postcode; block numbers may be full-width
    birth_date: date
    sex: Sex
    my_number: str  # 12 digits incl. check digit
    municipality_code: str  # 団体コード, 6 digits incl. check digit
    foreign_national: bool = False
    city_romaji: str = field(default="")  # the sign certificate's L=<city>; derived when empty

    @property
    def name(self) -> str:
        """氏名 as the card writes it: family U+3000 given."""
        return f"{self.family_name}{IDEOGRAPHIC_SPACE}{self.given_name}"

    @property
    def kana(self) -> str:
        """フリガナ, family U+3000 given."""
        return f"{self.family_kana}{IDEOGRAPHIC_SPACE}{self.given_kana}"

    @property
    def prefecture(self) -> str:
        """都道府県 from the address. Raises ValueError if the address has none."""
        return split_prefecture(self.address)[0]

    @property
    def city(self) -> str:
        """市区町村 from the address. Raises ValueError if it cannot be found."""
        return city_of(self.address)

    @property
    def prefecture_romaji(self) -> str:
        """Romanised prefecture from the municipality code ("Kanagawa-ken"). Raises ValueError if bad."""
        index = int(self.municipality_code[:2]) - 1
        if not 0 <= index < len(PREFECTURES):
            raise ValueError(f"municipality code {self.municipality_code!r} names no prefecture")
        return PREFECTURES[index][1]

    @property
    def locality(self) -> tuple[str, str]:
        """(prefecture, city) for the sign certificate's two L= RDNs, romanised where known."""
        city = self.city_romaji or municipality_romaji(self.municipality_code) or self.city
        return self.prefecture_romaji, city

    @property
    def holder_id(self) -> str:
        """A stable opaque id for this resident (card meta ``holder_id``); not the My Number itself."""
        digest = hashlib.sha256(b"myna-kiosk-holder/1\x00" + self.my_number.encode("ascii")).hexdigest()
        return digest[:16].upper()

    def age_on(self, day: date) -> int:
        """Completed years on ``day`` (a birthday counts on the day itself)."""
        years = day.year - self.birth_date.year
        return years - ((day.month, day.day) < (self.birth_date.month, self.birth_date.day))

    def validate(self, *, today: date | None = None) -> Holder:
        """Check every field; returns self. Raises ValueError naming the first bad field."""
        today = today or date.today()
        for label, value in (("family_name", self.family_name), ("given_name", self.given_name)):
            if not value or any(ch.isspace() for ch in value):
                raise ValueError(f"{label} must be non-empty without spaces, got {value!r}")
        for label, value in (("family_kana", self.family_kana), ("given_kana", self.given_kana)):
            if not _KATAKANA.match(value):
                raise ValueError(f"{label} must be full-width katakana, got {value!r}")
        self._validate_address()
        if not isinstance(self.birth_date, date):
            raise ValueError("birth_date must be a datetime.date")
        era_of(self.birth_date)
        if self.birth_date > today:
            raise ValueError(f"birth_date {self.birth_date.isoformat()} is in the future")
        if not isinstance(self.sex, Sex):
            raise ValueError(f"sex must be 1 (male), 2 (female) or 9 (not applicable), got {self.sex!r}")
        if not is_valid_my_number(self.my_number):
            raise ValueError("my_number must be 12 digits with a valid check digit")
        if not is_valid_municipality_code(self.municipality_code):
            raise ValueError(
                f"municipality_code must be 6 digits with a valid check digit, got {self.municipality_code!r}"
            )
        if self.prefecture_romaji != dict(PREFECTURES)[self.prefecture]:
            raise ValueError(
                f"municipality_code {self.municipality_code} is not in {self.prefecture} (address)"
            )
        return self

    def _validate_address(self) -> None:
        if not self.address or len(self.address) > _MAX_ADDRESS_CHARS:
            raise ValueError(f"address must be 1–{_MAX_ADDRESS_CHARS} characters")
        if any(ch.isspace() and ch != IDEOGRAPHIC_SPACE for ch in self.address):
            raise ValueError("address must not contain ASCII whitespace")
        city_of(self.address)


def demo_holder() -> Holder:
    """A complete, valid demo resident of 横浜市中区 (fictitious person, widely used example number)."""
    return Holder(
        family_name="山田",
        given_name="太郎",
        family_kana="ヤマダ",
        given_kana="タロウ",
        address="神奈川県横浜市中区山下町１２３－４",
        birth_date=date(1985, 4, 1),
        sex=Sex.MALE,
        my_number="123456789018",
        municipality_code="141038",
    )
