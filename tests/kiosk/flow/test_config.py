"""kiosk.toml refuses nonsense before any device is opened: every number of seconds is finite and within
its range (``nan``, ``inf``, ``1e308``, 0 and negatives are one-line errors naming the key), and the
terminal's private key must be readable by its owner only; ``kiosk run`` exits 2 with that one line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk.app.config import SCHEMA, ConfigError, load_config
from mock_relay.tls import CenterPki

ROOT = Path(__file__).resolve().parents[3]


def write_toml(folder: Path, extra_top: str = "", **sections: str) -> Path:
    """A kiosk.toml naming terminal files under ``folder/terminal`` (they exist only where a test issues
    them); ``sections`` adds lines to a section, e.g. ``timeouts="pay = nan"``."""
    body = {
        "center": 'url = "https://127.0.0.1:1"\nterminal_cert = "terminal/terminal.pem"\n'
        'terminal_key = "terminal/terminal.key"\nca = "terminal/center-ca.pem"',
        "jpki": 'ca_bundle = "terminal/center-ca.pem"',
        "cash": 'port = "/dev/null"',
        "printer": 'uri = "ipp://127.0.0.1/ipp/print"',
        "timeouts": "",
        "clock": "",
    }
    for name, lines in sections.items():
        body[name] = f"{body[name]}\n{lines}"
    text = 'journal = "var/journal.sqlite"\n' + extra_top + "\n"
    text += "".join(f"[{name}]\n{lines}\n" for name, lines in body.items())
    path = folder / "kiosk.toml"
    path.write_text(text, encoding="utf-8")
    return path


SECONDS = [(section, name) for section, keys in SCHEMA.items() for name, key in keys.items()]
SECONDS = [(s, n) for s, n in SECONDS if SCHEMA[s][n].kind == "seconds"]


def _place(section: str, name: str, value: str) -> dict[str, str]:
    if section == "":
        return {"extra_top": f"{name} = {value}"}
    return {section: f"{name} = {value}"}


@pytest.mark.parametrize(("section", "name"), SECONDS)
@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "1e308", "0", "-1"])
def test_every_number_of_seconds_must_be_finite_and_in_range(
    tmp_path: Path, section: str, name: str, value: str
) -> None:
    path = write_toml(tmp_path, **_place(section, name, value))
    with pytest.raises(ConfigError) as caught:
        load_config(path, check_certificates=False)
    message = str(caught.value)
    dotted = f"{section}.{name}" if section else name
    assert message.startswith(f"{path}: {dotted}: expected ") and "seconds, got " in message, message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("place", "words"),
    [
        ({"timeouts": "pay = nan"}, "timeouts.pay: expected 1 to 3600 seconds, got nan"),
        ({"extra_top": "tick = inf"}, "tick: expected 0.01 to 1 seconds, got inf"),
        ({"center": "read_timeout = 1e308"}, "center.read_timeout: expected 1 to 300 seconds, got 1e+308"),
        ({"extra_top": 'tick = "fast"'}, "tick: expected a positive number of seconds, got 'fast'"),
    ],
)
def test_the_error_names_the_range(tmp_path: Path, place: dict[str, str], words: str) -> None:
    with pytest.raises(ConfigError, match=words.replace(".", r"\.").replace("+", r"\+")):
        load_config(write_toml(tmp_path, **place), check_certificates=False)


def test_numbers_within_range_are_taken(tmp_path: Path) -> None:
    path = write_toml(tmp_path, "tick = 0.05", timeouts="pay = 90\nwarning = 5", cash="reply_timeout = 0.5")
    config = load_config(path, check_certificates=False)
    assert (config.tick, config.timeouts.pay, config.timeouts.warning, config.cash_reply_timeout) == (
        0.05,
        90.0,
        5.0,
        0.5,
    )


def test_the_call_staff_screen_waits_ten_minutes_unless_told(tmp_path: Path) -> None:
    assert load_config(write_toml(tmp_path), check_certificates=False).timeouts.call_staff == 600.0
    config = load_config(write_toml(tmp_path, timeouts="call_staff = 1800"), check_certificates=False)
    assert config.timeouts.call_staff == 1800.0 and config.timeouts.outcome == 30.0
    with pytest.raises(ConfigError, match=r"timeouts\.call_staff: expected 1 to 3600 seconds, got 86400"):
        load_config(write_toml(tmp_path, timeouts="call_staff = 86400"), check_certificates=False)


def test_a_pn532_poll_must_be_finite_and_in_range(tmp_path: Path) -> None:
    for poll in ("nan", "inf", "1e308", "0"):
        path = write_toml(tmp_path, f'[reader]\nurl = "pn532:///dev/ttyUSB1?poll={poll}"')
        with pytest.raises(
            ConfigError,
            match=rf"reader\.url: poll must be a positive number of seconds \(0\.01 to 1\), got '{poll}'",
        ):
            load_config(path, check_certificates=False)


@pytest.fixture(scope="module")
def terminal(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A terminal certificate and key (0600) from the mock center's PKI."""
    work = tmp_path_factory.mktemp("pki")
    return CenterPki.open(work / "center").issue_terminal("T-0001", work / "terminal")


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o666, 0o660])
def test_a_key_others_can_read_is_refused(terminal: Path, tmp_path: Path, mode: int) -> None:
    (tmp_path / "terminal").symlink_to(terminal)  # the mode that counts is the key's, behind the link
    path = write_toml(tmp_path)
    key = terminal / "terminal.key"
    assert load_config(path).terminal_key == tmp_path / "terminal" / "terminal.key"  # 0600: fine
    os.chmod(key, mode)
    try:
        with pytest.raises(ConfigError) as caught:
            load_config(path)
        named = tmp_path / "terminal" / "terminal.key"
        assert str(caught.value) == (
            f"{path}: center.terminal_key: {named} is mode {mode:04o}; a private key must be readable by its"
            f" owner only (chmod 600 {named})"
        )
        assert load_config(path, check_certificates=False)  # the staff commands read no key
    finally:
        os.chmod(key, 0o600)
    os.chmod(key, 0o400)
    try:
        assert load_config(path)  # read-only for the owner is fine too
    finally:
        os.chmod(key, 0o600)


def test_kiosk_run_exits_2_with_one_line(terminal: Path, tmp_path: Path) -> None:
    (tmp_path / "terminal").symlink_to(terminal)
    cases = [({"timeouts": "pay = nan"}, 0o600, "timeouts.pay: expected 1 to 3600 seconds, got nan")]
    cases.append(({"extra_top": "tick = inf"}, 0o600, "tick: expected 0.01 to 1 seconds, got inf"))
    cases.append(({}, 0o644, "terminal.key is mode 0644; a private key must be readable by its owner only"))
    for place, mode, words in cases:
        path = write_toml(tmp_path, **place)
        os.chmod(terminal / "terminal.key", mode)
        try:
            run = subprocess.run(
                [sys.executable, "-m", "kiosk", "run", "--config", str(path), "--headless"],
                capture_output=True,
                text=True,
                timeout=60,
                cwd=ROOT,
                check=False,
            )
        finally:
            os.chmod(terminal / "terminal.key", 0o600)
        assert run.returncode == 2, run.stderr
        assert run.stderr.count("\n") == 1 and words in run.stderr and "Traceback" not in run.stderr
        assert run.stdout == ""
