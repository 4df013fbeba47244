#!/usr/bin/env python3
"""Render the staff screen with one open item to docs/screens/staff-ja.png (see
harness.ui.gallery.staff_board).
Run: .venv/bin/python scripts/staff-screenshot.py [OUT.png]"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from harness.ui.gallery import staff_board

if __name__ == "__main__":
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs/screens/staff-ja.png")
    staff_board(out)
    print(f"staff-screenshot: {out}")
