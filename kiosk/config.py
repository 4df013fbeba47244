"""The kiosk's configuration (one frozen value; ``kiosk run`` builds it from the command line)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from kiosk.flow.timeouts import Timeouts


@dataclass(frozen=True)
class KioskConfig:
    """Where the journal lives, how to reach the card, the center, the cash unit and the printer."""

    journal: Path = Path("var/journal.sqlite")
    reader_url: str = "pcsc://"
    center_url: str = ""
    terminal_cert: Path = Path("etc/terminal.pem")
    terminal_key: Path = Path("etc/terminal.key")
    center_ca: Path = Path("etc/center-ca.pem")
    jpki_ca_bundle: Path | None = None
    cash_port: str = "/dev/ttyUSB0"
    printer_uri: str = "ipp://127.0.0.1:631/ipp/print"
    timeouts: Timeouts = field(default_factory=Timeouts)
    tick: float = 0.2  # seconds between Tick events
