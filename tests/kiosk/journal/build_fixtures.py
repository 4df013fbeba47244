"""Build the journal fixtures of tests/kiosk/journal (run it to rebuild them; the tests use the files).

``journal-v1.sqlite``: the first journal's layout (schema version 1, written before versions were kept:
``user_version`` 0), with open items: change owed, a paid result not yet reported, a copy caught mid-print.

``journal-v9.sqlite``: written through this release's ``Journal`` (schema 9), with open items: change owed
(finished, M02), a result not yet reported, a copy caught mid-print (page 1 of 2, printer job 42), a
transaction in the till with a coin in, the hoppers counted and a dispense; and the staff passcode guard
in a back-off. Both small: 1 KiB pages, vacuumed, no reserve row (a kiosk opening it makes one), no
write-ahead log.

``journal-v8.sqlite``: the previous release's (schema 8), built by this script as it stood then (the same
open items, no staff passcode row). It is kept as it is, not rebuilt: the journal a kiosk upgrading from
that release finds.

Usage: ``python tests/kiosk/journal/build_fixtures.py`` (from the repository root).
"""

from __future__ import annotations

import shutil
import sqlite3
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
FIXTURES = HERE / "fixtures"
V1 = FIXTURES / "journal-v1.sqlite"
CURRENT = FIXTURES / "journal-v9.sqlite"
CURRENT_VERSION = 9
PREVIOUS = FIXTURES / "journal-v8.sqlite"
PREVIOUS_VERSION = 8
PAGE_SIZE = 1024

# order id -> (session id, unit fee, copies, paid, result reported): what the center knew of each order
V1_ORDERS = {"O-1-OWED": ("S-1-OWED", 300, 1, 300, True), "O-1-PRINT": ("S-1-PRINT", 300, 1, 300, False)}
V1_ORDERS["O-1-REPORT"] = ("S-1-REPORT", 300, 1, 300, False)
CURRENT_ORDERS = {
    "O-OWED": ("S-OWED", 300, 1, 300, True),
    "O-REPORT": ("S-REPORT", 300, 1, 300, False),
    "O-PRINT": ("S-PRINT", 300, 2, 600, False),
    "O-PAYING": ("S-PAYING", 300, 1, 0, False),
}


def _new_file(path: Path) -> None:
    path.unlink(missing_ok=True)
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA page_size={PAGE_SIZE}")
    db.execute("VACUUM")
    db.close()


def _finish_file(path: Path, target: Path) -> None:
    """Drop the reserve row, vacuum into rollback mode (one file) and copy it to ``target``."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=DELETE")
    if db.execute("SELECT 1 FROM sqlite_master WHERE name='journal_reserve'").fetchone():
        db.execute("DELETE FROM journal_reserve")
    db.execute("VACUUM")
    db.close()
    shutil.copyfile(path, target)


def build_v1(target: Path = V1) -> None:
    """The first journal's layout, written by raw SQL as that release did (no ``user_version``)."""
    from kiosk.journal.schema import V1_SCHEMA, statements

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "journal.sqlite"
        _new_file(path)
        db = sqlite3.connect(path, isolation_level=None)
        for statement in statements(V1_SCHEMA):
            db.execute(statement)
        at = "2026-11-01T10:00:00+00:00"
        txns = [  # id, stage, session, order, fee, report, owed, outcome, code, finished
            (
                "T1-OWED",
                "finished",
                "S-1-OWED",
                "O-1-OWED",
                300,
                "reported",
                200,
                "change_shortfall",
                "M02",
                1,
            ),
            ("T1-PRINT", "paid", "S-1-PRINT", "O-1-PRINT", 300, "none", 0, None, None, 0),
            ("T1-REPORT", "paid", "S-1-REPORT", "O-1-REPORT", 300, "pending", 0, None, None, 0),
        ]
        for t in txns:
            db.execute("INSERT INTO txn VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", (t[0], at, at, *t[1:]))
        money = [
            ("c1", "T1-OWED", "credit", 1000, "bill"),
            ("p1", "T1-OWED", "change", 500, None),
            ("c2", "T1-PRINT", "credit", 500, "coin"),
            ("p2", "T1-PRINT", "change", 200, None),
            ("c3", "T1-REPORT", "credit", 300, "coin"),
        ]
        for m in money:
            db.execute("INSERT INTO money VALUES (?,?,?,?,?,?)", (*m, at))
        documents = [
            ("D1-OWED", "T1-OWED", 0, 0, 300, 1, "printed", 1, None),
            ("D1-PRINT", "T1-PRINT", 0, 0, 300, 2, "printing", 1, None),
            ("D1-REPORT", "T1-REPORT", 0, 0, 300, 1, "printed", 1, None),
        ]
        for d in documents:
            db.execute("INSERT INTO document VALUES (?,?,?,?,?,?,?,?,?)", d)
        for txn in ("T1-OWED", "T1-PRINT", "T1-REPORT"):
            for name in ("session", "authenticate", "order", "issue", "payment"):
                db.execute("INSERT INTO idem VALUES (?,?,?)", (txn, name, f"{txn}:{name}"))
        db.execute("INSERT INTO idem VALUES ('T1-REPORT', 'report', 'T1-REPORT:report')")
        db.close()
        _finish_file(path, target)


def build_current(target: Path = CURRENT) -> None:
    """Open items played through this release's ``Journal``."""
    from kiosk.journal.staff_actions import PasscodeState
    from kiosk.journal.store import Journal
    from kiosk.money import CreditSource, DeviceCounter, PayoutPurpose

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "journal.sqlite"
        _new_file(path)
        j = Journal(path)
        assert j.schema == CURRENT_VERSION, f"this release writes schema {j.schema}: rename the fixture"
        j.hopper_staff("staff:count3", 3, 100, "count", 50)
        j.hopper_staff("staff:count5", 5, 500, "count", 20)
        j.save_passcode_state(PasscodeState(4, "2026-11-01T09:00:30+00:00", "2026-11-01T09:00:00+00:00"))

        def paid(txn: str, inserted: int, change: int, *, docs: int = 1) -> None:
            session, unit, copies, _paid, _reported = CURRENT_ORDERS[f"O-{txn[2:]}"]
            j.begin(txn)
            j.key(txn, "session")
            j.stage(txn, "session", session_id=session)
            j.stage(txn, "authenticated")
            j.stage(txn, "ordered", order_id=f"O-{txn[2:]}", fee=unit * copies, cert_type="juminhyo")
            for copy in range(docs):
                j.add_document(txn, f"D-{txn[2:]}-{copy}", 0, copy, unit, 2 if txn == "T-PRINT" else 1)
            j.stage(txn, "issued")
            j.stage(txn, "paying")
            j.record_credit(
                f"{txn}:coin", inserted, CreditSource.BILL, txn_id=txn, counter=DeviceCounter("bill", 1)
            )
            if change:
                j.hopper_dispensing(f"{txn}:change", 3, 100, change // 100)
                j.record_payout(f"{txn}:change", change, txn_id=txn, purpose=PayoutPurpose.CHANGE)
                j.hopper_dispensed(f"{txn}:change", change // 100)
            j.stage(txn, "paid_local")
            j.key(txn, "payment")
            j.stage(txn, "paid")

        paid("T-OWED", 1000, 500)  # 700 change due, 500 came out: 200 owed
        j.refund_owed("T-OWED", 200)
        j.document_state("D-OWED-0", "printing")
        j.page_printed("D-OWED-0", 1)
        j.document_state("D-OWED-0", "printed", pages_printed=1)
        j.report_status("T-OWED", "pending")
        j.key("T-OWED", "report")
        j.report_status("T-OWED", "reported")
        j.finish("T-OWED", "change_shortfall", "M02")

        paid("T-REPORT", 500, 200)  # printed; the report never reached the center
        j.document_state("D-REPORT-0", "printing")
        j.page_printed("D-REPORT-0", 1)
        j.document_state("D-REPORT-0", "printed", pages_printed=1)
        j.report_status("T-REPORT", "pending")
        j.key("T-REPORT", "report")

        paid("T-PRINT", 600, 0, docs=2)  # copy 0 out, copy 1 stopped after page 1 of 2
        j.document_state("D-PRINT-0", "printing")
        j.printer_job("D-PRINT-0", 41)
        j.page_printed("D-PRINT-0", 1)
        j.page_printed("D-PRINT-0", 2)
        j.document_state("D-PRINT-0", "printed", pages_printed=2)
        j.document_state("D-PRINT-1", "printing")
        j.printer_job("D-PRINT-1", 42)
        j.page_printed("D-PRINT-1", 1)

        j.begin("T-PAYING")  # in the till, 100 yen in of 300
        j.stage("T-PAYING", "session", session_id="S-PAYING")
        j.stage("T-PAYING", "ordered", order_id="O-PAYING", fee=300, cert_type="inkan")
        j.add_document("T-PAYING", "D-PAYING-0", 0, 0, 300, 1)
        j.stage("T-PAYING", "issued")
        j.stage("T-PAYING", "paying")
        j.record_credit(
            "T-PAYING:coin", 100, CreditSource.COIN, txn_id="T-PAYING", counter=DeviceCounter("coin", 7)
        )
        j.close()
        _finish_file(path, target)


if __name__ == "__main__":
    sys.path.insert(0, str(HERE.parents[2]))
    FIXTURES.mkdir(exist_ok=True)
    build_v1()
    build_current()  # journal-v8.sqlite (PREVIOUS) stays as the previous release wrote it
    print(f"wrote {V1.name} ({V1.stat().st_size} bytes), {CURRENT.name} ({CURRENT.stat().st_size} bytes)")
