"""Issue #14, "nothing personal or secret stays behind a run unless asked", for the harness's runs:

- ``kiosk-harness play --work W``: W is kept (the journal, the center's data), but the simulated printer's
  spooled jobs and printed pages (certificates with residents' names) are gone when the run ends, unless
  ``--keep``; the mock center's register of residents in W is readable by its owner only;
- ``play`` and ``demo-ui`` without ``--work``: no temporary folder is left behind, and no file holding a
  private key (the mock center's CAs, the terminal's key) anywhere among the temporary files.

tests/harness/test_harness_cli.py checks the temporary work folder of an in-process ``play``;
tests/mock_relay/data/test_relay_data_registry.py the register's mode whatever the umask.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from firmware_sim.printer.dnssd import DnssdServices
from harness.cli import main

REPO = Path(__file__).resolve().parents[2]
CLOCK = "2027-03-03T10:00:00+09:00"


@pytest.fixture(scope="module")
def dnssd() -> Iterator[None]:
    """D-Bus and Avahi up for the whole module, not started and stopped again by every run."""
    services = DnssdServices()
    services.ensure()
    yield
    services.stop()


def pdfs(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*.pdf"))


def test_play_on_a_work_folder_leaves_no_certificate_unless_kept(
    dnssd: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    work = tmp_path / "work"
    assert main(["play", "juminhyo", "--clock", CLOCK, "--work", str(work)]) == 0
    assert "printed pages: 2 (not kept: --out DIR keeps them)" in capsys.readouterr().out
    assert pdfs(work) == [] and (work / "journal.sqlite").exists()  # the work folder itself is kept
    register = work / "center" / "registry.sqlite"
    assert stat.S_IMODE(register.stat().st_mode) == 0o600
    assert stat.S_IMODE((work / "center").stat().st_mode) == 0o700
    kept_work = tmp_path / "kept"
    assert main(["play", "juminhyo", "--clock", CLOCK, "--work", str(kept_work), "--keep"]) == 0
    kept = pdfs(kept_work)
    jobs, tray = (
        [p for p in kept if p.startswith("spool/jobs/")],
        [p for p in kept if p.startswith("spool/tray/")],
    )
    assert len(jobs) == 1 and len(tray) == 2 and len(kept) == 3, kept


def _secrets(folder: Path) -> list[str]:
    """Files under ``folder`` that hold a PEM private key."""
    found = []
    for path in folder.rglob("*"):
        try:
            if path.is_file() and not path.is_symlink() and b"PRIVATE KEY-----" in path.read_bytes():
                found.append(str(path.relative_to(folder)))
        except OSError:
            continue
    return found


@pytest.mark.slow
@pytest.mark.timeout(180)
@pytest.mark.parametrize(
    "command",
    [["play", "juminhyo"], ["demo-ui", "juminhyo", "--offscreen", "--out", "screens"]],
    ids=["play", "demo-ui"],
)
def test_a_run_without_work_leaves_no_temporary_folder_and_no_private_key(
    dnssd: None, tmp_path: Path, command: list[str]
) -> None:
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["TMPDIR"] = str(tmp)  # every process of the run makes its temporary files here
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))  # cwd: not the repo
    done = subprocess.run(
        [sys.executable, "-m", "harness", *command, "--clock", CLOCK],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=170,
        check=False,
    )
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    assert "printed pages: 2 (not kept:" in done.stdout
    assert [p.name for p in tmp.iterdir() if p.name.startswith("kiosk-")] == []  # no work folder left
    assert _secrets(tmp) == [] and _secrets(tmp_path) == []
    assert pdfs(tmp_path) == []  # no certificate anywhere, the screenshots are PNGs
