"""``python -m kiosk``: the ``kiosk`` command."""

import sys

from kiosk.app.cli import main

sys.exit(main())
