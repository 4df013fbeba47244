"""The support bundle on its own: mode 0600 even over a wider file, key files by path and mode only (never
their contents), the staff passcode hash removed, probed devices and journaled faults in devices.txt."""

from __future__ import annotations

import json
import stat
import tarfile
from datetime import UTC, datetime
from pathlib import Path

from kiosk.app.config import KioskConfig
from kiosk.app.support import write_bundle
from kiosk.staff.status import DeviceStatus

KEY_TEXT = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIK3y\n-----END PRIVATE KEY-----\n"
HASH = "pbkdf2-sha256$600000$c2FsdA$aGFzaA"


def _texts(path: Path) -> dict[str, str]:
    with tarfile.open(path, "r:gz") as tar:
        out = {}
        for member in tar.getmembers():
            assert stat.S_IMODE(member.mode) == 0o600
            handle = tar.extractfile(member)
            assert handle is not None
            out[member.name.removeprefix("kiosk-support/")] = handle.read().decode("utf-8")
    return out


def test_the_bundle_holds_no_key_and_no_passcode_hash(tmp_path: Path) -> None:
    key = tmp_path / "terminal.key"
    key.write_text(KEY_TEXT, encoding="utf-8")
    key.chmod(0o600)
    config = KioskConfig(
        terminal_key=key,
        terminal_cert=tmp_path / "missing.pem",
        staff_passcode_hash=HASH,
        source=tmp_path / "kiosk.toml",
    )
    out = tmp_path / "bundle.tar.gz"
    out.write_bytes(b"old")
    out.chmod(0o644)
    write_bundle(
        out,
        config=config,
        report=["journal x", "RECENT TRANSACTIONS (newest first)"],
        probed=[DeviceStatus("printer", False, "media-jam")],
        logs=("log file kiosk.log", "<6>kiosk.app.assemble: start-up cash: ok: hopper 3\n<6>other: x\n"),
        faults=["abc123 jam coin acceptor: coin jammed"],
        now=datetime(2026, 12, 7, 1, 0, tzinfo=UTC),
    )
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    texts = _texts(out)
    facts = json.loads(texts["config.json"])
    assert facts["terminal_key"] == {"path": str(key), "exists": True, "mode": "0600", "size": len(KEY_TEXT)}
    assert facts["terminal_cert"]["exists"] is False
    assert facts["staff_passcode_hash"] == "(removed from the support bundle)"
    assert "2026-12-07 10:00:00 JST" in texts["README.txt"]
    devices = texts["devices.txt"]
    assert "  printer: FAILED: media-jam" in devices and "  abc123 jam coin acceptor: coin jammed" in devices
    assert "start-up cash: ok: hopper 3" in devices and "other: x" not in devices
    for name, text in texts.items():
        assert "PRIVATE KEY" not in text and "MC4CAQAw" not in text and HASH not in text, name
