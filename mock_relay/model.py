"""Value types of the mock issuance center's data and rules (no I/O).

Stable contract for ``app.py`` (server) and the kiosk-client tests:

- ``CertType`` / ``Route`` / ``ResidentStatus`` / ``SealStatus``: string enums (their values go on the wire).
- ``Municipality`` (with its ``Offering`` list), ``Resident`` (with ``KosekiEntry``, ``ForeignStatus``,
  ``Seal``, ``TaxRecord``): the registry's records.
- ``Menu`` / ``MenuEntry`` / ``OptionSpec``: what ``rules.open_menu`` answers. An entry that exists but cannot
  be ordered now carries ``available=False`` and the refusal code in ``unavailable_code``.
- ``OrderItem`` (type, options, copies) → ``PricedItem`` from ``rules.price_order``.
- ``Refusal(code, detail_ja, detail_en, retryable)``: every rule violation; ``code`` is in ``REFUSAL_CODES``.

Option keys (values JSON-compatible; ``OrderItem.parse`` turns JSON lists into tuples):
``scope`` ("all" | "selected"), ``members`` (resident ids), ``setainushi`` / ``honseki`` / ``my_number`` /
``foreign_items`` (bool), ``year`` (int, 年度 for tax certificates).
All datetimes are timezone-aware; rules work in JST (``JST``). Check digits:
``mock_relay.registry.checkdigits``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from enum import StrEnum
from types import MappingProxyType

JST = timezone(timedelta(hours=9), "JST")

OptionValue = bool | int | str | tuple[str, ...]


class CertType(StrEnum):
    """Certificate types of the real service (docs/service.md §3)."""

    JUMINHYO = "juminhyo"  # 住民票の写し
    JUMINHYO_KISAI = "juminhyo_kisai"  # 住民票記載事項証明書
    INKAN = "inkan"  # 印鑑登録証明書
    KOSEKI_ZENBU = "koseki_zenbu"  # 戸籍全部事項証明書
    KOSEKI_KOJIN = "koseki_kojin"  # 戸籍個人事項証明書
    FUHYO = "fuhyo"  # 戸籍の附票の写し
    SHOTOKU_KAZEI = "shotoku_kazei"  # 所得課税証明書
    KAZEI = "kazei"  # 課税(非課税)証明書
    NOZEI = "nozei"  # 納税証明書

    @property
    def label_ja(self) -> str:
        """Japanese name as printed on the kiosk and the document title."""
        return _LABELS_JA[self]

    @property
    def label_en(self) -> str:
        """English name for the kiosk's other languages."""
        return _LABELS_EN[self]

    @property
    def is_koseki(self) -> bool:
        """True for the types kept by the 本籍地 (戸籍 and 附票)."""
        return self in KOSEKI_TYPES

    @property
    def is_tax(self) -> bool:
        """True for tax certificates (cardholder only, per 年度)."""
        return self in TAX_TYPES


_LABELS_JA: Mapping[CertType, str] = {
    CertType.JUMINHYO: "住民票の写し",
    CertType.JUMINHYO_KISAI: "住民票記載事項証明書",
    CertType.INKAN: "印鑑登録証明書",
    CertType.KOSEKI_ZENBU: "戸籍全部事項証明書",
    CertType.KOSEKI_KOJIN: "戸籍個人事項証明書",
    CertType.FUHYO: "戸籍の附票の写し",
    CertType.SHOTOKU_KAZEI: "所得課税証明書",
    CertType.KAZEI: "課税(非課税)証明書",
    CertType.NOZEI: "納税証明書",
}
_LABELS_EN: Mapping[CertType, str] = {
    CertType.JUMINHYO: "Certificate of residence",
    CertType.JUMINHYO_KISAI: "Certificate of resident-record items",
    CertType.INKAN: "Seal registration certificate",
    CertType.KOSEKI_ZENBU: "Family register (all entries)",
    CertType.KOSEKI_KOJIN: "Family register (individual entry)",
    CertType.FUHYO: "Family register annex (address history)",
    CertType.SHOTOKU_KAZEI: "Income and tax certificate",
    CertType.KAZEI: "Taxation (non-taxation) certificate",
    CertType.NOZEI: "Tax payment certificate",
}
KOSEKI_TYPES = frozenset({CertType.KOSEKI_ZENBU, CertType.KOSEKI_KOJIN, CertType.FUHYO})
TAX_TYPES = frozenset({CertType.SHOTOKU_KAZEI, CertType.KAZEI, CertType.NOZEI})
JUMINHYO_TYPES = frozenset({CertType.JUMINHYO, CertType.JUMINHYO_KISAI})


class Route(StrEnum):
    """Which municipality's certificates: 住所地 (residence) or 本籍地 (needs 利用登録)."""

    RESIDENCE = "residence"
    HONSEKI = "honseki"
    #: 本籍地 利用登録: the resident registers to get their 本籍地's 戸籍 at kiosks (no certificates)
    HONSEKI_REGISTRATION = "honseki_registration"


class ResidentStatus(StrEnum):
    """Record status; moved_out with a future ``status_date`` means 転出届 filed, not yet moved."""

    ACTIVE = "active"
    MOVED_OUT = "moved_out"
    DECEASED = "deceased"


class SealStatus(StrEnum):
    """印鑑登録 state."""

    NONE = "none"
    REGISTERED = "registered"
    ABOLISHED = "abolished"  # 廃止 (廃印): must never be certified (docs/service.md §8 incident 5)


@dataclass(frozen=True)
class ServiceHours:
    """Daily window [start, end) in JST; ``weekdays_only`` excludes Saturday and Sunday."""

    start: time
    end: time
    weekdays_only: bool = False


GENERAL_HOURS = ServiceHours(time(6, 30), time(23, 0))
# 12/29–1/3 inclusive: (month, day) pairs.
YEAR_END_CLOSURE: frozenset[tuple[int, int]] = frozenset(
    {(12, 29), (12, 30), (12, 31), (1, 1), (1, 2), (1, 3)}
)


@dataclass(frozen=True)
class Offering:
    """One certificate type a municipality offers at the kiosk, with its kiosk fee."""

    type: CertType
    fee_yen: int
    max_copies: int = 10


@dataclass(frozen=True)
class Municipality:
    """A participating municipality (団体コード = 6 digits incl. check digit)."""

    code: str
    name: str  # e.g. "千代田区", "横浜市中区"
    prefecture: str
    mayor_title: str  # e.g. "千代田区長" (printed in the 認証文)
    mayor_name: str  # synthetic
    offerings: tuple[Offering, ...]
    koseki_hours: ServiceHours = GENERAL_HOURS
    my_number_printing: bool = False
    maintenance_days: tuple[date, ...] = ()
    tax_years: int = 1  # how many 年度 are offered (latest first)
    tax_switch: tuple[int, int] = (6, 1)  # (month, day) from which the new 年度 is issued
    refuse_same_day_reissue: bool = True  # same type already issued today → issued_today
    honseki_service: bool = True  # accepts 本籍地 requests from residents of other municipalities
    #: days from a 利用登録 filed at a kiosk until the 戸籍 can be issued there (a municipal setting; one
    #: source says 1–3 business days, docs/service.md §3)
    honseki_registration_days: int = 1

    @property
    def full_name(self) -> str:
        """Prefecture + name, e.g. "東京都千代田区"."""
        return f"{self.prefecture}{self.name}"

    def offering(self, cert_type: CertType) -> Offering | None:
        """The offering for ``cert_type`` or None."""
        return next((o for o in self.offerings if o.type == cert_type), None)


@dataclass(frozen=True)
class KosekiEntry:
    """A person's 戸籍: where (本籍), whose (筆頭者), and their own line in it."""

    koseki_id: str  # same id = same 戸籍
    municipality_code: str  # 本籍地 団体コード (may be a non-participating municipality)
    honseki: str  # 本籍 address
    hittosha: str  # 筆頭者 full name
    father: str
    mother: str
    parent_relation: str  # 父母との続柄: 長男, 長女, 二男 …
    spouse_role: str | None = None  # 夫 / 妻 / None
    registration_date: date | None = None  # 利用登録 done (usable from this date); None = not registered


@dataclass(frozen=True)
class ForeignStatus:
    """Foreign residents' own 住民票 items."""

    nationality: str  # 国籍・地域
    card_number: str  # 在留カード等の番号
    status: str  # 在留資格
    period: str  # 在留期間 e.g. "5年"
    period_end: date  # 在留期間の満了の日


@dataclass(frozen=True)
class Seal:
    """印鑑登録 record."""

    status: SealStatus = SealStatus.NONE
    number: str | None = None  # 登録番号
    registered_on: date | None = None
    impression: str | None = None  # characters engraved (drawn as the 印影)


@dataclass(frozen=True)
class TaxRecord:
    """One 年度 of resident tax (income is of the previous calendar year)."""

    fiscal_year: int  # 年度
    income_yen: int  # 総所得金額等
    taxable: bool
    tax_yen: int  # 住民税 年税額
    paid_yen: int  # 納付済額


@dataclass(frozen=True)
class Resident:
    """A person in the synthetic resident register."""

    id: str
    municipality_code: str
    household_id: str
    family_name: str
    given_name: str
    family_kana: str
    given_kana: str
    birth: date
    sex: str  # "男" / "女"
    address: str
    relationship: str  # 続柄 to the 世帯主 ("本人" for the head)
    moved_in: date  # 住民となった年月日
    previous_address: str
    my_number: str  # 12 digits, valid check digit
    status: ResidentStatus = ResidentStatus.ACTIVE
    status_date: date | None = None
    support_measure: bool = False  # DV/stalking 支援措置
    seal: Seal = field(default_factory=Seal)
    koseki: KosekiEntry | None = None  # None for foreign residents
    foreign: ForeignStatus | None = None
    tax: tuple[TaxRecord, ...] = ()
    last_issued: Mapping[CertType, datetime] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def full_name(self) -> str:
        """Name as printed (family + full-width space + given; foreigners as registered)."""
        return f"{self.family_name}\u3000{self.given_name}"

    @property
    def full_kana(self) -> str:
        """ふりがな."""
        return f"{self.family_kana}\u3000{self.given_kana}"

    @property
    def is_head(self) -> bool:
        """True for the 世帯主."""
        return self.relationship == "本人"

    def tax_for(self, fiscal_year: int) -> TaxRecord | None:
        """The tax record for ``fiscal_year`` or None."""
        return next((t for t in self.tax if t.fiscal_year == fiscal_year), None)

    def age_on(self, day: date) -> int:
        """Age in full years on ``day`` (birthday counted on the day itself)."""
        years = day.year - self.birth.year
        return years - 1 if (day.month, day.day) < (self.birth.month, self.birth.day) else years


@dataclass(frozen=True)
class OptionSpec:
    """One choosable item on the options screen. ``kind``: bool | choice | members | year."""

    key: str
    label_ja: str
    label_en: str
    kind: str
    default: OptionValue
    choices: tuple[OptionValue, ...] = ()  # choice/year: allowed values; members: allowed resident ids


@dataclass(frozen=True)
class MenuEntry:
    """A certificate as offered to this resident now."""

    type: CertType
    label_ja: str
    label_en: str
    fee_yen: int
    max_copies: int
    options: tuple[OptionSpec, ...]
    hours: ServiceHours
    available: bool = True
    unavailable_code: str | None = None  # a REFUSAL_CODES value when not available
    unavailable_detail: str | None = None  # Japanese text for the screen


@dataclass(frozen=True)
class Menu:
    """What the kiosk may offer after authentication."""

    resident_id: str
    municipality_code: str  # whose certificates (the 本籍地 on the honseki route)
    municipality_name: str
    route: Route
    entries: tuple[MenuEntry, ...]
    opened_at: datetime

    def entry(self, cert_type: CertType) -> MenuEntry | None:
        """The entry for ``cert_type`` or None."""
        return next((e for e in self.entries if e.type == cert_type), None)


@dataclass(frozen=True)
class OrderItem:
    """What the resident chose: one type, its options, a number of copies."""

    type: CertType
    options: Mapping[str, OptionValue] = field(default_factory=lambda: MappingProxyType({}))
    copies: int = 1

    @classmethod
    def parse(cls, obj: object) -> OrderItem:
        """Build from JSON ``{"type": ..., "options": {...}, "copies": n}``.

        Raises:
            Refusal: ``invalid_item`` when the shape or a value type is wrong, ``type_not_offered`` for an
            unknown type.
        """
        if not isinstance(obj, Mapping):
            raise _bad_item("an item must be an object")
        raw_type, raw_options, copies = obj.get("type"), obj.get("options", {}), obj.get("copies", 1)
        if not isinstance(raw_type, str):
            raise _bad_item("type must be a string")
        try:
            cert_type = CertType(raw_type)
        except ValueError:
            raise Refusal(
                "type_not_offered",
                f"証明書の種類「{raw_type}」はありません",
                f"unknown certificate type {raw_type!r}",
            ) from None
        if not isinstance(copies, int) or isinstance(copies, bool):
            raise _bad_item("copies must be an integer")
        if not isinstance(raw_options, Mapping):
            raise _bad_item("options must be an object")
        options: dict[str, OptionValue] = {}
        for key, value in raw_options.items():
            options[str(key)] = _option_value(str(key), value)
        return cls(cert_type, MappingProxyType(options), copies)


@dataclass(frozen=True)
class PricedItem:
    """An accepted item: options normalised (defaults filled in), subjects resolved, fee computed."""

    item: OrderItem
    municipality_code: str  # issuing municipality
    label_ja: str
    unit_fee_yen: int
    amount_yen: int
    subject_ids: tuple[str, ...]  # residents printed on the document, register order


class Refusal(Exception):
    """A rule says no. ``code`` is stable (one of ``REFUSAL_CODES``); details are for people."""

    def __init__(self, code: str, detail_ja: str, detail_en: str, *, retryable: bool = False) -> None:
        super().__init__(f"{code}: {detail_en}")
        self.code = code
        self.detail_ja = detail_ja
        self.detail_en = detail_en
        self.retryable = retryable

    @property
    def detail(self) -> str:
        """Japanese and English detail on one line."""
        return f"{self.detail_ja} / {self.detail_en}"


REFUSAL_CODES = frozenset(
    {
        "out_of_hours",
        "year_end_closure",
        "maintenance",
        "koseki_out_of_hours",
        "under_15",
        "moved_out",
        "deceased",
        "support_measure",
        "moved_in_today",
        "unknown_resident",
        "card_not_bound",
        "form_not_accepted",
        "issued_today",
        "household_move_out",
        "not_registered_honseki",
        "registration_pending",
        "honseki_already_registered",
        "honseki_same_as_residence",
        "honseki_not_participating",
        "no_koseki",
        "tax_cardholder_only",
        "tax_year_not_offered",
        "no_tax_record",
        "seal_not_registered",
        "seal_abolished",
        "seal_cardholder_only",
        "copies_exceeded",
        "invalid_copies",
        "too_many_items",
        "order_too_large",
        "empty_order",
        "type_not_offered",
        "option_not_allowed",
        "invalid_option",
        "invalid_item",
        "not_in_household",
        "not_in_koseki",
    }
)


def _bad_item(why: str) -> Refusal:
    return Refusal("invalid_item", f"申請内容が正しくありません（{why}）", f"malformed order item: {why}")


def _option_value(key: str, value: object) -> OptionValue:
    if isinstance(value, bool | int | str):
        return value
    if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        return tuple(str(v) for v in value)
    raise _bad_item(f"option {key!r} has an unsupported value")
