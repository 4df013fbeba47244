"""Run every benchmark module of ``bench/`` (or those named on the command line) and print a table."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
import time
import traceback
from collections.abc import Sequence

import bench
from bench import Row


def discover() -> list[str]:
    """Names of the benchmark modules (``card`` for bench/card.py; not ``_``-prefixed ones), sorted."""
    return sorted(m.name for m in pkgutil.iter_modules(bench.__path__) if not m.name.startswith("_"))


def print_table(area: str, rows: list[Row], seconds: float) -> None:
    print(f"\n== {area} ({seconds:.1f} s)")
    width = max([len(r.name) for r in rows] + [10])
    for row in rows:
        value = f"{row.formatted_value()} {row.unit}".rstrip()
        print(f"  {row.name:<{width}}  {value:>18}  {row.note}".rstrip())


def main(argv: Sequence[str] | None = None) -> int:
    """Returns 0 when every benchmark ran, 1 when one failed, 2 for an unknown name."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("areas", nargs="*", help=f"benchmarks to run (default all: {', '.join(discover())})")
    args = parser.parse_args(argv)
    areas = args.areas or discover()
    unknown = sorted(set(areas) - set(discover()))
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(discover())}", file=sys.stderr)
        return 2
    failed = 0
    for area in areas:
        start = time.monotonic()
        try:
            rows = importlib.import_module(f"bench.{area}").run()
        except Exception:
            failed += 1
            print(f"\n== {area}: FAILED", file=sys.stderr)
            traceback.print_exc()
            continue
        print_table(area, rows, time.monotonic() - start)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
