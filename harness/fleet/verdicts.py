"""The fleet's verdicts, from the evidence alone (harness.fleet.evidence):

(a) **mis-issued**: every sheet that came out of a kiosk belongs to a document of the transaction that
    printed it, carries that document's id, and the document names the resident whose card was at that
    kiosk then: their name in the page text, their card's certificate hash and their resident id in the
    center's binding and session, the kiosk's terminal in the binding, the PDF's digest in the binding;
(b) **money**, per kiosk and in total: inserted = fees of printed copies + change + refunds + owed;
(c) **ledger**: the center's ledger agrees with every journal, document by document (issued, printed,
    failed, voided) and order by order (fee, refund), and names no document of a fleet terminal that no
    journal knows;
(d) **printed twice**: no document came out of a printer twice, nor under two kiosks;
(e) **PIN**: no resident's PIN in any artefact (journals, scripts, tray listings, cash counters, the
    ledger without its PDFs, the log).

Each verdict lists where it failed (kiosk, transaction, document); the first lines of the output say so.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from hashlib import sha256
from pathlib import Path
from typing import Any

from harness.fleet.evidence import Evidence, Txn

_MAX_LISTED = 20
_WORD = re.compile(rb"[-0-9A-Za-z.]+")  # a PIN is a word of its own: not within one of these runs


@dataclass
class Verdict:
    """One verdict: its letter and name, whether it holds, and what failed where."""

    key: str
    name: str
    checked: int = 0
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures

    def line(self) -> str:
        status = "PASS" if self.ok else f"FAIL ({len(self.failures)})"
        return f"({self.key}) {self.name}: {status}, {self.checked} checked"


def judge(evidence: Evidence) -> list[Verdict]:
    """All five verdicts. Raises sqlite3.Error when the ledger copy cannot be read."""
    ledger = _Ledger(evidence.ledger)
    try:
        return [
            mis_issued(evidence, ledger),
            money(evidence),
            ledger_agrees(evidence, ledger),
            printed_twice(evidence),
            no_pin(evidence),
        ]
    finally:
        ledger.close()


class _Ledger:
    """The center's ledger copy, read-only."""

    def __init__(self, path: Path) -> None:
        self.db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        self.db.row_factory = sqlite3.Row
        self.path = path
        self.docs = {r["document_id"]: r for r in self.db.execute("SELECT * FROM documents")}
        self.orders = {r["order_id"]: r for r in self.db.execute("SELECT * FROM orders")}
        self.sessions = {r["session_id"]: r for r in self.db.execute("SELECT * FROM sessions")}
        self.bindings = {
            r["document_id"]: json.loads(r["binding"])
            for r in self.db.execute("SELECT document_id, binding FROM documents")
        }

    def close(self) -> None:
        self.db.close()


def mis_issued(ev: Evidence, ledger: _Ledger) -> Verdict:
    v = Verdict("a", "0 mis-issued")
    owner = {(t.kiosk, d["document_id"]): t for t in ev.transactions for d in t.documents}
    for job in ev.jobs:
        if not job.sheets_out:
            continue
        v.checked += job.sheets_out
        where = f"{job.kiosk} job {job.job_id} document {job.document_id}"
        txn = owner.get((job.kiosk, job.document_id))
        if txn is None:
            v.failures.append(f"{where}: printed, but no transaction of this kiosk had the document")
            continue
        where = f"{job.kiosk} {txn.transaction_id} document {job.document_id}"
        for n, text in enumerate(job.texts[: job.sheets_out], 1):
            compact = text.replace(" ", "")
            if job.document_id not in compact or f"{n}/{job.pages}" not in compact:
                v.failures.append(
                    f"{where}: sheet {n} does not carry the document id and page {n}/{job.pages}"
                )
        family, _, given = txn.resident_name.partition(" ")
        whole = "".join(job.texts).replace(" ", "").replace("\u3000", "")
        if not family or family not in whole or given.replace(" ", "") not in whole:
            v.failures.append(
                f"{where}: the document does not name {txn.resident_id} (the card at the kiosk)"
            )
        v.failures += _binding_faults(ev, ledger, txn, job.document_id, job.pdf, where)
    return v


def _binding_faults(ev: Evidence, ledger: _Ledger, txn: Txn, doc_id: str, pdf: Path, where: str) -> list[str]:
    binding = ledger.bindings.get(doc_id)
    doc = ledger.docs.get(doc_id)
    if binding is None or doc is None:
        return [f"{where}: the center has no such document"]
    out = []
    if binding.get("cert_serial_hash") != ev.card_hashes.get(txn.card):
        out.append(f"{where}: bound to another card than {txn.resident_id}'s")
    if binding.get("terminal_id") != txn.terminal_id:
        out.append(f"{where}: bound to terminal {binding.get('terminal_id')}, printed at {txn.terminal_id}")
    if binding.get("order_id") != txn.order_id:
        out.append(f"{where}: bound to order {binding.get('order_id')}, the transaction's is {txn.order_id}")
    order = ledger.orders.get(str(doc["order_id"]))
    session = ledger.sessions.get(str(order["session_id"])) if order is not None else None
    if session is None or session["resident_id"] != txn.resident_id:
        out.append(f"{where}: the center's session is not {txn.resident_id}'s")
    if binding.get("sha256") != sha256(pdf.read_bytes()).hexdigest():
        out.append(f"{where}: the printed PDF is not the bound one")
    return out


def money(ev: Evidence) -> Verdict:
    v = Verdict("b", "money: inserted = printed fees + change + refunds + owed")
    per_kiosk: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for t in ev.transactions:
        v.checked += 1
        out = t.printed_fees + t.change + t.refunded + t.owed
        per_kiosk[t.kiosk][0] += t.inserted
        per_kiosk[t.kiosk][1] += out
        if t.inserted != out:
            v.failures.append(
                f"{t.kiosk} {t.transaction_id}: inserted {t.inserted} != printed {t.printed_fees} + change "
                f"{t.change} + refunded {t.refunded} + owed {t.owed}"
            )
    for kiosk, (inserted, out) in sorted(per_kiosk.items()):
        if inserted != out:
            v.failures.append(f"{kiosk}: in total inserted {inserted} != {out} accounted for")
        cash = ev.kiosks.get(kiosk, {}).get("cash", {})
        paid = sum(t.change + t.refunded for t in ev.transactions if t.kiosk == kiosk)
        if cash and int(cash.get("paid_out", paid)) != paid:
            v.failures.append(f"{kiosk}: the hoppers paid out {cash['paid_out']}, the journal says {paid}")
    total_in = sum(p[0] for p in per_kiosk.values())
    total_out = sum(p[1] for p in per_kiosk.values())
    if total_in != total_out:
        v.failures.append(f"fleet: inserted {total_in} != {total_out} accounted for")
    return v


_LEDGER_STATE = {"printed": ("printed",), "failed": ("failed",), "issued": ("void", "issued")}


def ledger_agrees(ev: Evidence, ledger: _Ledger) -> Verdict:
    v = Verdict("c", "the center's ledger agrees with every journal")
    known: set[str] = set()
    for t in ev.transactions:
        for d in t.documents:
            v.checked += 1
            known.add(d["document_id"])
            where = f"{t.kiosk} {t.transaction_id} document {d['document_id']}"
            row = ledger.docs.get(d["document_id"])
            if row is None:
                v.failures.append(f"{where}: in the journal, not in the center's ledger")
                continue
            if row["order_id"] != t.order_id:
                v.failures.append(f"{where}: the center files it under order {row['order_id']}")
            if row["state"] not in _LEDGER_STATE.get(d["state"], (d["state"],)):
                v.failures.append(f"{where}: journal {d['state']}, center {row['state']}")
        order = ledger.orders.get(t.order_id) if t.order_id else None
        if order is not None:
            if order["total"] != t.fee:
                v.failures.append(f"{t.kiosk} {t.transaction_id}: fee {t.fee}, the center's {order['total']}")
            failed = sum(int(d["unit_fee"]) for d in t.documents if d["state"] == "failed")
            if order["result_reported"] and order["refund_due"] != failed:
                v.failures.append(
                    f"{t.kiosk} {t.transaction_id}: the center owes {order['refund_due']} back, "
                    f"the journal's failed copies {failed}"
                )
    terminals = {str(k["terminal_id"]) for k in ev.kiosks.values()}
    for doc_id, row in ledger.docs.items():
        order = ledger.orders.get(str(row["order_id"]))
        if order is not None and order["terminal_id"] in terminals and doc_id not in known:
            v.failures.append(
                f"{order['terminal_id']} document {doc_id}: issued by the center, in no journal"
            )
    return v


def printed_twice(ev: Evidence) -> Verdict:
    v = Verdict("d", "no document printed twice")
    seen = Counter(job.document_id for job in ev.jobs if job.sheets_out)
    v.checked = len(seen)
    for doc_id, count in sorted(seen.items()):
        if count > 1:
            kiosks = sorted({j.kiosk for j in ev.jobs if j.document_id == doc_id and j.sheets_out})
            v.failures.append(f"document {doc_id}: printed {count} times ({', '.join(kiosks)})")
    return v


def no_pin(ev: Evidence) -> Verdict:
    """PINs as a word of their own: not inside a longer run of letters, digits, dots or dashes (a UUID's
    ``-4611-`` group or a time's ``.1234`` is not a PIN)."""
    v = Verdict("e", "no PIN in any artefact")
    pins = {pin.encode(): rid for rid, pin in ev.pins.items()}
    for path in _artefacts(ev.fleet_dir):
        v.checked += 1
        data = _ledger_text(path) if path == ev.ledger else path.read_bytes()
        # every word, then which are PINs (one alternative per resident in the pattern itself made the
        # scan cost residents × bytes: 6 s for an 800-transaction fleet)
        found = {w for w in _WORD.findall(data) if len(w) == 4} & pins.keys()
        for pin in sorted(found)[:_MAX_LISTED]:
            v.failures.append(f"{path.relative_to(ev.fleet_dir)}: holds {pins[pin]}'s PIN")
    return v


def _artefacts(fleet_dir: Path) -> list[Path]:
    names = ("journal.sqlite*", "script.jsonl", "jobs.jsonl", "cash.json", "recovered.json")
    found = [p for n in names for p in (fleet_dir / "kiosks").rglob(n)]
    # What the kiosks, the center and the harness's log left; not the tables derived from them here
    # (summary, transactions.csv, Locust's CSVs), whose counts and figures are not PINs.
    found += [p for p in fleet_dir.glob("*") if p.suffix in (".log", ".jsonl", ".sqlite")]
    return sorted(set(found))


def _ledger_text(path: Path) -> bytes:
    """The ledger's rows as text, with the PDFs in stored answers left out (their base64 would match
    4 digits by chance)."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        parts: list[str] = []
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            for row in db.execute(f"SELECT * FROM {table}"):  # noqa: S608 (names from sqlite_master)
                parts += [_without_pdfs(value) for value in row]
        return "\n".join(parts).encode("utf-8", "replace")
    finally:
        db.close()


def _without_pdfs(value: Any) -> str:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if not isinstance(value, str) or '"pdf"' not in value:
        return str(value)
    try:
        body = json.loads(value)
    except ValueError:
        return value
    for doc in body.get("documents", []) if isinstance(body, dict) else []:
        if isinstance(doc, dict):
            doc.pop("pdf", None)
    return json.dumps(body, ensure_ascii=False)


def first_lines(verdicts: list[Verdict]) -> list[str]:
    """The verdict lines, then where each failed one failed (at most 20 places each)."""
    lines = ["ALL VERDICTS HOLD" if all(v.ok for v in verdicts) else "VERDICTS FAILED"]
    lines += [v.line() for v in verdicts]
    for v in verdicts:
        lines += [f"  ({v.key}) {f}" for f in v.failures[:_MAX_LISTED]]
        if len(v.failures) > _MAX_LISTED:
            lines.append(f"  ({v.key}) ... and {len(v.failures) - _MAX_LISTED} more")
    return lines
