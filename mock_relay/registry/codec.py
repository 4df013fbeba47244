"""JSON/row codecs for the registry's records, and the listing notes (internal to ``registry``)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from datetime import date, datetime, time
from typing import Any

from mock_relay.model import (
    CertType,
    ForeignStatus,
    KosekiEntry,
    Municipality,
    Offering,
    Resident,
    ResidentStatus,
    Seal,
    SealStatus,
    ServiceHours,
    TaxRecord,
)


def iso(value: date | None) -> str | None:
    """ISO text of a date, or None."""
    return value.isoformat() if value is not None else None


def _date(value: Any) -> date | None:
    return date.fromisoformat(value) if value else None


def dump_municipality(m: Municipality) -> str:
    """JSON text of a municipality."""
    hours = m.koseki_hours
    return json.dumps(
        {
            "code": m.code,
            "name": m.name,
            "prefecture": m.prefecture,
            "mayor_title": m.mayor_title,
            "mayor_name": m.mayor_name,
            "offerings": [[o.type.value, o.fee_yen, o.max_copies] for o in m.offerings],
            "koseki_hours": [hours.start.isoformat(), hours.end.isoformat(), hours.weekdays_only],
            "my_number_printing": m.my_number_printing,
            "maintenance_days": [d.isoformat() for d in m.maintenance_days],
            "tax_years": m.tax_years,
            "tax_switch": list(m.tax_switch),
            "refuse_same_day_reissue": m.refuse_same_day_reissue,
            "honseki_service": m.honseki_service,
            "honseki_registration_days": m.honseki_registration_days,
        },
        ensure_ascii=False,
    )


def load_municipality(text: str) -> Municipality:
    """Municipality from ``dump_municipality`` text."""
    d = json.loads(text)
    start, end, weekdays_only = d["koseki_hours"]
    return Municipality(
        code=d["code"],
        name=d["name"],
        prefecture=d["prefecture"],
        mayor_title=d["mayor_title"],
        mayor_name=d["mayor_name"],
        offerings=tuple(Offering(CertType(t), fee, mx) for t, fee, mx in d["offerings"]),
        koseki_hours=ServiceHours(time.fromisoformat(start), time.fromisoformat(end), bool(weekdays_only)),
        my_number_printing=bool(d["my_number_printing"]),
        maintenance_days=tuple(date.fromisoformat(x) for x in d["maintenance_days"]),
        tax_years=int(d["tax_years"]),
        tax_switch=(int(d["tax_switch"][0]), int(d["tax_switch"][1])),
        refuse_same_day_reissue=bool(d["refuse_same_day_reissue"]),
        honseki_service=bool(d["honseki_service"]),
        honseki_registration_days=int(d.get("honseki_registration_days", 1)),
    )


def dump_resident(r: Resident) -> str:
    """JSON text of a resident's register items (seal, tax and issues live in their own tables)."""
    k, f = r.koseki, r.foreign
    return json.dumps(
        {
            "id": r.id,
            "municipality_code": r.municipality_code,
            "household_id": r.household_id,
            "family_name": r.family_name,
            "given_name": r.given_name,
            "family_kana": r.family_kana,
            "given_kana": r.given_kana,
            "birth": r.birth.isoformat(),
            "sex": r.sex,
            "address": r.address,
            "relationship": r.relationship,
            "moved_in": r.moved_in.isoformat(),
            "previous_address": r.previous_address,
            "my_number": r.my_number,
            "status": r.status.value,
            "status_date": iso(r.status_date),
            "support_measure": r.support_measure,
            "koseki": None
            if k is None
            else {
                "koseki_id": k.koseki_id,
                "municipality_code": k.municipality_code,
                "honseki": k.honseki,
                "hittosha": k.hittosha,
                "father": k.father,
                "mother": k.mother,
                "parent_relation": k.parent_relation,
                "spouse_role": k.spouse_role,
                "registration_date": iso(k.registration_date),
            },
            "foreign": None
            if f is None
            else {
                "nationality": f.nationality,
                "card_number": f.card_number,
                "status": f.status,
                "period": f.period,
                "period_end": f.period_end.isoformat(),
            },
        },
        ensure_ascii=False,
    )


def load_resident(
    text: str, *, seal: Seal | None, tax: tuple[TaxRecord, ...], last_issued: Mapping[CertType, datetime]
) -> Resident:
    """Resident from ``dump_resident`` text plus the rows of the other tables."""
    d = json.loads(text)
    k, f = d["koseki"], d["foreign"]
    koseki = None
    if k is not None:
        koseki = KosekiEntry(**{**k, "registration_date": _date(k["registration_date"])})
    foreign = None
    if f is not None:
        foreign = ForeignStatus(**{**f, "period_end": date.fromisoformat(f["period_end"])})
    return Resident(
        id=d["id"],
        municipality_code=d["municipality_code"],
        household_id=d["household_id"],
        family_name=d["family_name"],
        given_name=d["given_name"],
        family_kana=d["family_kana"],
        given_kana=d["given_kana"],
        birth=date.fromisoformat(d["birth"]),
        sex=d["sex"],
        address=d["address"],
        relationship=d["relationship"],
        moved_in=date.fromisoformat(d["moved_in"]),
        previous_address=d["previous_address"],
        my_number=d["my_number"],
        status=ResidentStatus(d["status"]),
        status_date=_date(d["status_date"]),
        support_measure=bool(d["support_measure"]),
        seal=seal or Seal(),
        koseki=koseki,
        foreign=foreign,
        tax=tax,
        last_issued=last_issued,
    )


def load_seal(row: sqlite3.Row) -> Seal:
    """Seal from a ``seals`` row."""
    return Seal(SealStatus(row["status"]), row["number"], _date(row["registered_on"]), row["impression"])


def load_tax(row: sqlite3.Row) -> TaxRecord:
    """TaxRecord from a ``tax_records`` row."""
    return TaxRecord(
        int(row["fiscal_year"]),
        int(row["income_yen"]),
        bool(row["taxable"]),
        int(row["tax_yen"]),
        int(row["paid_yen"]),
    )


def notes_for(r: Resident, today: date, honseki_elsewhere: str | None) -> list[str]:
    """Listing notes: which rule cases this resident exercises on ``today``."""
    notes: list[str] = []
    if r.age_on(today) < 15:
        notes.append("under 15")
    if r.status is ResidentStatus.MOVED_OUT:
        when = r.status_date.isoformat() if r.status_date else "?"
        pending = r.status_date is not None and r.status_date > today
        notes.append(f"move-out filed {when}" if pending else f"moved out {when}")
    if r.status is ResidentStatus.DECEASED:
        notes.append(f"deceased {iso(r.status_date)}")
    if r.support_measure:
        notes.append("支援措置")
    if r.foreign is not None:
        notes.append(f"foreign resident ({r.foreign.nationality})")
    if r.seal.status is SealStatus.REGISTERED:
        notes.append("seal registered")
    elif r.seal.status is SealStatus.ABOLISHED:
        notes.append("seal abolished")
    if honseki_elsewhere is not None and r.koseki is not None:
        reg = r.koseki.registration_date
        state = "利用登録 none" if reg is None else ("利用登録 pending" if reg > today else "利用登録 done")
        notes.append(f"本籍 {honseki_elsewhere}, {state}")
    if any(last.date() == today for last in r.last_issued.values()):
        notes.append(
            "issued today: "
            + ", ".join(sorted(t.value for t, v in r.last_issued.items() if v.date() == today))
        )
    return notes
