"""What a store kiosk installs: the product alone. A fresh virtual environment gets ``pip install .``
with the core dependencies only (no harness extra, no Kivy), and the store's commands work there: ``kiosk
--help``, ``kiosk run --config``'s error paths, the device stack imports. The stand-ins' dependencies
(aiohttp, reportlab, ...) and the harness's are absent, and the harness says which extra it needs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow
SERVER_LIBRARIES = {"aiohttp", "reportlab", "jsonschema", "pyyaml", "kivy", "pillow"}


def _tracked_copy(dest: Path) -> Path:
    """The repository's tracked files (as a clone would have them), without build leftovers."""
    files = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True, timeout=30
    ).stdout.split(b"\0")
    for name in filter(None, files):
        source = ROOT / name.decode()
        if source.is_file():
            target = dest / name.decode()
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return dest


@pytest.fixture(scope="module")
def core_venv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A virtual environment with ``pip install <repo>``: the product and its core dependencies only."""
    base = tmp_path_factory.mktemp("core")
    source = _tracked_copy(base / "src")
    env_dir = base / "venv"
    venv.create(env_dir, with_pip=True, clear=True)
    done = subprocess.run(
        [
            str(env_dir / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            str(source),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    yield env_dir
    shutil.rmtree(base, ignore_errors=True)


def _run(env_dir: Path, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """A command of the installed copy, as a store runs it: without this session's PYTHONPATH (which may
    name the repository and would put it before the installed packages)."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    return subprocess.run(
        [str(env_dir / "bin" / args[0]), *args[1:]],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=cwd,
        env=env,
    )


def test_the_default_install_has_no_stand_in_or_ui_library(core_venv: Path) -> None:
    listed = _run(core_venv, "python", "-m", "pip", "list", "--format=freeze").stdout.lower()
    installed = {line.split("==")[0] for line in listed.splitlines()}
    assert {"cryptography", "pyscard", "pyserial", "requests"} <= installed
    assert installed & SERVER_LIBRARIES == set()


def test_kiosk_help_lists_what_a_store_runs(core_venv: Path) -> None:
    done = _run(core_venv, "kiosk", "--help")
    assert done.returncode == 0, done.stderr
    assert "{run,cash,diag}" in done.stdout
    assert "play" not in done.stdout and "--sim" not in done.stdout


def test_kiosk_run_refuses_a_missing_or_broken_config_in_one_line(core_venv: Path, tmp_path: Path) -> None:
    missing = _run(core_venv, "kiosk", "run", "--config", str(tmp_path / "none.toml"), "--headless")
    assert missing.returncode == 2
    assert missing.stderr.strip().count("\n") == 0 and "none.toml" in missing.stderr
    broken = tmp_path / "kiosk.toml"
    broken.write_text("[center\nurl = 1\n", encoding="utf-8")
    bad = _run(core_venv, "kiosk", "run", "--config", str(broken), "--headless")
    assert bad.returncode == 2
    assert (
        bad.stderr.strip().count("\n") == 0 and "kiosk.toml" in bad.stderr and "Traceback" not in bad.stderr
    )


def test_the_device_stack_imports_without_the_harness(core_venv: Path, tmp_path: Path) -> None:
    probe = (
        "import sys, kiosk.app.assemble, kiosk.app.run, kiosk.app.diag_cli, reader.pcsc, relay_client\n"
        "loaded = {m.split('.')[0] for m in sys.modules}\n"
        "bad = {'firmware_sim', 'mock_relay', 'harness', 'aiohttp', 'reportlab'} & loaded\n"
        "print(sorted(bad))\n"
    )
    done = _run(core_venv, "python", "-c", probe, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_the_harness_without_its_extra_names_the_extra(core_venv: Path, tmp_path: Path) -> None:
    done = _run(core_venv, "kiosk-harness", "play", "juminhyo", "--out", str(tmp_path), cwd=tmp_path)
    assert done.returncode == 2
    assert "myna-kiosk[harness]" in done.stderr and "Traceback" not in done.stderr


def test_the_installed_copy_is_not_the_repository(core_venv: Path, tmp_path: Path) -> None:
    """The venv's packages are its own copies, not the repository's (an editable install would hide a
    missing package or data file)."""
    done = _run(
        core_venv,
        "python",
        "-c",
        "import kiosk, harness; print(kiosk.__file__, harness.__file__)",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert str(ROOT) not in done.stdout and "site-packages" in done.stdout
    count = "import harness, pathlib; here = pathlib.Path(harness.__file__).parent; "
    count += "print(len(list((here / 'scenarios').glob('*.toml'))))"
    scenarios = _run(core_venv, "python", "-c", count, cwd=tmp_path)
    assert int(scenarios.stdout.strip()) >= 20, scenarios.stderr
    assert sys.executable not in done.stdout
