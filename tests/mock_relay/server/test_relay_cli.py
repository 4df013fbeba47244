"""`mock-relay` end to end as a user runs it: serve (one line, SIGTERM), info, terminal, card, revoke,
fault."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from relay_server_helpers import Card, Kiosk, business_time, open_and_authenticate

from mock_relay.cli.main import main

pytestmark = pytest.mark.slow


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mock_relay.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Path, str, subprocess.Popen[str]]]:
    data = tmp_path / "center"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mock_relay.cli.main",
            "serve",
            "--data",
            str(data),
            "--clock",
            business_time().isoformat(),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("listening on https://127.0.0.1:"), (
            line,
            proc.stderr.read() if proc.poll() else "",
        )
        yield data, line.split()[-1], proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def test_serve_info_terminal_card_revoke_fault(served, tmp_path: Path):
    data, url, proc = served
    info = json.loads(_cli("info", "--data", str(data)).stdout)
    assert info["api_url"] == url and info["ocsp_url"].startswith("http://127.0.0.1:")
    for name in ("center_ca", "terminal_ca", "jpki_auth_ca"):
        assert Path(info[name]).read_text().startswith("-----BEGIN CERTIFICATE-----")
    term = _cli("terminal", "new", "--data", str(data), "--out", str(tmp_path / "t"), "--id", "T-0002")
    assert term.returncode == 0 and (tmp_path / "t" / "terminal.key").stat().st_mode & 0o077 == 0
    residents = json.loads(_cli("residents", "--data", str(data), "--json").stdout)
    assert {"id", "municipality_code", "name", "notes"} <= set(residents[0])
    made = _cli(
        "card", "new", "--data", str(data), "C-008", "--out", str(tmp_path / "c.card"), "--auth-pin", "4321"
    )
    assert made.returncode == 0, made.stderr
    assert "4321" not in made.stdout + made.stderr
    kiosk, card = Kiosk(url, tmp_path / "t"), Card(tmp_path / "c.card")
    _, auth = open_and_authenticate(kiosk, card)
    assert auth.status == 200, auth.body
    assert (
        _cli(
            "fault", "--data", str(data), "add", "--kind", "error", "--route", "openSession", "--count", "1"
        ).returncode
        == 0
    )
    assert kiosk.post("/v1/sessions", {}).code == "injected_fault"
    assert _cli("revoke", "--data", str(data), str(tmp_path / "c.card")).returncode == 0
    _, refused = open_and_authenticate(kiosk, card)
    assert refused.code == "certificate_revoked"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=20) == 0
    assert json.loads(_cli("info", "--data", str(data)).stdout)["api_url"] is None


def test_bad_input_is_one_line_not_a_traceback(tmp_path: Path, capsys):
    assert main(["info", "--data", str(tmp_path / "nothing")]) == 2
    assert (
        main(["terminal", "new", "--data", str(tmp_path / "c"), "--out", str(tmp_path / "t"), "--id", "X"])
        == 2
    )
    assert (
        main(["card", "new", "--data", str(tmp_path / "c"), "NOBODY", "--out", str(tmp_path / "x.card")]) == 2
    )
    assert main(["fault", "--data", str(tmp_path / "c"), "list"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("mock-relay:") == 4
