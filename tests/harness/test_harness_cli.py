"""What a new user met in ``kiosk-harness``, each fixed: temporary work folders (they hold CA private keys)
removed unless ``--work``/``--keep``; printed pages only where ``--out`` says and no empty folder for a
0-page outcome; a scenario with an unknown action refused before anything starts; the step log of one
scenario the same from run to run; Ctrl-C mid-transaction says what it leaves, a restart on the same
``--work`` recovers it as ``kiosk run`` does, and ``kiosk diag`` then shows the open item; the end of
stdin stops ``sim --headless`` as ``quit`` does."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.cli import main

REPO = Path(__file__).resolve().parents[2]
CLOCK = "2027-03-03T10:00:00+09:00"


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, Path]]:
    """(the current folder, the temporary-files folder), both empty and private to the test."""
    cwd, tmp = tmp_path / "cwd", tmp_path / "tmp"
    cwd.mkdir()
    tmp.mkdir()
    monkeypatch.chdir(cwd)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    yield cwd, tmp


def _work_folders(tmp: Path) -> list[Path]:
    """The harness's temporary work folders in ``tmp`` (the simulators' shared dnssd state may be there)."""
    return [p for p in tmp.iterdir() if p.name.startswith("kiosk-")]


def _log(out: str) -> list[str]:
    """The step log, outcome and screens of a play run: what must be the same every run."""
    return [line for line in out.splitlines() if line.startswith(("[", "outcome:", "screens:"))]


def test_play_leaves_nothing_behind_and_its_step_log_is_the_same_every_run(
    isolated: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    cwd, tmp = isolated
    assert main(["play", "juminhyo", "--clock", CLOCK]) == 0
    first = capsys.readouterr().out
    assert "printed pages: 2 (not kept: --out DIR keeps them)" in first
    assert list(cwd.iterdir()) == [] and _work_folders(tmp) == []  # no ./out/juminhyo, no kiosk-play-*
    assert main(["play", "juminhyo", "--clock", CLOCK, "--keep", "--out", str(cwd / "pages")]) == 0
    second = capsys.readouterr().out
    (kept,) = _work_folders(tmp)
    assert f"work folder kept: {kept}" in second and (kept / "journal.sqlite").exists()
    pages = sorted((cwd / "pages" / "juminhyo").iterdir())
    assert len(pages) == 2 and all(p.read_bytes().startswith(b"%PDF") for p in pages)
    assert sorted(p.name for p in cwd.iterdir()) == ["pages"]  # nothing beside --out
    assert _log(first) == _log(second) and len(_log(first)) == 12
    assert _log(first)[3] == "[ 4] pin: pin ****"


def test_a_0_page_outcome_makes_no_folder(
    isolated: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    cwd, tmp = isolated
    assert main(["play", "expired_card", "--clock", CLOCK, "--out", str(cwd / "pages")]) == 0
    assert "printed pages: 0" in capsys.readouterr().out
    assert list(cwd.iterdir()) == [] and _work_folders(tmp) == []


@pytest.mark.parametrize(
    ("step", "error"),
    [
        ('wait = "pin"\ndo = "dance"', "step 2: unknown action 'dance' (actions: start, route"),
        ('wait = "pin"\ndo = "pin"', "step 2: pin needs 'pin'"),
        ('wait = "pin"\ndo = "choose"\ntype = "juminhyo"\ncopies = 2', "step 2: choose takes no 'copies'"),
        ('wait = "lobby"', "step 2: unknown screen 'lobby'"),
    ],
)
def test_a_bad_scenario_is_refused_before_anything_starts(
    step: str, error: str, isolated: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    cwd, tmp = isolated
    path = cwd / "bad.toml"
    path.write_text(f'name = "bad"\n[[step]]\nwait = "attract"\ndo = "start"\n[[step]]\n{step}\n')
    assert main(["play", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"kiosk-harness: {path}: {error}") and err.count("\n") == 1
    assert _work_folders(tmp) == []  # no work folder: nothing was started


def test_a_malformed_clock_is_one_line(
    isolated: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["play", "juminhyo", "--clock", "tomorrow"]) == 2
    assert capsys.readouterr().err == (
        "kiosk-harness: clock 'tomorrow' is not an ISO 8601 time (e.g. 2027-03-01T10:00:00+09:00)\n"
    )


class Lines:
    """A process's stdout, line by line, from a reader thread; its stderr kept apart, to explain a failure
    (and read, so a chatty process never blocks on a full pipe)."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self.queue: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        self.errors: list[str] = []
        assert process.stdout is not None
        stream = process.stdout
        threading.Thread(
            target=lambda: [self.queue.put(line.rstrip("\n")) for line in stream], daemon=True
        ).start()
        if process.stderr is not None:
            errors = process.stderr
            threading.Thread(
                target=lambda: [self.errors.append(line) for line in errors], daemon=True
            ).start()

    def until(self, prefix: str, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.queue.get(timeout=0.1)
            except queue.Empty:
                if self.process.poll() is not None and self.queue.empty():
                    time.sleep(0.2)  # the stderr thread's last lines
                    raise AssertionError(
                        f"no {prefix!r}: the process exited with {self.process.returncode}; "
                        f"stdout {self.seen[-20:]}; stderr:\n{''.join(self.errors)[-3000:]}"
                    ) from None
                continue
            self.seen.append(line)
            if line.startswith(prefix):
                return line
        raise AssertionError(
            f"no {prefix!r} in {timeout} s: stdout {self.seen[-20:]}; stderr:\n{''.join(self.errors)[-3000:]}"
        )


@pytest.mark.timeout(90)
def test_ctrl_c_mid_transaction_says_what_it_leaves_and_a_restart_recovers_it(tmp_path: Path) -> None:
    work = tmp_path / "work"
    cmd = [sys.executable, "-m", "harness", "sim", "--headless", "--work", str(work), "--clock", CLOCK]
    proc = subprocess.Popen(cmd, cwd=REPO, text=True, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    lines = Lines(proc)
    assert proc.stdin is not None
    try:
        lines.until("harness:")
        for command, answer in [
            ("start", "tapped start -> route"),
            ("route residence", "tapped route residence -> place_card"),
            ("card", "card C-001 normal placed -> pin"),
            ("pin 1234", "tapped pin **** -> remove_card"),
            ("remove", "card C-001 normal removed -> choose_type"),
            ("choose juminhyo", "tapped choose juminhyo -> options"),
            ("options scope=all", "tapped options scope=all -> copies"),
            ("copies 1", "tapped copies 1 -> confirm"),
            ("confirm", "tapped confirm -> pay"),
            ("coin 100", "coin 100: accepted"),
        ]:
            proc.stdin.write(command + "\n")
            proc.stdin.flush()
            lines.until(answer)
        proc.send_signal(signal.SIGINT)
        stopped = lines.until("stopped mid-transaction")
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=5)
    txn = stopped.split()[2].rstrip(":")
    assert (
        stopped == f"stopped mid-transaction {txn}: 100 yen held; start again on the same --work to recover"
    )
    assert "1234" not in "\n".join(lines.seen)
    again = subprocess.run(cmd, cwd=REPO, input="", capture_output=True, text=True, timeout=60)  # EOF = quit
    assert again.returncode == 0, again.stderr[-2000:]
    assert f"start-up recovered {txn}: cancelled, owed 100 yen" in again.stdout.splitlines()
    diag = subprocess.run(
        [sys.executable, "-m", "kiosk", "diag", "--journal", str(work / "journal.sqlite")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "OPEN ITEMS (1)" in diag.stdout and f"{txn}  RC2" in diag.stdout, diag.stdout


def test_bench_up_starts_afresh_and_never_clears_a_folder_that_is_not_a_bench(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from harness.bench import HEADER, clear_previous_bench

    mine = tmp_path / "notes"
    mine.mkdir()
    (mine / "todo.txt").write_text("keep me")
    assert main(["bench", "up", str(mine)]) == 2
    assert capsys.readouterr().err == (
        f"kiosk-harness: bench: {mine} is not empty and not a bench's folder: give an empty or new folder\n"
    )
    assert (mine / "todo.txt").read_text() == "keep me"
    old = tmp_path / "bench"
    (old / "var").mkdir(parents=True)
    (old / "var" / "journal.sqlite").write_bytes(b"old")
    (old / "kiosk.toml").write_text(HEADER + "\n")
    clear_previous_bench(old)
    assert list(old.iterdir()) == []


@pytest.mark.timeout(90)
def test_the_sim_window_says_it_renders_off_screen_for_want_of_a_display(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["TMPDIR"] = str(tmp_path / "tmp")
    env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(REPO), env.get("PYTHONPATH")])
    )  # cwd is not the repo
    (tmp_path / "tmp").mkdir()
    cmd = [sys.executable, "-m", "harness", "sim", "--clock", CLOCK]
    proc = subprocess.Popen(
        cmd, cwd=tmp_path, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    lines = Lines(proc)
    try:
        lines.until("touchscreen open", 60)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=5)
    assert lines.seen[0] == (
        "the touchscreen renders off screen: no display (DISPLAY is unset); nothing is shown. "
        "--headless: use stdin"
    )
    assert [p.name for p in tmp_path.iterdir()] == ["tmp"] and _work_folders(tmp_path / "tmp") == []
