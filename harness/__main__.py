"""``python -m harness``: the ``kiosk-harness`` command."""

import sys

from harness.cli.main import main

sys.exit(main())
