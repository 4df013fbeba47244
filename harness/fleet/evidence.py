"""What a fleet run left behind, read back after the run: each kiosk's journal (SQLite), its printer's
tray (the PDF of every job and the sheets that came out), its cash unit's counters, the script of which
resident's card was at the kiosk when, and a copy of the center's ledger.

Every figure in the transactions table comes from a journal; the script only says who was there and
what they came to do. Printed pages are read with poppler's ``pdftotext`` (one call per job).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import sqlite3
import subprocess
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509

from firmware_sim.card.image import CardImage
from harness.fleet.cards import load_cards
from mock_relay.jpki_check import cert_serial_hash

log = logging.getLogger(__name__)
POPPLER = {tool: shutil.which(tool) or f"/usr/bin/{tool}" for tool in ("pdftotext", "pdfseparate")}
NICE = shutil.which("nice")
AUTH_CERT_FILE = 0x000A  # the JPKI AP's user-authentication certificate (EF 000A)


@dataclass(frozen=True)
class PrintedJob:
    """One job out of a kiosk's printer: the document id it was sent as, the text of each page of its
    document (``texts[:sheets_out]`` came out)."""

    kiosk: str
    job_id: int
    document_id: str
    pdf: Path
    pages: int
    sheets_out: int
    texts: tuple[str, ...]


@dataclass
class Txn:
    """One transaction: the journal's record with the script's resident and scenario."""

    kiosk: str
    terminal_id: str
    transaction_id: str
    resident_id: str
    resident_name: str
    card: str
    scenario: str
    cert_type: str
    outcome: str
    reason: str
    staff_code: str
    order_id: str
    fee: int
    inserted: int
    change: int
    refunded: int
    owed: int
    printed_fees: int
    pages_printed: int
    pages_expected: int
    started: str
    ended: str
    documents: list[dict[str, Any]] = field(default_factory=list)
    steps: list[list[Any]] = field(default_factory=list)
    stuck: str = ""


@dataclass
class Evidence:
    fleet_dir: Path
    ledger: Path
    transactions: list[Txn]
    jobs: list[PrintedJob]
    kiosks: dict[str, dict[str, Any]]  # kiosk → {"terminal_id", "cash": counters, "error": ...}
    card_hashes: dict[str, str]  # card file name → certificate serial hash
    pins: dict[str, str]  # resident id → PIN (from the card office's record)
    fault_windows: list[dict[str, Any]]


def collect(
    fleet_dir: Path, ledger: Path, *, keep_pages: bool = False, texts: PageTexts | None = None
) -> Evidence:
    """Read everything back (page texts from ``texts`` where it read them already). Raises OSError,
    sqlite3.Error, ValueError."""
    texts = texts or PageTexts()
    cards_dir = fleet_dir / "cards"
    cards = load_cards(cards_dir)
    hashes = {}
    for card in cards:
        for path in (card.image, card.locked):
            der = CardImage.load(path).jpki_files[AUTH_CERT_FILE]
            hashes[path.name] = cert_serial_hash(x509.load_der_x509_certificate(der).serial_number)
    transactions: list[Txn] = []
    jobs: list[PrintedJob] = []
    kiosks: dict[str, dict[str, Any]] = {}
    for work in sorted((fleet_dir / "kiosks").glob("K*")):
        script = _script(work)
        terminal = script[0]["terminal_id"] if script else ""
        closed = (work / "closed").read_text().strip() if (work / "closed").exists() else "not closed"
        recovered = work / "recovered.json"
        kiosks[work.name] = {
            "terminal_id": terminal,
            "closed": closed,
            "cash": _cash(work),
            "recovered": json.loads(recovered.read_text()) if recovered.exists() else [],
        }
        transactions += _transactions(work, script)
        jobs += _jobs(work, keep_pages, texts)
    windows_file = fleet_dir / "fault-windows.jsonl"
    windows = [json.loads(x) for x in windows_file.read_text().splitlines()] if windows_file.exists() else []
    return Evidence(
        fleet_dir,
        ledger,
        transactions,
        jobs,
        kiosks,
        hashes,
        {c.resident_id: c.pin for c in cards},
        windows,
    )


def _script(work: Path) -> list[dict[str, Any]]:
    path = work / "script.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _cash(work: Path) -> dict[str, Any]:
    path = work / "cash.json"
    return dict(json.loads(path.read_text())) if path.exists() else {}


def _readonly(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True)


def _transactions(work: Path, script: list[dict[str, Any]]) -> list[Txn]:
    journal = work / "journal.sqlite"
    if not journal.exists():
        return []
    who = {tid: line for line in script for tid in line["transaction_ids"]}
    out: list[Txn] = []
    db = _readonly(journal)
    try:
        rows = db.execute(
            "SELECT id, started_at, updated_at, order_id, fee, refund_owed, finished, outcome, staff_code,"
            " cert_type FROM txn ORDER BY started_at, rowid"
        ).fetchall()
        for tid, started, updated, order_id, fee, owed, finished, outcome, code, cert_type in rows:
            money = dict(db.execute("SELECT kind, SUM(yen) FROM money WHERE txn_id=? GROUP BY kind", (tid,)))
            docs = [
                dict(zip(("document_id", "unit_fee", "pages", "state", "pages_printed"), d, strict=True))
                for d in db.execute(
                    "SELECT document_id, unit_fee, pages, state, pages_printed FROM document WHERE txn_id=?"
                    " ORDER BY item_index, copy_index",
                    (tid,),
                )
            ]
            line = who.get(tid, {})
            printed = [d for d in docs if d["state"] == "printed"]
            out.append(
                Txn(
                    kiosk=work.name,
                    terminal_id=str(line.get("terminal_id", "")),
                    transaction_id=tid,
                    resident_id=str(line.get("resident_id", "")),
                    resident_name=str(line.get("resident_name", "")),
                    card=str(line.get("card", "")),
                    scenario=str(line.get("scenario", "")),
                    cert_type=str(cert_type or ""),
                    outcome=("completed" if code == "OK" else "failed") if finished else "unfinished",
                    reason=str(outcome or ""),
                    staff_code=str(code or ""),
                    order_id=str(order_id or ""),
                    fee=int(fee),
                    inserted=int(money.get("credit", 0)),
                    change=int(money.get("change", 0)),
                    refunded=int(money.get("refund", 0)),
                    owed=int(owed),
                    printed_fees=sum(int(d["unit_fee"]) for d in printed),
                    pages_printed=sum(int(d["pages_printed"] or 0) for d in docs),
                    pages_expected=sum(int(d["pages"]) for d in docs),
                    started=str(started),
                    ended=str(updated),
                    documents=docs,
                    steps=list(line.get("steps", [])),
                    stuck=str(line.get("error", "")),
                )
            )
    finally:
        db.close()
    return out


class PageTexts:
    """pdftotext's text of job PDFs, by path, each read once: :meth:`prefetch` reads the trays' PDFs while
    the run goes on (at low priority, in the otherwise idle process of a run spread over kiosk hosts), so
    that judging a long run does not wait for one ``pdftotext`` per job at its end (about 14 ms each, some
    5,000 jobs in a 10,000-transaction soak). A PDF whose size or time changed since is read again."""

    def __init__(self) -> None:
        self._texts: dict[Path, tuple[tuple[int, int], tuple[str, ...]]] = {}
        self._lock = threading.Lock()

    def get(self, pdf: Path, *, nice: bool = False) -> tuple[str, ...]:
        """The text of every page of ``pdf``, one string per page. Raises OSError."""
        st = pdf.stat()
        stamp = (st.st_size, st.st_mtime_ns)
        with self._lock:
            cached = self._texts.get(pdf)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        texts = _page_texts(pdf, nice=nice)
        with self._lock:
            self._texts[pdf] = (stamp, texts)
        return texts

    def prefetch(self, fleet_dir: Path, stop: threading.Event, interval: float = 2.0) -> None:
        """Read every tray's PDFs as they appear until ``stop`` is set (a thread's target)."""
        while not stop.wait(interval):
            for pdf in sorted(fleet_dir.glob("kiosks/*/tray/*.pdf")):
                if stop.is_set():
                    return
                with self._lock:
                    known = pdf in self._texts
                if not known:
                    try:
                        self.get(pdf, nice=True)
                    except (OSError, subprocess.SubprocessError) as exc:  # read again when judged
                        log.debug("prefetching %s: %s", pdf, exc)


def _jobs(work: Path, keep_pages: bool, texts: PageTexts) -> list[PrintedJob]:
    listing = work / "tray" / "jobs.jsonl"
    if not listing.exists():
        return []
    entries = [json.loads(x) for x in listing.read_text().splitlines() if x.strip()]

    def read(entry: dict[str, Any]) -> tuple[str, ...]:  # nothing when no sheet came out
        return texts.get(work / "tray" / f"{entry['job_id']}.pdf") if entry["sheets_out"] > 0 else ()

    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:  # pdftotext: a process each
        texts_of = list(pool.map(read, entries))
    jobs = []
    for entry, pages in zip(entries, texts_of, strict=True):
        pdf = work / "tray" / f"{entry['job_id']}.pdf"
        jobs.append(
            PrintedJob(
                work.name, entry["job_id"], entry["name"], pdf, entry["pages"], entry["sheets_out"], pages
            )
        )
    if keep_pages:
        for txn_id, job in _by_transaction(work, jobs):
            _split(job, work.parent.parent / "printed" / work.name / txn_id)
    return jobs


def _page_texts(pdf: Path, *, nice: bool = False) -> tuple[str, ...]:
    """The text of every page of the job's document, one string per page (``nice``: at low priority)."""
    command = [POPPLER["pdftotext"], "-q", "-layout", str(pdf), "-"]
    if nice and NICE:
        command = [NICE, "-n", "10", *command]
    done = subprocess.run(command, capture_output=True, timeout=60, check=False)
    pages = done.stdout.decode("utf-8", "replace").split("\f")
    return tuple(pages[:-1] if pages and not pages[-1].strip() else pages)


def _by_transaction(work: Path, jobs: list[PrintedJob]) -> Iterator[tuple[str, PrintedJob]]:
    db = _readonly(work / "journal.sqlite")
    try:
        owner = dict(db.execute("SELECT document_id, txn_id FROM document").fetchall())
    finally:
        db.close()
    for job in jobs:
        if job.sheets_out:
            yield str(owner.get(job.document_id, "unknown")), job


def _split(job: PrintedJob, out: Path) -> None:
    """The sheets that came out as ``page-N.pdf`` (poppler's pdfseparate), numbered on from earlier jobs."""
    out.mkdir(parents=True, exist_ok=True)
    first = len(list(out.glob("page-*.pdf"))) + 1
    tmp = out / f".job-{job.job_id}"
    tmp.mkdir(exist_ok=True)
    subprocess.run(
        [POPPLER["pdfseparate"], "-f", "1", "-l", str(job.sheets_out), str(job.pdf), str(tmp / "%d.pdf")],
        capture_output=True,
        timeout=60,
        check=True,
    )
    for n in range(1, job.sheets_out + 1):
        (tmp / f"{n}.pdf").rename(out / f"page-{first + n - 1}.pdf")
    tmp.rmdir()
