"""The real kiosk against the simulators as separate components: its clock compared with the center's at
start (``kiosk run --config`` refuses to open, exit 3) and while running (the heartbeat sees the skew, a
resident cannot start, service resumes once the clock is right); and a whole transaction whose every log
line and support bundle hold no PIN, no name, no address, no My Number and no document."""

from __future__ import annotations

import json
import logging
import re
import stat
import tarfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from real_kiosk_helpers import PIN, ROOT, StoreDevices, run_until_open, wait_no_card, write_config

from harness.scenario import Player, load_scenario
from kiosk.app.assemble import RealKiosk
from kiosk.app.cli import main as kiosk_main
from kiosk.app.config import load_config
from kiosk.app.logsetup import JournalFormatter
from kiosk.flow import events as ev
from kiosk.flow.view import Screen
from kiosk.staff.diagnostics import live_diagnostics
from kiosk.staff.passcode import hash_passcode

pytestmark = [pytest.mark.slow, pytest.mark.interop, pytest.mark.pcsc]
PIN_TOKEN = re.compile(rf"(?<![0-9A-Za-z]){PIN}(?![0-9A-Za-z])")
CLOCK_ON = "enforce = true\nmax_skew_s = 120"


def wait_for(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


@pytest.fixture
def center_clock(devices: StoreDevices) -> Iterator[Callable[[float | None], None]]:
    """Set the mock center's clock ``seconds`` from the real time (None: the real time); the module's
    simulated service time is restored afterwards."""
    before = devices.center.clock.now()

    def set_offset(seconds: float | None) -> None:
        at = None if seconds is None else datetime.now(UTC) + timedelta(seconds=seconds)
        devices.center.clock.set(at)

    yield set_offset
    devices.center.clock.set(before)


def test_kiosk_run_refuses_to_open_when_its_clock_is_behind_the_centers(
    devices: StoreDevices, tmp_path: Path, center_clock: Callable[[float | None], None]
) -> None:
    center_clock(9 * 60 + 12)  # the center is 9 min 12 s ahead: the kiosk is that far behind
    run = run_until_open(write_config(devices, tmp_path, clock_enforce=CLOCK_ON), "--headless")
    assert not run.opened and run.status == 3, run.out + run.err
    assert re.search(
        r"^kiosk: cannot open: clock: FAILED: 9 min 1[123] s behind the center \(more than 120 s\)",
        run.err,
        re.M,
    ), run.err
    center_clock(-30)  # within bounds: it opens, and says how far off it is
    run = run_until_open(write_config(devices, tmp_path, clock_enforce=CLOCK_ON), "--headless")
    assert run.opened and run.status == 0, run.out + run.err
    assert re.search(r"^start-up clock: ok: (29|30|31) s ahead of the center \(limit 120 s\)$", run.out, re.M)


def test_a_running_kiosk_takes_no_resident_while_its_clock_is_off_and_resumes(
    devices: StoreDevices, tmp_path: Path, center_clock: Callable[[float | None], None]
) -> None:
    center_clock(None)
    config = load_config(write_config(devices, tmp_path, clock_enforce=CLOCK_ON))
    with RealKiosk(config) as kiosk:
        flow = kiosk.flow
        assert "clock: ok: " in "\n".join(kiosk.report.lines())
        flow.post(ev.Start("ja"))  # a resident is mid-transaction when the clock is found off
        wait_for(lambda: flow.view.screen is Screen.ROUTE)
        center_clock(9 * 60 + 12)
        assert kiosk.heartbeat.beat_now().ok  # the heartbeat itself went through: the clock is the problem
        wait_for(lambda: flow.view.out_of_service == "clock")
        flow.post(ev.ChooseRoute("residence"))  # the transaction in progress goes on
        wait_for(lambda: flow.view.screen is Screen.PLACE_CARD)
        flow.post(ev.Cancel())
        wait_for(lambda: flow.view.screen is Screen.FAILED)
        flow.post(ev.Finish())
        wait_for(lambda: flow.view.screen is Screen.ATTRACT)
        assert flow.view.out_of_service == "clock"
        lines = live_diagnostics(kiosk, extra=kiosk.report.checks).device_status() or []
        (clock,) = [line for line in lines if line.device == "clock"]
        assert (
            not clock.ok and "behind the center (more than 120 s)" in clock.detail and "CK1" in clock.detail
        )
        flow.post(ev.Start("ja"))  # refused: the attract screen says the kiosk is out of service
        time.sleep(3 * config.tick)
        assert flow.view.screen is Screen.ATTRACT and flow.transaction_id is None
        center_clock(None)  # the clock is set right; the next heartbeat sees it
        kiosk.heartbeat.beat_now()
        wait_for(lambda: flow.view.out_of_service == "")
        flow.post(ev.Start("ja"))
        wait_for(lambda: flow.view.screen is Screen.ROUTE)
        flow.post(ev.Cancel())
        wait_for(lambda: flow.view.screen is Screen.FAILED)


def _bundle_texts(path: Path) -> dict[str, str]:
    with tarfile.open(path, "r:gz") as tar:
        out = {}
        for member in tar.getmembers():
            handle = tar.extractfile(member)
            assert handle is not None
            out[member.name.removeprefix("kiosk-support/")] = handle.read().decode("utf-8")
    return out


@pytest.fixture
def journal_log(tmp_path: Path) -> Iterator[Path]:
    """Every log line of the test, as the system journal would get it (priority prefixes), in a file."""
    path = tmp_path / "kiosk.log"
    stream = path.open("w", encoding="utf-8")
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JournalFormatter())
    handler.setLevel(1)  # everything, traffic level included
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(1)
    yield path
    root.removeHandler(handler)
    root.setLevel(level)
    stream.close()


def test_a_whole_transaction_leaves_no_personal_data_in_the_logs_or_the_support_bundle(
    devices: StoreDevices, tmp_path: Path, journal_log: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    passcode_hash = hash_passcode("86420")
    folder = tmp_path / "etc"
    path = write_config(
        devices, folder, **{"[staff]": "[staff]", "passcode_hash": f'passcode_hash = "{passcode_hash}"'}
    )
    steps: list[str] = []
    with RealKiosk(load_config(path)) as kiosk:
        final = Player(kiosk.flow, devices.hands, steps.append).play(
            load_scenario(ROOT / "harness" / "scenarios" / "juminhyo.toml"), step_timeout=30
        )
        (record,) = kiosk.journal.transactions()
        txn = record.id
    wait_no_card()
    assert final.outcome is not None and final.outcome.ok, steps
    bundle = tmp_path / "support.tar.gz"
    assert (
        kiosk_main(["diag", "--config", str(path), "--export", str(bundle), "--log-file", str(journal_log)])
        == 0
    )
    assert f"support bundle {bundle} (logs: log file {journal_log})" in capsys.readouterr().out
    assert stat.S_IMODE(bundle.stat().st_mode) == 0o600

    log_text = journal_log.read_text(encoding="utf-8")
    field = [line for line in log_text.splitlines() if line.startswith("<6>kiosk.flow.fieldlog: ")]
    assert f"<6>kiosk.flow.fieldlog: txn={txn} screen=route prev=attract took=" in log_text
    assert any(f"txn={txn} outcome=take_certificate reason=completed staff=OK fee=200" in x for x in field)
    assert any(f"txn={txn} cash coin_in yen=500 credit=500" in x for x in field)
    assert any(f"txn={txn} cash paid_out yen=300" in x for x in field)
    assert any(f"txn={txn} printer page=" in x for x in field)
    assert any("card inserted reader=" in x for x in field) and any(
        "card removed reader=" in x for x in field
    )

    texts = _bundle_texts(bundle)
    assert set(texts) == {
        "README.txt",
        "config.json",
        "versions.txt",
        "devices.txt",
        "journal.txt",
        "logs.txt",
    }
    config = json.loads(texts["config.json"])
    assert config["staff_passcode_hash"] == "(removed from the support bundle)"
    assert (
        config["terminal_key"]["path"].endswith("terminal.key") and config["terminal_key"]["mode"] == "0600"
    )
    assert txn in texts["journal.txt"] and "take_certificate" in texts["logs.txt"]
    devices_text = texts["devices.txt"]
    assert "not probed" in devices_text and "card inserted" in devices_text and "FAULTS IN" in devices_text
    assert "myna-kiosk" in texts["versions.txt"] and "cryptography==" in texts["versions.txt"]

    assert devices.center.center is not None
    resident = devices.center.center.registry.resident("C-001")
    assert resident is not None
    secrets = {
        "name": resident.full_name,
        "family name": resident.family_name,
        "given name": resident.given_name,
        "kana": f"{resident.family_kana}\u3000{resident.given_kana}",
        "address": resident.address,
        "previous address": resident.previous_address,
        "My Number": resident.my_number,
        "passcode hash": passcode_hash,
        "a key": "PRIVATE KEY",
        "a document": "%PDF-",
    }
    everything = {"the log": log_text, **{f"bundle {name}": text for name, text in texts.items()}}
    for where, text in everything.items():
        assert not PIN_TOKEN.search(text), f"the PIN in {where}"
        for what, secret in secrets.items():
            assert secret and secret not in text, f"{what} in {where}"
    raw = bundle.read_bytes() + journal_log.read_bytes()
    assert b"%PDF" not in raw and resident.my_number.encode() not in raw
