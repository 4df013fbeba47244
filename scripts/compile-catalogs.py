#!/usr/bin/env python3
"""Compile the touchscreen's gettext catalogs (kiosk/locale/*/LC_MESSAGES/kiosk.po -> .mo); run by setup."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kiosk.ui.catalogs import CatalogError, compile_all


def main() -> int:
    """Compile every catalog; print one line; exit 1 with a clear message on a bad catalog."""
    try:
        written = compile_all()
    except (CatalogError, OSError) as exc:
        print(f"compile-catalogs: {exc}", file=sys.stderr)
        return 1
    print(f"compile-catalogs: {len(written)} catalog(s) compiled")
    return 0


if __name__ == "__main__":
    sys.exit(main())
