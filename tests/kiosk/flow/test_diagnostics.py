"""Staff diagnostics on the journal: the open items after the no_change scenario on a real SimKiosk (the
change owed, M02), settling it by hand once (refused twice, for another amount, while a transaction is
open), the books still balancing, records items (M03, M04, a copy cut short), and ``kiosk diag`` as a
subprocess (report, settle, refusals, exit statuses)."""

from __future__ import annotations

import shutil
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.scenario import Player, check_expectations, load_scenario
from harness.sim import SimKiosk
from kiosk.app.diag_cli import report_lines
from kiosk.journal.store import Journal
from kiosk.money import FaultKind
from kiosk.staff.diagnostics import DeviceStatus, Diagnostics, LiveDevices, SettleRefused
from mock_relay.tls import CenterPki

REPO = Path(__file__).resolve().parents[3]
SCENARIOS = REPO / "harness" / "scenarios"


@pytest.fixture(scope="module")
def no_change_journal(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The journal of the no_change scenario played once on a SimKiosk (the change of 300 yen owed)."""
    work = tmp_path_factory.mktemp("no_change")
    scenario = load_scenario(SCENARIOS / "no_change.toml")
    with SimKiosk(work, dict(scenario.setup)) as kiosk:
        final = Player(kiosk.flow, kiosk.hands).play(scenario, step_timeout=60)
    assert check_expectations(scenario, final) == []
    return work / "journal.sqlite"


@pytest.fixture
def journal(no_change_journal: Path, tmp_path: Path) -> Iterator[Journal]:
    path = tmp_path / "journal.sqlite"
    shutil.copy2(no_change_journal, path)
    j = Journal(path)
    yield j
    j.close()


def test_the_change_owed_is_an_open_item_with_its_staff_code(journal: Journal) -> None:
    diag = Diagnostics(journal)
    (item,) = diag.open_items()
    assert (item.kind, item.item, item.staff_code, item.yen, item.money) == ("owed", "owed", "M02", 300, True)
    (recent,) = diag.recent()
    assert (recent.txn_id, recent.copies, recent.fee, recent.staff_code) == (item.txn_id, 1, 200, "M02")
    assert (recent.books.inserted, recent.books.owed, recent.books.settled) == (500, 300, 0)
    assert recent.books.balanced and recent.outcome == "change_shortfall"


def test_settle_once_closes_the_item_and_the_books_still_balance(journal: Journal) -> None:
    diag = Diagnostics(journal)
    (item,) = diag.open_items()
    done = diag.settle(item.txn_id, amount=300, staff_id="S-017")
    assert (done.kind, done.yen, done.staff_id) == ("settled", 300, "S-017")
    assert diag.open_items() == []
    books = diag.books(item.txn_id)
    assert (books.inserted, books.fees_kept, books.change, books.owed, books.settled) == (500, 200, 0, 0, 300)
    assert books.balanced
    assert journal.balance(item.txn_id).refund_owed == 300  # what the kiosk owed stays on record
    reopened = Journal(journal.path)  # durable: another process sees it
    try:
        assert [a.staff_id for a in reopened.staff_actions(item.txn_id)] == ["S-017"]
    finally:
        reopened.close()


def test_settling_twice_is_refused_and_names_who_settled(journal: Journal) -> None:
    diag = Diagnostics(journal)
    (item,) = diag.open_items()
    diag.settle(item.txn_id, amount=300, staff_id="S-017")
    with pytest.raises(SettleRefused, match="already settled by S-017"):
        diag.settle(item.txn_id, amount=300, staff_id="S-018")
    assert len(journal.staff_actions()) == 1


@pytest.mark.parametrize("amount", [0, 200, 301, -300])
def test_another_amount_than_owed_is_refused(journal: Journal, amount: int) -> None:
    diag = Diagnostics(journal)
    (item,) = diag.open_items()
    with pytest.raises(SettleRefused, match="owes 300 yen") as refused:
        diag.settle(item.txn_id, amount=amount, staff_id="S-017")
    assert (refused.value.code, refused.value.params) == ("wrong_amount", {"owed": 300, "amount": amount})
    assert journal.staff_actions() == [] and len(diag.open_items()) == 1


def test_settling_during_an_open_transaction_is_refused(journal: Journal) -> None:
    diag = Diagnostics(journal)
    (item,) = diag.open_items()
    journal.begin("T-OPEN")
    with pytest.raises(SettleRefused, match=r"in progress \(T-OPEN") as refused:
        diag.settle(item.txn_id, amount=300, staff_id="S-017")
    assert refused.value.code == "busy"  # the staff screen says it from its catalog (staff_why_busy)
    # the journal itself refuses too (the check shares the insert's SQLite transaction)
    assert not journal.staff_action(item.txn_id, "owed", "settled", 300, "S-017", "2026-01-01T00:00:00")
    journal.finish("T-OPEN", "cancelled", "C01")
    assert diag.settle(item.txn_id, amount=300, staff_id="S-017").kind == "settled"


@pytest.mark.parametrize("staff", ["", "a b", "x" * 33, "S-017;drop"])
def test_a_bad_staff_id_is_refused(journal: Journal, staff: str) -> None:
    diag = Diagnostics(journal)
    (item,) = diag.open_items()
    with pytest.raises(SettleRefused, match="staff id"):
        diag.settle(item.txn_id, amount=300, staff_id=staff)


def test_records_items_are_listed_and_checked_not_settled(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite")
    try:
        journal.begin("T-1")
        journal.add_document("T-1", "D-1", 0, 0, 300, 3)
        journal.document_state("D-1", "failed", pages_printed=2, error="jam")
        journal.add_document("T-1", "D-2", 0, 1, 300, 3)
        journal.document_state("D-2", "failed", pages_printed=0, error="jam")  # nothing in the tray
        journal.refund_mismatch("T-1", 600, 300)
        journal.record_fault("F-1", FaultKind.ID_CONFLICT, "cash", "event id reused")
        journal.finish("T-1", "print_failed", "PR1+M03+M04")
        diag = Diagnostics(journal)
        kinds = {i.item: (i.kind, i.staff_code, i.yen, i.other) for i in diag.open_items()}
        assert kinds == {
            "discrepancy:refund": ("discrepancy", "M04", 600, 300),
            "fault:id_conflict": ("id_conflict", "M03", 0, 0),
            "print:D-1": ("partial_print", "PR1+M03+M04", 2, 3),
        }
        with pytest.raises(SettleRefused, match="nothing open"):
            diag.settle("T-1", amount=0, staff_id="S-1")
        assert diag.check("T-1", "print:D-1", staff_id="S-1").kind == "checked"
        assert {i.item for i in diag.open_items()} == {"discrepancy:refund", "fault:id_conflict"}
        with pytest.raises(SettleRefused, match="already checked"):
            diag.check("T-1", "print:D-1", staff_id="S-1")
    finally:
        journal.close()


def test_live_devices_report_the_drivers_and_keep_the_other_start_up_checks(journal: Journal) -> None:
    class Printer:
        def health(self) -> object:
            return type("H", (), {"ok": False, "summary": "media-jam"})()

    checks = [DeviceStatus("reader", True, "Virtual PCD"), DeviceStatus("printer", True, "at start")]
    status = LiveDevices(printer=Printer(), extra=checks).status()
    assert status == [checks[0], DeviceStatus("printer", False, "media-jam")]

    class Broken:
        def status(self) -> list[DeviceStatus]:
            raise RuntimeError("probe down")

    assert Diagnostics(journal).device_status() is None
    (line,) = Diagnostics(journal, devices=Broken()).device_status() or []
    assert not line.ok and "probe down" in line.detail


def _diag(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kiosk", "diag", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_cli_report_settle_and_refusals(journal: Journal) -> None:
    path = str(journal.path)
    (txn,) = journal.transactions()
    report = _diag("--journal", path)
    assert report.returncode == 0, report.stderr
    assert "OPEN ITEMS (1)" in report.stdout and "M02" in report.stdout and "owed 300 yen" in report.stdout
    assert "not probed" in report.stdout and "1234" not in report.stdout
    wrong = _diag("settle", txn.id, "--amount", "200", "--staff", "S-9", "--journal", path)
    assert wrong.returncode == 3 and "owes 300 yen" in wrong.stderr
    ok = _diag("settle", txn.id, "--amount", "300", "--staff", "S-9", "--journal", path)
    assert ok.returncode == 0 and "settled by S-9" in ok.stdout
    again = _diag("settle", txn.id, "--amount", "300", "--staff", "S-9", "--journal", path)
    assert again.returncode == 3 and "already settled" in again.stderr
    after = _diag("--journal", path)
    assert "OPEN ITEMS (0)" in after.stdout and "BOOKS DO NOT BALANCE" not in after.stdout


def test_cli_errors_are_one_line_with_status_2(tmp_path: Path) -> None:
    missing = _diag("--journal", str(tmp_path / "none.sqlite"))
    assert missing.returncode == 2 and missing.stderr.startswith("kiosk: no journal")
    assert "Traceback" not in missing.stderr
    probe = _diag("--journal", str(tmp_path / "none.sqlite"), "--probe")
    assert probe.returncode == 2
    bad_config = _diag("--config", str(tmp_path / "kiosk.toml"))
    assert bad_config.returncode == 2 and "Traceback" not in bad_config.stderr


def test_staff_access_for_the_real_and_the_simulated_kiosk(
    journal: Journal, monkeypatch: pytest.MonkeyPatch
) -> None:
    from types import SimpleNamespace

    from harness.sim import sim_staff
    from kiosk.app.config import KioskConfig
    from kiosk.app.run import real_staff
    from kiosk.staff.passcode import PasscodeError, hash_passcode

    kiosk = SimpleNamespace(
        journal=journal,
        cash=None,
        printer=None,
        client=None,
        heartbeat=None,
        config=KioskConfig(),
        report=None,
    )
    assert real_staff(kiosk) is None  # no [staff] passcode_hash: no staff mode
    kiosk.report = SimpleNamespace(checks=(DeviceStatus("reader", True, "r"),))
    kiosk.config = KioskConfig(staff_passcode_hash=hash_passcode("97531"))
    access = real_staff(kiosk)
    assert access is not None and access.verifier.verify("97531") and not access.verifier.verify("0000")
    assert access.diagnostics.device_status() == [DeviceStatus("reader", True, "r")]
    kiosk.config = KioskConfig(staff_passcode_hash="replace-with-the-line-kiosk-diag-passcode-prints")
    with pytest.raises(PasscodeError, match="kiosk diag passcode"):
        real_staff(kiosk)
    assert sim_staff(kiosk).verifier.verify("0000")
    monkeypatch.setenv("MYNA_KIOSK_STAFF_PASSCODE", "4321")
    assert not sim_staff(kiosk).verifier.verify("0000") and sim_staff(kiosk).verifier.verify("4321")


def test_the_staff_section_of_kiosk_toml(tmp_path: Path) -> None:
    from kiosk.app.config import ConfigError, load_config
    from kiosk.staff.passcode import hash_passcode

    base = (REPO / "etc" / "kiosk.example.toml").read_text(encoding="utf-8")
    stored = hash_passcode("2580")
    path = tmp_path / "kiosk.toml"
    placeholder = "replace-with-the-line-kiosk-diag-passcode-prints"
    path.write_text(base.replace(placeholder, stored), encoding="utf-8")
    assert load_config(path, check_certificates=False).staff_passcode_hash == stored
    path.write_text(base + "typo = 1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"staff\.typo"):
        load_config(path, check_certificates=False)


def test_the_certificate_type_is_journaled_and_shown_to_staff(journal: Journal) -> None:
    """The flow records what was ordered (no_change orders an 印鑑登録証明書); staff see it by name."""
    (txn,) = journal.transactions()
    assert txn.cert_type == "inkan"
    (summary,) = Diagnostics(journal).recent(5)
    assert summary.cert_type == "inkan"
    assert any(" inkan " in line for line in report_lines(Diagnostics(journal), None))


def test_a_journal_from_before_the_type_was_recorded_opens_and_gains_it(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    old = sqlite3.connect(path)
    old.executescript(
        "CREATE TABLE txn(id TEXT PRIMARY KEY, started_at TEXT NOT NULL, updated_at TEXT NOT NULL,"
        " stage TEXT NOT NULL, session_id TEXT, order_id TEXT, fee INTEGER NOT NULL DEFAULT 0,"
        " report_status TEXT NOT NULL DEFAULT 'none', refund_owed INTEGER NOT NULL DEFAULT 0,"
        " outcome TEXT, staff_code TEXT, finished INTEGER NOT NULL DEFAULT 0);"
        "INSERT INTO txn(id, started_at, updated_at, stage, fee, finished, outcome, staff_code)"
        " VALUES ('T-OLD', '2026-11-01T10:00:00+00:00', '2026-11-01T10:01:00+00:00', 'done', 200, 1,"
        " 'completed', 'OK');"
    )
    old.close()
    journal = Journal(path)
    try:
        (txn,) = journal.transactions()
        assert (txn.id, txn.cert_type, txn.fee) == ("T-OLD", None, 200)
        journal.begin("T-NEW")
        journal.stage("T-NEW", "ordered", order_id="O-1", fee=350, cert_type="koseki_zenbu")
        assert journal.transaction("T-NEW") is not None
        assert journal.transaction("T-NEW").cert_type == "koseki_zenbu"  # type: ignore[union-attr]
    finally:
        journal.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_probe_exits_1_when_a_device_failed(tmp_path: Path) -> None:
    """Every device of this kiosk.toml is missing: ``--probe`` lists them FAILED and says so by its status."""
    terminal = CenterPki.open(tmp_path / "center").issue_terminal("T-0001", tmp_path / "terminal")
    toml = tmp_path / "kiosk.toml"
    toml.write_text(
        f'journal = "var/journal.sqlite"\n[reader]\nurl = "pn532://{tmp_path}/no-such-pn532"\n'
        f'[center]\nurl = "https://127.0.0.1:{_free_port()}"\nterminal_cert = "{terminal}/terminal.pem"\n'
        f'terminal_key = "{terminal}/terminal.key"\nca = "{terminal}/center-ca.pem"\n'
        f'[jpki]\nca_bundle = "{terminal}/center-ca.pem"\n[cash]\nport = "{tmp_path}/no-such-cash-port"\n'
        f'[printer]\nuri = "ipp://127.0.0.1:{_free_port()}/ipp/print"\n',
        encoding="utf-8",
    )
    probe = _diag("--config", str(toml), "--probe")
    assert probe.returncode == 1, probe.stdout + probe.stderr
    devices = probe.stdout.split("DEVICES\n")[1].split("OPEN ITEMS")[0].splitlines()
    assert [line.split(":")[0].strip() for line in devices] == ["reader", "cash", "printer", "center"]
    assert all(": FAILED: " in line for line in devices) and "Traceback" not in probe.stderr
    assert _diag("--config", str(toml)).returncode == 0  # the journal alone: nothing probed, nothing failed


def _passcode(text: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kiosk", "diag", "passcode"],
        input=text,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        start_new_session=True,  # no controlling terminal: stdin is all there is, as in a script
    )


def test_passcode_from_a_pipe_reads_two_lines_without_a_warning() -> None:
    from kiosk.staff.passcode import PasscodeVerifier

    done = _passcode("2580\n2580\n")
    assert done.returncode == 0 and done.stderr == "", done.stderr
    head, line = done.stdout.splitlines()
    assert head == "[staff]" and line.startswith('passcode_hash = "scrypt$') and "2580" not in done.stdout
    assert PasscodeVerifier(line.split('"')[1]).verify("2580")
    differ = _passcode("2580\n2581\n")
    assert (differ.returncode, differ.stderr, differ.stdout) == (2, "kiosk: the two entries differ\n", "")
    for text in ("", "2580\n"):
        empty = _passcode(text)
        assert (empty.returncode, empty.stderr) == (2, "kiosk: no passcode read\n")
    short = _passcode("12\n12\n")
    assert short.returncode == 2 and short.stderr == "kiosk: a staff passcode is 4-8 digits\n"


def test_staff_times_are_jst_and_labelled(journal: Journal) -> None:
    from datetime import UTC, datetime

    from kiosk.app.diag_cli import item_line, txn_line
    from kiosk.staff.clock import staff_time

    assert staff_time("2026-12-06T15:30:00+00:00") == "2026-12-07 00:30 JST"
    assert staff_time(datetime(2026, 12, 6, 15, 30, tzinfo=UTC), "%H:%M") == "00:30 JST"
    assert staff_time(datetime(2026, 12, 6, 15, 30)) == "2026-12-07 00:30 JST"  # naive: the journal's UTC
    diag = Diagnostics(journal)
    (item,) = diag.open_items()
    (recent,) = diag.recent()
    for line in (item_line(item), txn_line(recent)):
        assert staff_time(item.at) in line and "UTC" not in line, line
    done = diag.settle(item.txn_id, amount=300, staff_id="S-017")
    with pytest.raises(SettleRefused, match=rf"already settled by S-017 at {staff_time(done.at)}$"):
        diag.settle(item.txn_id, amount=300, staff_id="S-017")
    settled = _diag(
        "settle", item.txn_id, "--amount", "300", "--staff", "S-9", "--journal", str(journal.path)
    )
    assert settled.returncode == 3 and settled.stderr.rstrip().endswith(" JST")


def test_diag_unlock_on_the_command_line(tmp_path: Path) -> None:
    from kiosk.journal.staff_actions import PasscodeState

    path = tmp_path / "journal.sqlite"
    journal = Journal(path)
    journal.save_passcode_state(PasscodeState(10, "2026-01-05T01:00:00+00:00", "2026-01-05T00:00:00+00:00"))
    journal.close()
    cli = [sys.executable, "-m", "kiosk", "diag", "unlock", "--journal", str(path)]
    bad = subprocess.run([*cli, "--staff", "no spaces"], capture_output=True, text=True, check=False)
    assert bad.returncode == 3 and "refused: a staff id is" in bad.stderr
    done = subprocess.run([*cli, "--staff", "S-017"], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "staff passcode unlocked by S-017: 10 wrong code(s) in a row cleared"
    again = subprocess.run([*cli, "--staff", "S-017"], capture_output=True, text=True, check=False)
    assert again.returncode == 0 and "nothing to unlock" in again.stdout
    journal = Journal(path)
    state = journal.passcode_state()
    journal.close()
    assert state is not None and state.failures == 0
