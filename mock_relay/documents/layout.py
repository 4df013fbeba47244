"""What each certificate says: title, header rows, per-person blocks and the 認証文 (no drawing here)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from mock_relay.documents.request import DocumentRequest
from mock_relay.model import CertType, Resident, ResidentStatus

_ERAS = (
    (date(2019, 5, 1), "令和"),
    (date(1989, 1, 8), "平成"),
    (date(1926, 12, 25), "昭和"),
    (date(1912, 7, 30), "大正"),
    (date(1868, 1, 25), "明治"),
)
CERTIFICATIONS: dict[CertType, str] = {
    CertType.JUMINHYO: "この写しは、住民票の原本と相違ないことを証明する。",
    CertType.JUMINHYO_KISAI: "上記の事項は、住民票に記載されている事項と相違ないことを証明する。",
    CertType.INKAN: "この写しは、登録されている印影と相違ないことを証明する。",
    CertType.KOSEKI_ZENBU: "これは、戸籍に記録されている事項の全部を証明した書面である。",
    CertType.KOSEKI_KOJIN: "これは、戸籍中の一部の者について記録されている事項の全部を証明した書面である。",
    CertType.FUHYO: "この写しは、戸籍の附票の原本と相違ないことを証明する。",
    CertType.SHOTOKU_KAZEI: "上記のとおり相違ないことを証明する。",
    CertType.KAZEI: "上記のとおり相違ないことを証明する。",
    CertType.NOZEI: "上記のとおり納付済であることを証明する。",
}


def wareki(day: date) -> str:
    """Japanese-era date, e.g. 令和8年11月29日 (元年 for year 1).

    Raises:
        ValueError: ``day`` is before the Meiji era.
    """
    for start, name in _ERAS:
        if day >= start:
            year = day.year - start.year + 1
            return f"{name}{'元' if year == 1 else year}年{day.month}月{day.day}日"
    raise ValueError(f"{day} is before 明治")


def era_year(year: int) -> str:
    """Japanese-era year of 1 July ``year``, e.g. 令和8年."""
    text = wareki(date(year, 7, 1))
    return text[: text.index("年") + 1]


def yen(amount: int) -> str:
    """Amount as printed, e.g. 1,234,000円."""
    return f"{amount:,}円"


@dataclass(frozen=True)
class Row:
    """One label/value line."""

    label: str
    value: str


@dataclass(frozen=True)
class Block:
    """A group kept on one page (one person, one tax year …)."""

    heading: str | None
    rows: tuple[Row, ...]
    seal_text: str | None = None  # a personal seal impression drawn beside the rows


@dataclass(frozen=True)
class Content:
    """Everything a document says, before layout."""

    title: str
    header: tuple[Row, ...]
    blocks: tuple[Block, ...]
    certification: str  # 認証文 above the date and the mayor's name


def _my_number(value: str) -> str:
    return f"{value[:4]} {value[4:8]} {value[8:]}"


def _person_rows(req: DocumentRequest, r: Resident) -> list[Row]:
    opts = req.options
    rows = [
        Row("氏名", r.full_name),
        Row("ふりがな", r.full_kana),
        Row("生年月日", wareki(r.birth)),
        Row("性別", r.sex),
    ]
    if opts.get("setainushi"):
        rows.append(Row("続柄", r.relationship))
    label = "外国人住民となった年月日" if r.foreign else "住民となった年月日"
    rows.append(Row(label, wareki(r.moved_in)))
    if r.previous_address:
        rows.append(Row("前住所", r.previous_address))
    if opts.get("honseki") and r.koseki is not None:
        rows += [Row("本籍", r.koseki.honseki), Row("筆頭者", r.koseki.hittosha)]
    if opts.get("my_number"):
        rows.append(Row("個人番号", _my_number(r.my_number)))
    if opts.get("foreign_items") and r.foreign is not None:
        f = r.foreign
        rows += [
            Row("国籍・地域", f.nationality),
            Row("在留資格", f.status),
            Row("在留期間", f.period),
            Row("在留期間の満了の日", wareki(f.period_end)),
            Row("在留カード等の番号", f.card_number),
        ]
    return rows


def _juminhyo(req: DocumentRequest) -> Content:
    header = [Row("住所", req.applicant.address)]
    if req.options.get("setainushi") and req.household_head is not None:
        header.append(Row("世帯主", req.household_head.full_name))
    blocks = tuple(Block(f"（{i}）", tuple(_person_rows(req, r))) for i, r in enumerate(req.subjects, 1))
    return Content(req.cert_type.label_ja, tuple(header), blocks, CERTIFICATIONS[req.cert_type])


def _inkan(req: DocumentRequest) -> Content:
    r = req.applicant
    rows = (
        Row("登録番号", r.seal.number or ""),
        Row("氏名", r.full_name),
        Row("ふりがな", r.full_kana),
        Row("生年月日", wareki(r.birth)),
        Row("性別", r.sex),
        Row("住所", r.address),
    )
    block = Block("印影", rows, seal_text=r.seal.impression or r.family_name)
    return Content(req.cert_type.label_ja, (), (block,), CERTIFICATIONS[CertType.INKAN])


# 戸籍 computerisation (平成改製) dates, synthetic per municipality.
_KAISEI = {
    "131016": date(2003, 2, 22),
    "141011": date(2005, 10, 8),
    "011011": date(2002, 6, 15),
    "271276": date(2004, 3, 6),
}


def _fuhyo_person(s: Resident) -> Block:
    rows = (
        Row("氏名", s.full_name),
        Row("生年月日", wareki(s.birth)),
        Row("住所", s.address),
        Row("住所を定めた年月日", wareki(s.moved_in)),
    )
    return Block("附票に記録されている者", rows)


def _koseki_person(r: Resident) -> Block:
    k = r.koseki
    assert k is not None
    rows = [Row("【名】", r.given_name), Row("【生年月日】", wareki(r.birth))]
    if k.spouse_role:
        rows.append(Row("【配偶者区分】", k.spouse_role))
    rows += [
        Row("【父】", k.father),
        Row("【母】", k.mother),
        Row("【続柄】", k.parent_relation),
        Row("身分事項　出生", f"【出生日】{wareki(r.birth)}"),
    ]
    if r.status is ResidentStatus.DECEASED and r.status_date is not None:
        rows.append(Row("死亡", f"【死亡日】{wareki(r.status_date)}（除籍）"))
    return Block("戸籍に記録されている者", tuple(rows))


def _koseki(req: DocumentRequest) -> Content:
    k = req.applicant.koseki
    if k is None:
        raise ValueError("the applicant has no 戸籍")
    header = (Row("本籍", k.honseki), Row("氏名", k.hittosha))
    reason = "平成6年法務省令第51号附則第2条第1項による改製"
    converted = Row("戸籍改製", f"【改製日】{wareki(_KAISEI.get(k.municipality_code, date(2004, 3, 6)))}")
    blocks = [Block("戸籍事項", (converted, Row("", f"【改製事由】{reason}")))]
    if req.cert_type is CertType.FUHYO:
        blocks = [_fuhyo_person(s) for s in req.subjects]
        return Content(req.cert_type.label_ja, header, tuple(blocks), CERTIFICATIONS[CertType.FUHYO])
    blocks += [_koseki_person(s) for s in req.subjects]
    return Content(req.cert_type.label_ja, header, tuple(blocks), CERTIFICATIONS[req.cert_type])


def _tax(req: DocumentRequest) -> Content:
    r, year = req.applicant, req.tax_year
    record = r.tax_for(year) if year is not None else None
    if record is None or year is None:
        raise ValueError("no tax record for the requested year")
    header = (Row("住所", r.address), Row("氏名", r.full_name), Row("生年月日", wareki(r.birth)))
    heading = f"{era_year(year)}度（{era_year(year - 1)}分所得）"
    rows: tuple[Row, ...]
    if req.cert_type is CertType.NOZEI:
        rows = (
            Row("税目", "個人住民税（普通徴収）"),
            Row("年税額", yen(record.tax_yen)),
            Row("納付済額", yen(record.paid_yen)),
            Row("未納額", yen(record.tax_yen - record.paid_yen)),
        )
    else:
        rows = (
            Row("総所得金額等", yen(record.income_yen)),
            Row("課税区分", "課税" if record.taxable else "非課税"),
            Row("市町村民税・道府県民税 年税額", yen(record.tax_yen)),
        )
    return Content(req.cert_type.label_ja, header, (Block(heading, rows),), CERTIFICATIONS[req.cert_type])


_BUILDERS: dict[CertType, Callable[[DocumentRequest], Content]] = {
    CertType.JUMINHYO: _juminhyo,
    CertType.JUMINHYO_KISAI: _juminhyo,
    CertType.INKAN: _inkan,
    CertType.KOSEKI_ZENBU: _koseki,
    CertType.KOSEKI_KOJIN: _koseki,
    CertType.FUHYO: _koseki,
    CertType.SHOTOKU_KAZEI: _tax,
    CertType.KAZEI: _tax,
    CertType.NOZEI: _tax,
}


def build_content(req: DocumentRequest) -> Content:
    """The content of ``req``'s certificate.

    Raises:
        ValueError: the request lacks what this type needs (no subjects, no 戸籍, no tax record).
    """
    if not req.subjects:
        raise ValueError("a document needs at least one subject")
    return _BUILDERS[req.cert_type](req)
