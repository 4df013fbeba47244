"""Targets of the files a person writes: the kiosk's kiosk.toml and the harness's scenario files.

Both loaders take a path: each input is written to one file in a temporary folder of this process (under
``TMPDIR``: a RAM-backed one, a tmpfs, makes these targets many times faster on a disk-backed /tmp). The
configuration's certificate, key and CA files are not opened (``check_certificates=False``): the paths a
fuzzed file names could be anything on this machine.
"""

from __future__ import annotations

import tempfile
from functools import cache
from pathlib import Path

from fuzz.core import ROOT, TOML_TOKENS, Target
from fuzz.recipe import toml_document
from harness.scenario import ACTIONS, ScenarioError, load_scenario
from kiosk.app.config import SCHEMA, ConfigError, load_config
from kiosk.flow.view import Screen

REPOSITORY = ROOT.parent
CONFIG_TOKENS = tuple("[reader] [center] [cash] [[cash.hopper]] [printer] [timeouts] [staff] [bench]".split())
CONFIG_TOKENS += tuple(
    "url uri address coin capacity pcsc:// pn532:///dev/ttyS0?baud= pn532+socket://h:1".split()
)
CONFIG_TOKENS += tuple("https://h:8443 ipp://h/ipp/print ?poll= &extended= seconds".split())
SCENARIO_TOKENS = tuple(
    "[[step]] [setup] [expect] do wait name attract pin coins choose options copies".split()
)
SCENARIO_TOKENS += tuple("type route seconds idle insert_card language".split())


@cache
def _scratch() -> Path:
    folder = tempfile.mkdtemp(prefix="fuzz-files-")
    return Path(folder)


def _written(name: str, data: bytes) -> Path:
    path = _scratch() / name
    path.write_bytes(data)
    return path


CONFIG_TABLES = ("", *(f"[{name}]" for name in SCHEMA if name), "[[cash.hopper]]", "[cash.hopper]", "[x]")
CONFIG_WORDS = tuple(
    sorted({key for keys in SCHEMA.values() for key in keys} | {"address", "coin", "capacity"})
)
CONFIG_WORDS += ("cash", "reader", "timeouts", "x")


def run_kiosk_config(data: bytes) -> None:
    """kiosk/app/config.py load_config (certificates unchecked). Byte 0 even: the rest is the file; odd:
    the rest is a recipe (fuzz/recipe.py) of a file of the configuration's tables and keys."""
    text = data[1:] if data[:1] and not data[0] & 1 else toml_document(data[1:], CONFIG_TABLES, CONFIG_WORDS)
    load_config(_written("kiosk.toml", text), check_certificates=False)


def _without_comments(text: str) -> bytes:
    lines = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return ("\n".join(lines) + "\n").encode("utf-8")


def seeds_kiosk_config() -> dict[str, bytes]:
    example = (REPOSITORY / "etc" / "kiosk.example.toml").read_text(encoding="utf-8")
    return {"example": b"\x00" + _without_comments(example), "recipe": b"\x01" + bytes(range(0, 250, 7))}


SCENARIO_TABLES = ("", "[[step]]", "[[step]]", "[setup]", "[expect]", "[step]", "[[setup]]")
SCENARIO_WORDS = (
    "do",
    "wait",
    "timeout",
    "name",
    "step",
    "setup",
    "expect",
    *ACTIONS,
    *(s.value for s in Screen),
)
SCENARIO_WORDS += tuple(sorted({key for needs, may in ACTIONS.values() for key in (*needs, *may)}))


def run_scenario(data: bytes) -> None:
    """harness/scenario.py load_scenario. Byte 0 even: the rest is the file; odd: a recipe of one."""
    text = (
        data[1:] if data[:1] and not data[0] & 1 else toml_document(data[1:], SCENARIO_TABLES, SCENARIO_WORDS)
    )
    load_scenario(_written("scenario.toml", text))


def seeds_scenario() -> dict[str, bytes]:
    names = ("juminhyo", "no_change", "wrong_pin_three", "center_down_mid_issue", "juminhyo_en")
    folder = REPOSITORY / "harness" / "scenarios"
    seeds = {
        name: b"\x00" + _without_comments((folder / f"{name}.toml").read_text(encoding="utf-8"))
        for name in names
    }
    seeds["recipe"] = b"\x01" + bytes(range(3, 250, 11))
    return seeds


TARGETS = [
    Target(
        "kiosk_config",
        run_kiosk_config,
        (ConfigError,),
        "kiosk/app/config.py load_config of a kiosk.toml (certificate files not opened)",
        max_len=4096,
        seeds=seeds_kiosk_config,
        dictionary=TOML_TOKENS + CONFIG_TOKENS,
    ),
    Target(
        "scenario",
        run_scenario,
        (ScenarioError,),
        "harness/scenario.py load_scenario of a scenario file",
        max_len=2048,
        seeds=seeds_scenario,
        dictionary=TOML_TOKENS + SCENARIO_TOKENS,
    ),
]
