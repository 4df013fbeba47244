"""A small fleet under the default fault schedule (8 kiosks × 20 transactions against one local mock
center): every verdict holds and the report is complete. Then the evidence is tampered with, the way the
2023 incidents went wrong, and the matching verdict must fail and say where."""

from __future__ import annotations

import csv
import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from harness.cli import main
from harness.fleet.evidence import collect
from harness.fleet.report import COLUMNS
from harness.fleet.verdicts import judge

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]  # a whole fleet: about a minute here


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    report = tmp_path_factory.mktemp("fleet") / "R"
    fleet = ["fleet", "--kiosks", "8", "--transactions", "20", "--faults", "default", "--seed", "7"]
    status = main([*fleet, "--report", str(report), "--keep-pages"])
    assert status == 0, (report / "summary.txt").read_text()
    return report


def test_every_verdict_holds_and_the_report_is_complete(fleet: Path) -> None:
    summary = (fleet / "summary.txt").read_text(encoding="utf-8").splitlines()
    assert summary[0] == "ALL VERDICTS HOLD"
    assert [line[:3] for line in summary[1:6]] == ["(a)", "(b)", "(c)", "(d)", "(e)"]
    rows = list(csv.DictReader((fleet / "transactions.csv").open(encoding="utf-8")))
    assert set(COLUMNS) <= set(rows[0])
    assert len(rows) == 20
    assert len({r["kiosk"] for r in rows}) > 1
    assert any(r["outcome"] == "completed" for r in rows)
    for r in rows:  # the money of every row balances in the table too
        fees = int(r["inserted"]) - int(r["change"]) - int(r["refunded"]) - int(r["owed"])
        assert fees >= 0 and fees % 10 == 0
    html = (fleet / "report.html").read_text(encoding="utf-8")
    assert html.count("data:image/png;base64,") == 3
    pages = list((fleet / "printed").rglob("page-*.pdf"))
    printed = sum(int(r["pages_printed"]) for r in rows)
    assert pages and len(pages) == printed
    assert all(p.read_bytes().startswith(b"%PDF") for p in pages)


def _copy(fleet: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "R"
    shutil.copytree(fleet, copy, ignore=shutil.ignore_patterns("printed"))
    return copy


def _failures(report: Path, key: str) -> list[str]:
    verdicts = {v.key: v for v in judge(collect(report, report / "center-ledger.sqlite"))}
    return verdicts[key].failures


def _a_printed_job(report: Path) -> tuple[Path, dict[str, object]]:
    for listing in sorted(report.glob("kiosks/*/tray/jobs.jsonl")):
        for line in listing.read_text().splitlines():
            job = json.loads(line)
            if job["sheets_out"]:
                return listing.parent, job
    raise AssertionError("no printed job")


def test_a_page_from_another_persons_document_is_mis_issued(fleet: Path, tmp_path: Path) -> None:
    report = _copy(fleet, tmp_path)
    jobs = [
        (listing.parent, json.loads(line))
        for listing in sorted(report.glob("kiosks/*/tray/jobs.jsonl"))
        for line in listing.read_text().splitlines()
        if json.loads(line)["sheets_out"]
    ]
    (tray_a, job_a), (tray_b, job_b) = jobs[0], next(j for j in jobs if j[0] != jobs[0][0])
    shutil.copy2(tray_b / f"{job_b['job_id']}.pdf", tray_a / f"{job_a['job_id']}.pdf")  # Tokushima
    failures = _failures(report, "a")
    assert failures and all(str(job_a["name"]) in f for f in failures)
    assert any("does not carry the document id" in f for f in failures)


def test_a_yen_missing_from_a_journal_fails_the_money(fleet: Path, tmp_path: Path) -> None:
    report = _copy(fleet, tmp_path)
    journal = next(report.glob("kiosks/*/journal.sqlite"))
    db = sqlite3.connect(journal)
    with db:
        db.execute(
            "UPDATE money SET yen = yen + 10 WHERE rowid = (SELECT MIN(rowid) FROM money WHERE kind='credit')"
        )
    db.close()
    failures = _failures(report, "b")
    assert any(journal.parent.name in f and "inserted" in f for f in failures)


def test_a_document_the_center_voided_but_a_kiosk_printed_disagrees(fleet: Path, tmp_path: Path) -> None:
    report = _copy(fleet, tmp_path)
    db = sqlite3.connect(report / "center-ledger.sqlite")
    with db:
        (doc,) = db.execute("SELECT document_id FROM documents WHERE state='printed' LIMIT 1").fetchone()
        db.execute("UPDATE documents SET state='void' WHERE document_id=?", (doc,))
    db.close()
    assert any(doc in f and "journal printed, center void" in f for f in _failures(report, "c"))


def test_a_document_printed_at_two_kiosks_is_printed_twice(fleet: Path, tmp_path: Path) -> None:
    report = _copy(fleet, tmp_path)
    tray, job = _a_printed_job(report)
    other = next(k for k in sorted(report.glob("kiosks/K*")) if k != tray.parent) / "tray"
    with (other / "jobs.jsonl").open("a") as out:  # Kawasaki: a second store printed the same document
        out.write(json.dumps({**job, "job_id": 999}) + "\n")
    shutil.copy2(tray / f"{job['job_id']}.pdf", other / "999.pdf")
    assert any(str(job["name"]) in f and "printed 2 times" in f for f in _failures(report, "d"))


def test_a_pin_in_a_kiosk_log_is_found(fleet: Path, tmp_path: Path) -> None:
    report = _copy(fleet, tmp_path)
    pins = json.loads((report / "cards" / "pins.json").read_text())
    with (report / "fleet.log").open("a") as log:
        log.write(f"DEBUG verify pin={pins[0]['pin']}\n")
    assert _failures(report, "e") == [f"fleet.log: holds {pins[0]['resident_id']}'s PIN"]
