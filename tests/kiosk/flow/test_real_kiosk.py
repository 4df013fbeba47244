"""``kiosk run --config``: the real-device assembly (kiosk.app.config + kiosk.app.assemble + kiosk.app.run)
against
the simulators running as separate components, reached only as a store's devices are: the virtual card
behind real pcscd + vpcd, the cash unit on a pty, ippeveprinter over IPP, the mock center over mutual TLS."""

from __future__ import annotations

import logging
import os
import re
import shutil
import tomllib
from argparse import Namespace
from pathlib import Path

import pytest
from real_kiosk_helpers import (
    PIN,
    READER,
    ROOT,
    StoreDevices,
    run_until_open,
    wait_no_card,
    write_config,
)

from firmware_sim.printer.cupsd import CupsServer
from harness.scenario import Player, load_scenario
from kiosk.app.assemble import RealKiosk, StartupError
from kiosk.app.config import SCHEMA, ConfigError, load_config
from kiosk.app.run import run_real
from kiosk.journal.store import Journal
from kiosk.money import CreditSource

pytestmark = [pytest.mark.slow, pytest.mark.interop, pytest.mark.pcsc]
PIN_TOKEN = re.compile(rf"(?<![0-9A-Za-z]){PIN}(?![0-9A-Za-z])")


def test_juminhyo_end_to_end_on_real_device_paths(
    devices: StoreDevices, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    config = load_config(write_config(devices, tmp_path / "etc"))
    assert config.journal == tmp_path / "etc" / "var" / "journal.sqlite"  # relative to the file's folder
    before = len(devices.pages())
    steps: list[str] = []
    with RealKiosk(config) as kiosk:
        report = kiosk.report.lines()
        assert [line.split(":")[0] for line in report[:4]] == ["reader", "cash", "printer", "center"]
        assert all(": ok: " in line for line in report[:4]) and READER in report[0]
        assert "as terminal T-0001: ok, in service hours" in report[3]
        assert report[4].startswith("journal: ok: ") and "(schema " in report[4]
        assert report[5].startswith("recovery: nothing")
        final = Player(kiosk.flow, devices.hands, steps.append).play(
            load_scenario(ROOT / "harness" / "scenarios" / "juminhyo.toml"), step_timeout=30
        )
    wait_no_card()
    assert final.outcome is not None, steps
    assert (final.outcome.reason, final.outcome.message_key) == ("completed", "take_certificate"), steps
    assert (final.fee, final.amount_inserted, final.change) == (200, 500, 300)
    printed = devices.pages()[before:]
    assert len(printed) == final.pages_total > 0 and all(p.read_bytes().startswith(b"%PDF") for p in printed)
    journal = Journal(config.journal)
    (txn,) = journal.transactions()
    balance = journal.balance(txn.id)
    assert balance.settled and (balance.inserted, balance.change, balance.printed_fees) == (500, 300, 200)
    assert txn.report_status == "reported" and [d.state for d in txn.documents] == ["printed"]
    journal.close()
    assert "[ 4] pin: pin ****" in "\n".join(steps)
    assert not PIN_TOKEN.search(caplog.text + "\n".join(steps))
    for path in config.journal.parent.glob("journal.sqlite*"):
        assert not PIN_TOKEN.search(path.read_bytes().decode("latin-1")), path.name


def test_start_up_recovers_an_interrupted_transaction_and_reports_it(
    devices: StoreDevices, tmp_path: Path
) -> None:
    config = load_config(write_config(devices, tmp_path))
    journal = Journal(config.journal)  # power lost while a resident was paying: 500 yen in, no order yet
    journal.begin("txn-power-cut")
    journal.record_credit("coin-1", 500, CreditSource.COIN)
    journal.close()
    with RealKiosk(config) as kiosk:
        assert "recovered txn-power-cut: cancelled, owed 500 yen" in kiosk.report.lines()
        (recovered,) = kiosk.report.recovered
        assert recovered.refund_owed == 500
    journal = Journal(config.journal)
    assert journal.transactions(unfinished_only=True) == [] and journal.balance("txn-power-cut").settled
    journal.close()


def _refused(devices: StoreDevices, tmp_path: Path, **override: str) -> StartupError:
    config = load_config(write_config(devices, tmp_path, **override))
    with pytest.raises(StartupError) as caught, RealKiosk(config):
        pass
    return caught.value


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_refuses_to_open_when_the_printer_is_unreachable(devices: StoreDevices, tmp_path: Path) -> None:
    uri = f"ipp://127.0.0.1:{_free_port()}/ipp/print"
    refusal = _refused(devices, tmp_path, uri=f'uri = "{uri}"')
    (failed,) = refusal.failed
    assert failed.device == "printer" and uri in failed.detail and "unreachable" in failed.detail
    assert str(refusal).startswith("cannot open: printer: FAILED: ")


def test_refuses_a_cups_queue_naming_the_printer_behind_it(devices: StoreDevices, tmp_path: Path) -> None:
    with CupsServer() as cups:
        uri = cups.add_queue("Kiosk", devices.printer.uri)
        refusal = _refused(devices, tmp_path, uri=f'uri = "{uri}"')
        (failed,) = refusal.failed
        assert failed.device == "printer" and len(str(refusal).splitlines()) == 1
        assert f"queue in front of {devices.printer.uri}" in failed.detail and "printer.uri" in failed.detail
        opted_in = load_config(
            write_config(devices, tmp_path / "cups", uri=f'uri = "{uri}"\nthrough_cups = true')
        )
        with RealKiosk(opted_in) as kiosk:  # the documented opt-in opens, with unconfirmed page counts
            assert any(line.startswith("printer: ok: ") for line in kiosk.report.lines())


def test_refuses_to_open_when_the_pinned_center_ca_is_wrong(devices: StoreDevices, tmp_path: Path) -> None:
    (tmp_path / "other-ca.pem").write_bytes(devices.jpki_bundle.read_bytes())  # a CA, but not the center's
    refusal = _refused(devices, tmp_path, ca='ca = "other-ca.pem"')
    (failed,) = refusal.failed
    assert failed.device == "center" and "TLS handshake failed" in failed.detail
    assert "center.ca" in failed.detail and devices.center.api_url in failed.detail


@pytest.mark.parametrize(
    ("key", "line", "device", "words"),
    [
        ("reader", 'url = "pcsc://No Such Reader 00 00"', "reader", "no reader named 'No Such Reader 00 00'"),
        ("port", 'port = "/dev/no-such-cash-port"', "cash", "/dev/no-such-cash-port"),
        ("center", 'url = "https://127.0.0.1:{free}"', "center", "https://127.0.0.1:{free}: unreachable"),
    ],
)
def test_refuses_to_open_naming_a_missing_reader_cash_port_or_center(
    devices: StoreDevices, tmp_path: Path, key: str, line: str, device: str, words: str
) -> None:
    free = _free_port()
    (failed,) = _refused(devices, tmp_path, **{key: line.format(free=free)}).failed
    assert failed.device == device and words.format(free=free) in failed.detail


def test_refuses_to_open_when_the_cash_unit_does_not_answer(devices: StoreDevices, tmp_path: Path) -> None:
    master, slave = os.openpty()  # a serial line with nothing on the far end
    port = os.ttyname(slave)
    try:
        (failed,) = _refused(devices, tmp_path, port=f'port = "{port}"').failed
    finally:
        os.close(master)
        os.close(slave)
    assert failed.device == "cash" and f"cash unit on {port} does not answer" in failed.detail


@pytest.mark.parametrize(
    ("override", "words"),
    [
        ({"center": 'urll = "https://x"'}, "unknown key 'center.urll' (did you mean 'center.url'?)"),
        ({"terminal_cert": 'terminal_cert = "missing.pem"'}, "center.terminal_cert: file "),
        ({"terminal_key": 'terminal_key = "terminal/center-ca.pem"'}, "center.terminal_key: "),
        ({"ca": 'ca = "terminal/terminal.pem"'}, "center.ca: "),
        ({"tick": 'tick = "fast"'}, "tick: expected a positive number of seconds, got 'fast'"),
        (
            {"uri": 'uri = "lpd://printer"'},
            "printer.uri: expected a ipp:// or ipps:// or http:// or https://",
        ),
        ({"center": 'url = "http://127.0.0.1:1"'}, "center.url: expected a https:// URL"),
        ({"port": ""}, "missing required key cash.port"),
        ({"[timeouts]": "[timeout]"}, "unknown section [timeout] (did you mean 'timeouts'?)"),
    ],
)
def test_config_errors_are_one_line_naming_the_key(
    devices: StoreDevices, tmp_path: Path, override: dict[str, str], words: str
) -> None:
    path = write_config(devices, tmp_path, **override)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert words in message and str(path) in message and "\n" not in message
    if "terminal_cert" in override:
        assert str(tmp_path / "missing.pem") in message


def test_the_example_config_loads_and_documents_every_key(devices: StoreDevices, tmp_path: Path) -> None:
    shutil.copy(ROOT / "etc" / "kiosk.example.toml", tmp_path / "kiosk.toml")
    for name in ("terminal.pem", "terminal.key", "center-ca.pem"):
        (tmp_path / name).symlink_to(devices.terminal / name)
    (tmp_path / "jpki-auth-ca.pem").symlink_to(devices.jpki_bundle)
    config = load_config(tmp_path / "kiosk.toml")
    assert (config.center_ca, config.cash_port) == (tmp_path / "center-ca.pem", "/dev/ttyUSB0")
    assert config.timeouts.pay == 120 and config.journal == Path("/var/lib/myna-kiosk/journal.sqlite")
    example = tomllib.loads((ROOT / "etc" / "kiosk.example.toml").read_text(encoding="utf-8"))
    found = {("", key) for key, value in example.items() if not isinstance(value, dict)}
    found |= {(name, key) for name, table in example.items() if isinstance(table, dict) for key in table}
    assert found == {(section, key) for section, keys in SCHEMA.items() for key in keys}


def test_a_missing_config_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^config file .*nope\.toml not found$"):
        load_config(tmp_path / "nope.toml")


def test_run_real_exit_status_config_error_2_device_refusal_3(
    devices: StoreDevices, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_real(Namespace(config=tmp_path / "none.toml", headless=True)) == 2
    assert capsys.readouterr().err == f"kiosk: config file {tmp_path / 'none.toml'} not found\n"
    path = write_config(devices, tmp_path, reader='url = "pcsc://No Such Reader"')
    assert run_real(Namespace(config=path, headless=True)) == 3
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("kiosk: cannot open: reader: FAILED: pcsc://No Such Reader: ")


def test_headless_process_reports_its_start_up_and_stops_on_sigterm(
    devices: StoreDevices, tmp_path: Path
) -> None:
    run = run_until_open(write_config(devices, tmp_path), "--headless")
    assert run.opened and run.status == 0, run.out + run.err
    text = run.out
    for device in ("reader", "cash", "printer", "center"):
        assert f"start-up {device}: ok: " in text
    assert "start-up recovery: nothing unfinished" in text and text.rstrip().endswith("kiosk stopped")
