#!/usr/bin/env python3
"""Render the staff screen with one open item (see harness.ui.gallery.staff_board) to
out/screens/staff-ja.png, or to OUT (e.g. docs/screens/staff-ja.png for the README: only when asked)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from harness.ui.gallery import staff_board

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out", nargs="?", type=Path, default=Path("out") / "screens" / "staff-ja.png")
    args = parser.parse_args()
    staff_board(args.out)
    print(f"staff-screenshot: {args.out}")
