#!/usr/bin/env python3
"""Write a screenshot of every touchscreen screen to out/screens/ (see harness/ui/gallery.py)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from harness.ui.gallery import main

if __name__ == "__main__":
    sys.exit(main())
