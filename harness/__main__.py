"""``python -m harness``: the ``kiosk-harness`` command."""

import sys

from harness.cli import main

sys.exit(main())
