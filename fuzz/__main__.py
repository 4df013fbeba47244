"""``python -m fuzz``: run fuzz targets, replay the corpus, rebuild the seeds (docs/fuzzing.md).

    python -m fuzz TARGET [TARGET ...] [--runs N] [--seconds S]   # coverage-guided runs, one at a time
    python -m fuzz --all [--runs 1000000]                          # every target (make fuzz)
    python -m fuzz --replay [TARGET ...]                           # every corpus input, in this process
    python -m fuzz --seeds [TARGET ...]                            # fuzz/corpus/*/seed-* from the encoders
    python -m fuzz --list

Each run is a separate process (``fuzz.worker``) with libFuzzer's per-input time bound (``--timeout``) and
memory bound (``--rss-mb``); new inputs go to ``out/fuzz/<target>/corpus``, a finding to
``out/fuzz/<target>/crash-…`` (or ``timeout-…``, ``oom-…``) and the log to ``out/fuzz/<target>.log``.
Exit status 1 when a target found something, 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from fuzz.core import ROOT, Target, dictionary_text
from fuzz.targets import NAMES, target

REPOSITORY = ROOT.parent
SEED_PREFIX = "seed-"
_STAT = re.compile(r"^stat::(\w+):\s+(\d+)", re.MULTILINE)


@dataclass(frozen=True)
class RunResult:
    """One worker run: inputs executed, wall time, libFuzzer's exec rate and peak memory, exit status."""

    name: str
    runs: int
    seconds: float
    execs_per_s: int
    peak_rss_mb: int
    returncode: int
    log: Path

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def line(self) -> str:
        verdict = "ok" if self.ok else f"FINDING (exit {self.returncode}, see {self.log})"
        return (
            f"{self.name:16} {self.runs:>9} inputs {self.seconds:8.1f} s {self.execs_per_s:>7} exec/s "
            f"{self.peak_rss_mb:>5} MB  {verdict}"
        )


def run_target(
    chosen: Target, *, runs: int, seconds: int | None, timeout: int, rss_mb: int, work: Path
) -> RunResult:
    """Fuzz ``chosen`` in a worker process. Raises OSError when the worker cannot be started."""
    folder = work / chosen.name
    (folder / "corpus").mkdir(parents=True, exist_ok=True)
    log = work / f"{chosen.name}.log"
    argv = [sys.executable, "-m", "fuzz.worker", chosen.name, str(folder / "corpus")]
    if chosen.corpus.is_dir():
        argv.append(str(chosen.corpus))
    argv += [
        f"-runs={runs}",
        f"-timeout={timeout}",
        f"-rss_limit_mb={rss_mb}",
        f"-max_len={chosen.max_len}",
        f"-artifact_prefix={folder}/",
        "-print_final_stats=1",
    ]
    if seconds is not None:
        argv.append(f"-max_total_time={seconds}")
    if chosen.dictionary:
        tokens = folder / "tokens.dict"
        tokens.write_text(dictionary_text(chosen.dictionary), encoding="utf-8")
        argv.append(f"-dict={tokens}")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPOSITORY), env.get("PYTHONPATH", "")) if p)
    started = time.monotonic()
    with log.open("wb") as out:
        done = subprocess.run(
            argv, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=REPOSITORY, check=False
        )
    elapsed = time.monotonic() - started
    stats = {k: int(v) for k, v in _STAT.findall(log.read_text(encoding="utf-8", errors="replace"))}
    return RunResult(
        chosen.name,
        stats.get("number_of_executed_units", 0),
        elapsed,
        round(stats.get("number_of_executed_units", 0) / elapsed) if elapsed > 0 else 0,
        stats.get("peak_rss_mb", 0),
        done.returncode,
        log,
    )


def replay(chosen: Target) -> list[str]:
    """Every corpus input of ``chosen`` through it, in this process: the findings, as lines."""
    chosen.setup()
    findings = []
    for path in sorted(chosen.corpus.glob("*")) if chosen.corpus.is_dir() else []:
        try:
            chosen.one(path.read_bytes())
        except Exception as exc:  # anything untyped is the finding being reported
            findings.append(f"{path.relative_to(REPOSITORY)}: {type(exc).__name__}: {exc}")
    return findings


def write_seeds(chosen: Target) -> int:
    """Replace ``fuzz/corpus/<target>/seed-*`` with the seeds the encoders make now; other files (kept
    findings) stay. Returns how many were written."""
    chosen.corpus.mkdir(parents=True, exist_ok=True)
    for old in chosen.corpus.glob(f"{SEED_PREFIX}*"):
        old.unlink()
    seeds = chosen.seeds()
    for name, data in seeds.items():
        (chosen.corpus / f"{SEED_PREFIX}{name}").write_bytes(data)
    return len(seeds)


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m fuzz", description="Fuzz the parsers of outside bytes.")
    parser.add_argument("targets", nargs="*", metavar="TARGET", help=f"one of: {', '.join(NAMES)}")
    parser.add_argument("--all", action="store_true", help="every target")
    parser.add_argument("--runs", type=int, default=1_000_000, help="inputs per target (default 1000000)")
    parser.add_argument("--seconds", type=int, default=None, help="stop a target after this many seconds")
    parser.add_argument("--timeout", type=int, default=10, help="per-input time bound, seconds (default 10)")
    parser.add_argument("--rss-mb", type=int, default=2048, help="memory bound, MB (default 2048)")
    parser.add_argument("--work", type=Path, default=REPOSITORY / "out" / "fuzz", help="work folder")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--replay", action="store_true", help="replay the corpus in this process")
    mode.add_argument("--seeds", action="store_true", help="rewrite the seed inputs from the encoders")
    mode.add_argument("--list", action="store_true", help="list the targets")
    args = parser.parse_args(argv)
    unknown = [t for t in args.targets if t not in NAMES]
    if unknown:
        parser.error(f"unknown target {unknown[0]!r} (targets: {', '.join(NAMES)})")
    if args.all or args.list or (not args.targets and (args.replay or args.seeds)):
        args.targets = list(NAMES)
    if not args.targets:
        parser.error("name a target, or --all")
    return args


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    if args.list:
        for name in args.targets:
            print(f"{name:16} {target(name).summary}")
        return 0
    if args.seeds:
        for name in args.targets:
            print(f"{name:16} {write_seeds(target(name))} seeds")
        return 0
    if args.replay:
        findings = [line for name in args.targets for line in replay(target(name))]
        print("\n".join(findings) or f"corpus replayed: {len(args.targets)} targets, no finding")
        return 1 if findings else 0
    results = []
    for name in args.targets:
        result = run_target(
            target(name),
            runs=args.runs,
            seconds=args.seconds,
            timeout=args.timeout,
            rss_mb=args.rss_mb,
            work=args.work,
        )
        print(result.line(), flush=True)
        results.append(result)
    total = sum(r.seconds for r in results)
    print(f"{len(results)} targets, {sum(r.runs for r in results)} inputs in {total:.0f} s")
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
