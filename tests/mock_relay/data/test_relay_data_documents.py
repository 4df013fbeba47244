"""Certificate PDFs through poppler: text per page, page count, embedded fonts, QR image, ground pattern."""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path

import pytest
from PIL import Image
from relay_data_helpers import MONDAY, price

from mock_relay.documents import art as documents_art
from mock_relay.documents.build import DocumentRequest, build_document_request, render_document
from mock_relay.documents.layout import wareki
from mock_relay.model import Route
from mock_relay.registry.store import Registry

VERIFY = "https://127.0.0.1:8443/v1/verify/K7QX-2M9D-PLRT"


def _run(*args: str) -> str:
    return subprocess.run(args, check=True, capture_output=True, text=True, timeout=30).stdout


def _request(
    reg: Registry,
    rid: str,
    item: Mapping[str, object],
    route: Route = Route.RESIDENCE,
    copy_index: int = 0,
    now: datetime = MONDAY,
) -> DocumentRequest:
    resident = reg.resident(rid)
    assert resident is not None
    priced = price(reg, rid, item, now, route)
    doc_id = f"D-{rid}-{item['type']}-{copy_index}"
    return build_document_request(reg, resident, priced, copy_index, doc_id, "K7QX-2M9D-PLRT", VERIFY, now)


def _write(tmp_path: Path, req: DocumentRequest) -> tuple[Path, int]:
    doc = render_document(req)
    assert doc.pdf.startswith(b"%PDF-")
    path = tmp_path / f"{req.document_id}.pdf"
    path.write_bytes(doc.pdf)
    return path, doc.page_count


def _page_text(path: Path, page: int) -> str:
    return _run("pdftotext", "-f", str(page), "-l", str(page), "-layout", str(path), "-")


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


CASES = [
    (
        "C-001",
        {"type": "juminhyo", "options": {"setainushi": True}},
        Route.RESIDENCE,
        "住民票の写し",
        "山田　太郎",
    ),
    ("S-001", {"type": "juminhyo"}, Route.RESIDENCE, "住民票の写し", "加藤　誠一"),
    (
        "Y-005",
        {"type": "juminhyo_kisai", "options": {"foreign_items": True}},
        Route.RESIDENCE,
        "住民票記載事項証明書",
        "WILLIAMS　EMILY ROSE",
    ),
    ("C-001", {"type": "inkan"}, Route.RESIDENCE, "印鑑登録証明書", "山田　太郎"),
    ("S-004", {"type": "koseki_zenbu"}, Route.RESIDENCE, "戸籍全部事項証明書", "加藤　健"),
    ("S-004", {"type": "koseki_kojin"}, Route.RESIDENCE, "戸籍個人事項証明書", "加藤　健"),
    ("C-005", {"type": "fuhyo"}, Route.HONSEKI, "戸籍の附票の写し", "佐藤　健一"),
    ("S-009", {"type": "kazei"}, Route.RESIDENCE, "課税(非課税)証明書", "斎藤　亮"),
    ("C-001", {"type": "shotoku_kazei"}, Route.RESIDENCE, "所得課税証明書", "山田　太郎"),
    ("C-001", {"type": "nozei"}, Route.RESIDENCE, "納税証明書", "山田　太郎"),
]


@pytest.mark.parametrize(("rid", "item", "route", "title", "name"), CASES)
def test_every_page_has_title_name_id_and_page_number(
    registry: Registry,
    tmp_path: Path,
    rid: str,
    item: Mapping[str, object],
    route: Route,
    title: str,
    name: str,
) -> None:
    req = _request(registry, rid, item, route)
    path, count = _write(tmp_path, req)
    info = _run("pdfinfo", str(path))
    assert re.search(rf"^Pages:\s+{count}$", info, re.M)
    assert "A4" in info
    for page in range(1, count + 1):
        text = _squash(_page_text(path, page))
        assert _squash(title) in text
        assert _squash(name) in text
        assert req.document_id in text
        assert f"{page}/{count}頁" in text
        assert "K7QX-2M9D-PLRT" in text
    last = _squash(_page_text(path, count))
    assert _squash(req.municipality.mayor_name) in last and _squash(req.municipality.mayor_title) in last
    assert wareki(MONDAY.date()) in last and "証明" in last


def test_fonts_are_embedded_subsets(registry: Registry, tmp_path: Path) -> None:
    path, _ = _write(tmp_path, _request(registry, "C-001", {"type": "juminhyo"}))
    rows = _run("pdffonts", str(path)).splitlines()[2:]
    assert rows, "no fonts listed"
    assert all(re.search(r"\byes\s+yes\s+yes\b", row) for row in rows), rows
    assert any("IPAex" in row for row in rows)


def test_large_household_spans_two_pages(registry: Registry, tmp_path: Path) -> None:
    req = _request(registry, "S-001", {"type": "juminhyo"})
    assert len(req.subjects) == 8
    path, count = _write(tmp_path, req)
    assert count >= 2
    names = [s.full_name for s in req.subjects]
    text = "".join(_squash(_page_text(path, p)) for p in range(1, count + 1))
    assert all(_squash(n) in text for n in names)
    assert "以下余白" in _squash(_page_text(path, count))


def test_options_change_what_is_printed(registry: Registry, tmp_path: Path) -> None:
    y001 = registry.resident("Y-001")
    assert y001 is not None
    plain, _ = _write(tmp_path, _request(registry, "Y-001", {"type": "juminhyo"}))
    full, _ = _write(
        tmp_path,
        _request(
            registry,
            "Y-001",
            {
                "type": "juminhyo",
                "copies": 2,
                "options": {"my_number": True, "honseki": True, "setainushi": True},
            },
            copy_index=1,
        ),
    )
    plain_text, full_text = (
        _squash(_run("pdftotext", str(plain), "-")),
        _squash(_run("pdftotext", str(full), "-")),
    )
    assert "個人番号" not in plain_text and y001.my_number[8:] not in plain_text
    assert "個人番号" in full_text and y001.my_number[8:] in full_text
    assert "本籍" in full_text and "本籍" not in plain_text.replace("記載対象", "")
    assert "世帯主" in full_text and "2通目／2通" in full_text


def test_foreign_items_printed(registry: Registry, tmp_path: Path) -> None:
    path, _ = _write(
        tmp_path, _request(registry, "Y-005", {"type": "juminhyo", "options": {"foreign_items": True}})
    )
    text = _squash(_run("pdftotext", str(path), "-"))
    assert all(
        s in text for s in ("国籍・地域", "英国", "在留資格", "AB12345678CD", "外国人住民となった年月日")
    )


def test_qr_image_on_every_page_encodes_the_verify_url(registry: Registry, tmp_path: Path) -> None:
    path, count = _write(tmp_path, _request(registry, "S-001", {"type": "juminhyo"}))
    listing = _run("pdfimages", "-list", str(path)).splitlines()[2:]
    matrix = documents_art.qr_matrix(VERIFY)
    side = (len(matrix) + 2 * documents_art.QR_QUIET) * documents_art.QR_MODULE_PX
    qr_pages = {int(cols[0]) for cols in (row.split() for row in listing) if cols[3] == cols[4] == str(side)}
    assert qr_pages == set(range(1, count + 1))
    _run("pdfimages", "-f", "1", "-l", "1", "-png", str(path), str(tmp_path / "img"))
    images = [Image.open(p) for p in sorted(tmp_path.glob("img-*.png"))]
    qr = next(i for i in images if i.size == (side, side)).convert("L")
    px, quiet = documents_art.QR_MODULE_PX, documents_art.QR_QUIET
    decoded = tuple(
        tuple(
            qr.getpixel(((c + quiet) * px + px // 2, (r + quiet) * px + px // 2)) == 0
            for c in range(len(matrix))
        )
        for r in range(len(matrix))
    )
    assert decoded == matrix
    # finder patterns in three corners: a dark 7x7 ring around a dark 3x3 centre
    for r0, c0 in ((0, 0), (0, len(matrix) - 7), (len(matrix) - 7, 0)):
        assert all(matrix[r0][c0 + i] and matrix[r0 + 6][c0 + i] for i in range(7))
        assert not matrix[r0 + 1][c0 + 1] and matrix[r0 + 3][c0 + 3]


def test_ground_pattern_prints_in_the_background(registry: Registry, tmp_path: Path) -> None:
    path, _ = _write(tmp_path, _request(registry, "C-001", {"type": "inkan"}))
    _run("pdftoppm", "-r", "40", "-gray", "-f", "1", "-l", "1", str(path), str(tmp_path / "page"))
    page = Image.open(next(tmp_path.glob("page*.pgm")))
    w, h = page.size
    # the empty band between the seal block and the certification text: only the pattern is there
    band = page.crop((int(w * 0.1), int(h * 0.42), int(w * 0.9), int(h * 0.52)))
    histogram = band.histogram()
    non_white = sum(histogram[:250])
    assert non_white > 0.2 * band.size[0] * band.size[1]
    # the latent word is drawn with a different density: the band is not one flat tone
    values = band.tobytes()
    assert max(values) - min(values) > 15


def test_official_seal_is_red(registry: Registry, tmp_path: Path) -> None:
    path, count = _write(tmp_path, _request(registry, "C-001", {"type": "juminhyo"}))
    _run("pdftoppm", "-r", "40", "-f", str(count), "-l", str(count), str(path), str(tmp_path / "rgb"))
    page = Image.open(next(tmp_path.glob("rgb*.ppm"))).convert("RGB")
    data = page.tobytes()
    reds = sum(1 for i in range(0, len(data), 3) if data[i] > 150 and data[i + 1] < 110 and data[i + 2] < 110)
    assert reds > 100


def test_build_request_validation(registry: Registry) -> None:
    resident = registry.resident("C-001")
    assert resident is not None
    priced = price(registry, "C-001", {"type": "juminhyo", "copies": 2})
    for bad in (-1, 2):
        with pytest.raises(ValueError, match="copy_index"):
            build_document_request(registry, resident, priced, bad, "D-1", "C", VERIFY, MONDAY)
    with pytest.raises(ValueError, match="aware"):
        build_document_request(registry, resident, priced, 0, "D-1", "C", VERIFY, MONDAY.replace(tzinfo=None))
    req = build_document_request(registry, resident, priced, 1, "D-1", "C", VERIFY, MONDAY)
    assert req.copy_count == 2 and req.household_head is not None and req.household_head.id == "C-001"


@pytest.mark.parametrize(
    ("day", "text"),
    [
        (date(2019, 4, 30), "平成31年4月30日"),
        (date(2019, 5, 1), "令和元年5月1日"),
        (date(1989, 1, 7), "昭和64年1月7日"),
        (date(1989, 1, 8), "平成元年1月8日"),
        (date(2026, 11, 30), "令和8年11月30日"),
    ],
)
def test_wareki(day: date, text: str) -> None:
    assert wareki(day) == text


def test_render_speed(registry: Registry) -> None:
    req = _request(registry, "C-001", {"type": "juminhyo"})
    render_document(req)  # warm: fonts, pattern, seal
    start = time.perf_counter()
    pages = sum(render_document(req).page_count for _ in range(5))
    per_page = (time.perf_counter() - start) / pages
    assert per_page < 0.25, f"{per_page * 1000:.0f} ms per page"


def test_concurrent_renders_are_each_complete(registry: Registry, tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    item = {"type": "juminhyo", "copies": 4}
    requests = [_request(registry, "C-001", item, copy_index=i) for i in range(4)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        docs = list(pool.map(render_document, requests))
    for req, doc in zip(requests, docs, strict=True):
        path = tmp_path / f"{req.document_id}.pdf"
        path.write_bytes(doc.pdf)
        text = _squash(_run("pdftotext", str(path), "-"))
        assert req.document_id in text and f"{req.copy_index + 1}通目／4通" in text
