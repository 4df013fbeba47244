"""The fuzz targets in CI (docs/fuzzing.md): every input kept in fuzz/corpus replays with no untyped
exception, and every target runs briefly under atheris/libFuzzer, with its per-input time bound and memory
bound, in a process of its own. ``make fuzz`` runs the same targets for a million inputs each."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from importlib import import_module
from pathlib import Path

import pytest

from fuzz.__main__ import run_target
from fuzz.core import CORPUS, Target, chunks, dictionary_text, join
from fuzz.core import ROOT as FUZZ_ROOT
from fuzz.targets import MODULES, NAMES, target

BRIEF_RUNS = 2000
BRIEF_SECONDS = 60  # a bound for a loaded machine; a target takes a few seconds
CORPUS_BYTES = 16 * 1024  # per target: small, minimised seeds and kept findings
ROOT = FUZZ_ROOT.parent


def test_every_target_is_registered_once_with_its_corpus() -> None:
    defined = [t.name for module in sorted(set(MODULES.values())) for t in import_module(module).TARGETS]
    assert sorted(defined) == sorted(NAMES) and len(set(defined)) == len(defined)
    assert sorted(p.name for p in CORPUS.iterdir() if p.is_dir()) == sorted(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_corpus_is_small(name: str) -> None:
    files = [p for p in target(name).corpus.iterdir() if p.is_file()]
    assert files, f"{name} has no seed"
    assert sum(p.stat().st_size for p in files) <= CORPUS_BYTES


def test_corpus_replays_without_a_finding() -> None:
    # In a process of its own: the card_os target makes its virtual card cheap (no disk writes, a cheap
    # KDF) by changing firmware_sim's module state, which other tests of this session rely on.
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "fuzz", "--replay"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert f"corpus replayed: {len(NAMES)} targets, no finding" in done.stdout


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_brief_fuzz_run_finds_nothing(name: str, tmp_path: Path) -> None:
    result = run_target(
        target(name), runs=BRIEF_RUNS, seconds=BRIEF_SECONDS, timeout=10, rss_mb=2048, work=tmp_path
    )
    log = result.log.read_text(encoding="utf-8", errors="replace")
    assert result.ok, log[-4000:]
    assert result.runs == BRIEF_RUNS or result.seconds >= BRIEF_SECONDS, log[-2000:]
    assert "INFO: Instrumenting" in log or "cov:" in log  # coverage-guided, not a blind loop


def test_an_untyped_exception_is_a_finding(tmp_path: Path) -> None:
    def parse(data: bytes) -> None:
        if data[:1] == b"x":
            raise KeyError("x")
        raise ValueError("typed")

    probe = Target("probe", parse, (ValueError,), "a parser with a bug")
    probe.one(b"y")
    with pytest.raises(KeyError):
        probe.one(b"x")


def test_parts_round_trip_and_dictionaries_escape() -> None:
    parts = [b"", b"\x90\x00", bytes(300)]
    assert list(chunks(join(parts))) == parts
    assert list(chunks(b"\x00\x05ab")) == [b"ab"]  # the last part takes what is left
    text = dictionary_text(('a"b', "\n", "\\", "あ"))
    assert text.splitlines() == ['"a\\x22b"', '"\\x0A"', '"\\x5C"', '"\\xE3\\x81\\x82"']
    assert all(re.fullmatch(r'"[ -~]*"', line) for line in text.splitlines())
