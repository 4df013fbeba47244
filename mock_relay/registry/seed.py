"""Builds the synthetic data set (``seed_data``) as model objects; ``Registry`` loads it, idempotently.

Public API:
    SEED_VERSION: str
    municipalities() -> tuple[Municipality, ...]
    residents() -> tuple[Resident, ...]
    ISSUED_TODAY: the (resident, type) pairs the register marks as issued today
Pure data: ``mock_relay.registry.store.Registry`` loads it (this module never sees the database).
"""

from __future__ import annotations

import hashlib
from datetime import date

from mock_relay.model import (
    ForeignStatus,
    KosekiEntry,
    Municipality,
    Resident,
    ResidentStatus,
    Seal,
    SealStatus,
    TaxRecord,
)
from mock_relay.registry import seed_data as data
from mock_relay.registry.checkdigits import my_number_check_digit
from mock_relay.registry.seed_data import ISSUED_TODAY as ISSUED_TODAY

SEED_VERSION = "2026-11-29.1"
TAX_YEARS = range(2022, 2029)  # 年度 with records for residents with an income


def municipalities() -> tuple[Municipality, ...]:
    """The seeded municipalities."""
    return data.MUNICIPALITIES


def synthetic_my_number(resident_id: str) -> str:
    """A deterministic 12-digit 個人番号 with a valid check digit (synthetic, derived from the id)."""
    digest = int.from_bytes(hashlib.sha256(resident_id.encode()).digest()[:8], "big")
    first11 = f"{digest % 10**11:011d}"
    return first11 + my_number_check_digit(first11)


def _tax_rows(income: int, moved_in: date) -> tuple[TaxRecord, ...]:
    rows = []
    for fy in TAX_YEARS:
        if moved_in > date(fy, 1, 1):  # taxed where one lived on 1 January of the 年度
            continue
        # the 年度 tax is on the previous year's income; a simple flat 10% above a 450,000 yen threshold
        taxable = income > 450_000
        tax = (income - 450_000) // 10 // 100 * 100 if taxable else 0
        rows.append(TaxRecord(fy, income, taxable, tax, tax))
    return tuple(rows)


def _seal(rid: str, state: object, family: str, since: date) -> Seal:
    if state is None:
        return Seal()
    number = f"{int(hashlib.sha256(rid.encode()).hexdigest()[:8], 16) % 10**7:07d}"
    return Seal(SealStatus(str(state)), number, since, family)


def _koseki(kid: str | None, row: data.ResidentRow, reg: object) -> KosekiEntry | None:
    if kid is None:
        return None
    code, honseki, hittosha = data.KOSEKI[kid]
    registration = reg if isinstance(reg, date) else None
    return KosekiEntry(kid, code, honseki, hittosha, row[10], row[11], row[12], row[13], registration)


def _foreign(value: object) -> ForeignStatus | None:
    if not isinstance(value, tuple):
        return None
    nationality, card, status, period, end = value
    return ForeignStatus(str(nationality), str(card), str(status), str(period), end)


def _resident(row: data.ResidentRow) -> Resident:
    rid, hh, rel, fam, given, fkana, gkana, birth, sex, kid, *_rest = row
    income, extra = row[14], row[15]
    muni, address, previous, moved_in = data.HOUSEHOLDS[hh]
    moved_in = max(moved_in, birth)
    status_date = extra.get("status_date")
    return Resident(
        id=rid,
        municipality_code=muni,
        household_id=hh,
        family_name=fam,
        given_name=given,
        family_kana=fkana,
        given_kana=gkana,
        birth=birth,
        sex=sex,
        address=address,
        relationship=rel,
        moved_in=moved_in,
        previous_address=previous if moved_in > birth else "",
        my_number=synthetic_my_number(rid),
        status=ResidentStatus(str(extra.get("status", "active"))),
        status_date=status_date if isinstance(status_date, date) else None,
        support_measure=bool(extra.get("support", False)),
        seal=_seal(rid, extra.get("seal"), fam, max(moved_in, date(birth.year + 18, 4, 1))),
        koseki=_koseki(kid, row, extra.get("reg")),
        foreign=_foreign(extra.get("foreign")),
        tax=_tax_rows(income, moved_in) if income else (),
    )


def residents() -> tuple[Resident, ...]:
    """The seeded residents, register order."""
    return tuple(_resident(row) for row in data.RESIDENTS)
