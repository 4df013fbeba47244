"""The documented install (docs/installing.md) into a scratch root: scripts/install-kiosk.sh --root DIR puts
the product where a distribution would (/opt, /etc/myna-kiosk, /var/lib/myna-kiosk, the unit, the
kiosk's user), the unit passes ``systemd-analyze verify``, the installed ``kiosk`` runs, and a second
install (an upgrade) keeps the store's configuration."""

from __future__ import annotations

import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


def _install(root: Path, wheel: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(ROOT / "scripts" / "install-kiosk.sh"), "--root", str(root), "--wheel", str(wheel)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
        env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": str(root.parent), "PYTHON": sys.executable},
    )


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    base = tmp_path_factory.mktemp("install")
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(base / "dist"), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert built.returncode == 0, built.stderr[-2000:]
    (wheel,) = (base / "dist").glob("myna_kiosk-*.whl")
    root = base / "root"
    done = _install(root, wheel)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    yield root, wheel
    shutil.rmtree(base, ignore_errors=True)
    shutil.rmtree(ROOT / "build", ignore_errors=True)  # pip wheel's build folder


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_files_land_where_a_distribution_puts_them(installed: tuple[Path, Path]) -> None:
    root, _ = installed
    assert (root / "opt/myna-kiosk/bin/kiosk").is_file()
    assert (root / "etc/systemd/system/myna-kiosk.service").is_file()
    assert (root / "usr/lib/sysusers.d/myna-kiosk.conf").is_file()
    assert (root / "usr/share/doc/myna-kiosk/installing.md").is_file()
    config = root / "etc/myna-kiosk/kiosk.toml"
    assert config.read_text(encoding="utf-8").startswith("# myna-kiosk configuration")
    assert _mode(config) == 0o640 and _mode(config.parent) == 0o750
    assert _mode(root / "var/lib/myna-kiosk") == 0o700


def test_the_kiosk_user_exists_with_its_device_groups(installed: tuple[Path, Path]) -> None:
    root, _ = installed
    passwd = (root / "etc/passwd").read_text(encoding="utf-8")
    (user,) = [line for line in passwd.splitlines() if line.startswith("myna-kiosk:")]
    assert user.endswith(":/var/lib/myna-kiosk:/usr/sbin/nologin")
    groups = {
        line.split(":")[0]: line.split(":")[3] for line in (root / "etc/group").read_text().splitlines()
    }
    for group in ("dialout", "lp", "video", "input", "render"):
        assert "myna-kiosk" in groups[group].split(","), group


def test_the_unit_passes_systemd_analyze_verify(installed: tuple[Path, Path]) -> None:
    root, _ = installed
    unit = root / "etc/systemd/system/myna-kiosk.service"
    done = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    text = unit.read_text(encoding="utf-8")
    for setting in (
        "Type=notify",
        "WatchdogSec=",
        "Restart=on-failure",
        "User=myna-kiosk",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "PrivateTmp=yes",
        "StateDirectory=myna-kiosk",
        "After=pcscd.socket",
    ):
        assert setting in text, setting


def test_the_installed_kiosk_runs_and_holds_the_product_only(
    installed: tuple[Path, Path], tmp_path: Path
) -> None:
    root, _ = installed
    bin_dir = root / "opt/myna-kiosk/bin"
    done = subprocess.run(
        [str(bin_dir / "kiosk"), "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        check=False,
    )
    assert done.returncode == 0 and "{run,cash,diag}" in done.stdout, done.stderr
    listed = subprocess.run(
        [str(bin_dir / "python"), "-m", "pip", "list", "--format=freeze"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    ).stdout.lower()
    names = {line.split("==")[0] for line in listed.splitlines()}
    assert "kivy" in names and "myna-kiosk" in names
    assert names & {"aiohttp", "reportlab", "jsonschema", "pyyaml"} == set()


def test_an_upgrade_keeps_the_store_configuration(installed: tuple[Path, Path]) -> None:
    root, wheel = installed
    config = root / "etc/myna-kiosk/kiosk.toml"
    config.write_text(config.read_text(encoding="utf-8") + "\n# the store's own edit\n", encoding="utf-8")
    (root / "var/lib/myna-kiosk/journal.sqlite").write_bytes(b"journal")
    done = _install(root, wheel)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "kept the existing" in done.stdout
    assert config.read_text(encoding="utf-8").endswith("# the store's own edit\n")
    assert (root / "var/lib/myna-kiosk/journal.sqlite").read_bytes() == b"journal"
