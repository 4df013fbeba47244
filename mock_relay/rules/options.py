"""Per-type options of the menu and their validation (internal to ``rules``).

Option keys: ``scope`` ("all" | "selected") and ``members`` for 住民票 types; ``setainushi`` (世帯主・続柄),
``honseki`` (本籍・筆頭者, Japanese nationals only), ``my_number`` (where the municipality allows it),
``foreign_items`` (国籍・地域, 在留資格 …, when the household has a foreign resident); ``members`` for
戸籍個人事項証明書 and 附票 (people in the same 戸籍); ``year`` (年度) for tax certificates.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from types import MappingProxyType
from typing import TYPE_CHECKING

from mock_relay.model import (
    JUMINHYO_TYPES,
    CertType,
    MenuEntry,
    Municipality,
    OptionSpec,
    OptionValue,
    Resident,
    ResidentStatus,
)
from mock_relay.rules.calendar import tax_years_offered
from mock_relay.rules.text import refusal

if TYPE_CHECKING:
    from mock_relay.registry.store import Registry


def visible_household(registry: Registry, resident: Resident, day: date) -> tuple[Resident, ...]:
    """Household members shown on a 住民票 on ``day`` (消除者 left out), register order."""
    return tuple(m for m in registry.household(resident.household_id) if not _removed(m, day))


def _removed(r: Resident, day: date) -> bool:
    if r.status is ResidentStatus.DECEASED:
        return True
    return r.status is ResidentStatus.MOVED_OUT and (r.status_date is None or r.status_date <= day)


def koseki_members(registry: Registry, resident: Resident) -> tuple[Resident, ...]:
    """Everyone in the resident's 戸籍 (empty for foreign residents), register order."""
    return registry.koseki_members(resident.koseki.koseki_id) if resident.koseki else ()


def entry_options(
    registry: Registry, resident: Resident, issuer: Municipality, cert_type: CertType, t: datetime
) -> tuple[OptionSpec, ...]:
    """The options screen for ``cert_type`` for this resident."""
    if cert_type in JUMINHYO_TYPES:
        household = visible_household(registry, resident, t.date())
        specs = [
            OptionSpec(
                "scope",
                "世帯全員／一部",
                "whole household / chosen members",
                "choice",
                "all",
                ("all", "selected"),
            ),
            OptionSpec(
                "members",
                "記載する方",
                "members to print",
                "members",
                (resident.id,),
                tuple(m.id for m in household),
            ),
            OptionSpec("setainushi", "世帯主・続柄", "head of household and relationship", "bool", False),
        ]
        if resident.foreign is None:
            specs.append(OptionSpec("honseki", "本籍・筆頭者", "registered domicile", "bool", False))
        if issuer.my_number_printing:
            specs.append(OptionSpec("my_number", "個人番号", "My Number", "bool", False))
        if any(m.foreign is not None for m in household):
            label = "国籍・地域、在留資格等"
            specs.append(OptionSpec("foreign_items", label, "nationality, residence status", "bool", False))
        return tuple(specs)
    if cert_type in (CertType.KOSEKI_KOJIN, CertType.FUHYO):
        ids = tuple(m.id for m in koseki_members(registry, resident))
        return (OptionSpec("members", "証明が必要な方", "people to certify", "members", (resident.id,), ids),)
    if cert_type.is_tax:
        years = tuple(y for y in tax_years_offered(issuer, t) if resident.tax_for(y) is not None)
        return (OptionSpec("year", "年度", "fiscal year", "year", years[0] if years else 0, years),)
    return ()


def normalise_options(
    registry: Registry,
    resident: Resident,
    issuer: Municipality,
    entry: MenuEntry,
    raw: Mapping[str, OptionValue],
    t: datetime,
) -> tuple[Mapping[str, OptionValue], tuple[str, ...]]:
    """Validated options with defaults filled in, and the subject ids in register order.

    Raises:
        Refusal: ``option_not_allowed``, ``invalid_option``, ``tax_cardholder_only``,
        ``seal_cardholder_only``, ``tax_year_not_offered``, ``no_tax_record``, ``not_in_household``,
        ``not_in_koseki``.
    """
    specs = {s.key: s for s in entry.options}
    values: dict[str, OptionValue] = {s.key: s.default for s in entry.options}
    for key, value in raw.items():
        spec = specs.get(key)
        if spec is None:
            _reject_unknown(entry.type, resident, key, value)
            continue
        values[key] = _checked(entry.type, spec, value, issuer, t)
    subjects = _subjects(registry, resident, entry.type, values, t)
    if "members" in values:
        values["members"] = subjects
    return MappingProxyType(values), subjects


def _reject_unknown(cert_type: CertType, resident: Resident, key: str, value: OptionValue) -> None:
    if key == "members" and cert_type in (CertType.INKAN, *sorted(t for t in CertType if t.is_tax)):
        if value == (resident.id,) or value == resident.id:
            return  # naming oneself is harmless
        raise refusal("seal_cardholder_only" if cert_type is CertType.INKAN else "tax_cardholder_only")
    raise refusal("option_not_allowed", key=key)


def _checked(
    cert_type: CertType, spec: OptionSpec, value: OptionValue, issuer: Municipality, t: datetime
) -> OptionValue:
    if spec.kind == "bool":
        if not isinstance(value, bool):
            raise refusal("invalid_option", key=spec.key)
        return value
    if spec.kind == "choice":
        if isinstance(value, bool) or value not in spec.choices:
            raise refusal("invalid_option", key=spec.key)
        return value
    if spec.kind == "year":
        if not isinstance(value, int) or isinstance(value, bool):
            raise refusal("invalid_option", key=spec.key)
        if value in spec.choices:
            return value
        raise refusal("no_tax_record" if value in tax_years_offered(issuer, t) else "tax_year_not_offered")
    members = (value,) if isinstance(value, str) else value
    if not isinstance(members, tuple) or not members:
        raise refusal("invalid_option", key=spec.key)
    if any(m not in spec.choices for m in members):
        raise refusal("not_in_household" if cert_type in JUMINHYO_TYPES else "not_in_koseki")
    return members


def _subjects(
    registry: Registry,
    resident: Resident,
    cert_type: CertType,
    values: Mapping[str, OptionValue],
    t: datetime,
) -> tuple[str, ...]:
    if cert_type in JUMINHYO_TYPES:
        household = [m.id for m in visible_household(registry, resident, t.date())]
        if values.get("scope") == "all":
            return tuple(household)
        chosen = values.get("members", (resident.id,))
        return tuple(i for i in household if isinstance(chosen, tuple) and i in chosen)
    if cert_type is CertType.KOSEKI_ZENBU:
        return tuple(m.id for m in koseki_members(registry, resident))
    if cert_type in (CertType.KOSEKI_KOJIN, CertType.FUHYO):
        chosen = values.get("members", (resident.id,))
        members = koseki_members(registry, resident)
        return tuple(m.id for m in members if isinstance(chosen, tuple) and m.id in chosen)
    return (resident.id,)
