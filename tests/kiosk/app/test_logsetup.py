"""Log lines for the system journal: sd-daemon priority prefixes and no time stamp when stderr is the
journal stream systemd named in $JOURNAL_STREAM, a time stamp anywhere else; and ``kiosk diag --export``'s
log source when there is no log file (journalctl, or a line saying why not)."""

from __future__ import annotations

import io
import logging
import os
import subprocess
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TextIO

import pytest

from kiosk.app.logsetup import configure_logging, journal_priority, under_journal
from kiosk.app.support import device_lines, journal_logs


@pytest.fixture
def root_logger() -> Iterator[logging.Logger]:
    """The root logger, restored afterwards (configure_logging replaces its handlers and level)."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield root
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)


def _stream_id(stream: TextIO) -> str:
    st = os.fstat(stream.fileno())
    return f"{st.st_dev}:{st.st_ino}"


@pytest.mark.parametrize(
    ("level", "priority"),
    [(logging.CRITICAL, 2), (logging.ERROR, 3), (logging.WARNING, 4), (logging.INFO, 6), (logging.DEBUG, 7)],
)
def test_levels_map_to_syslog_priorities(level: int, priority: int) -> None:
    assert journal_priority(level) == priority


def test_under_the_journal_lines_carry_a_priority_and_no_time(
    tmp_path: Path, root_logger: logging.Logger
) -> None:
    with (tmp_path / "stderr").open("w+", encoding="utf-8") as stream:
        env = {"JOURNAL_STREAM": _stream_id(stream)}
        assert under_journal(stream, env)
        assert configure_logging(logging.INFO, stream=stream, env=env, force=True) is not None
        logging.getLogger("kiosk.flow.fieldlog").info("txn=abc screen=pin prev=reading took=1.0s")
        logging.getLogger("kiosk.staff.skew").error("clock out of bounds")
        logging.getLogger("kiosk.x").debug("not at INFO")
        try:
            raise ValueError("boom")
        except ValueError:
            logging.getLogger("kiosk.y").exception("failed")
        stream.seek(0)
        lines = stream.read().splitlines()
    assert lines[:3] == [
        "<6>kiosk.flow.fieldlog: txn=abc screen=pin prev=reading took=1.0s",
        "<3>kiosk.staff.skew: clock out of bounds",
        "<3>kiosk.y: failed",
    ]
    assert len(lines) > 4 and all(line.startswith("<3>") for line in lines[3:])  # the traceback, line by line
    assert lines[-1] == "<3>ValueError: boom"


def test_elsewhere_lines_carry_a_time_and_a_level_name(tmp_path: Path, root_logger: logging.Logger) -> None:
    with (
        (tmp_path / "stderr").open("w+", encoding="utf-8") as stream,
        (tmp_path / "other").open("w") as other,
    ):
        # $JOURNAL_STREAM names another stream (e.g. inherited by a child whose stderr was redirected)
        env = {"JOURNAL_STREAM": _stream_id(other)}
        assert not under_journal(stream, env) and not under_journal(io.StringIO(), env)
        assert not under_journal(stream, {"JOURNAL_STREAM": "junk"}) and not under_journal(stream, {})
        configure_logging(logging.WARNING, stream=stream, env=env, force=True)
        logging.getLogger("kiosk.z").warning("heartbeat failed")
        stream.seek(0)
        (line,) = stream.read().splitlines()
    assert line.endswith(" WARNING kiosk.z: heartbeat failed") and line[:4].isdigit() and "<" not in line


def test_a_root_logger_configured_by_someone_else_is_left_alone(root_logger: logging.Logger) -> None:
    root_logger.addHandler(logging.NullHandler())
    assert configure_logging(logging.INFO, stream=io.StringIO(), env={}) is None


Runner = Callable[[Sequence[str]], subprocess.CompletedProcess[str]]


def _journalctl(stdout: str, returncode: int = 0, stderr: str = "") -> tuple[Runner, list[Sequence[str]]]:
    calls: list[Sequence[str]] = []

    def run(argv: Sequence[str]) -> subprocess.CompletedProcess[str]:
        calls.append(argv)
        return subprocess.CompletedProcess(list(argv), returncode, stdout, stderr)

    return run, calls


def test_the_bundle_takes_the_logs_from_journalctl_when_no_log_file_is_given() -> None:
    run, calls = _journalctl(
        "2026-12-07T10:00:00+0900 host kiosk[1]: start-up clock: ok: 0 s off the center\n"
    )
    source, text = journal_logs(None, run=run)
    assert calls == [["journalctl", "-u", "myna-kiosk", "-n", "2000", "--no-pager", "-o", "short-iso"]]
    assert source.startswith("journalctl -u myna-kiosk") and device_lines(text) == [text.strip()]
    run, _ = _journalctl("-- No entries --\n", stderr="No journal files were found.\n")
    source, text = journal_logs(None, run=run)
    assert text == "" and "no entries (No journal files were found.)" in source


def test_a_log_file_gives_its_last_lines(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.log"
    path.write_text("".join(f"line {i}\n" for i in range(2500)), encoding="utf-8")
    source, text = journal_logs(path)
    lines = text.splitlines()
    assert source == f"log file {path}" and len(lines) == 2000 and lines[0] == "line 500"
    source, text = journal_logs(tmp_path / "missing.log")
    assert text == "" and "missing.log" in source
