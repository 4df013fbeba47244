"""Each hardware/framework library is imported in its one edge module, and dependencies point one way
(STYLE.md habit 1)."""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Product code and the scripts people run: tests and bench/ may use a library directly (e.g. a bare
# baseline to compare with).
PACKAGES = ("reader", "relay_client", "kiosk", "firmware_sim", "mock_relay")


def python_files() -> Iterator[Path]:
    for folder in (*PACKAGES, "scripts"):
        yield from sorted((ROOT / folder).rglob("*.py"))


def imported_modules(path: Path) -> set[str]:
    """Top-level names of every module ``path`` imports (absolute imports, also inside functions)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


def rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _serial_edge(path: str) -> bool:
    name = path.rsplit("/", 1)[-1]
    under = path.startswith(("reader/", "kiosk/devices/", "firmware_sim/"))
    return under and ("serial" in name or "link" in name)


ALLOWED: dict[str, Callable[[str], bool]] = {
    "smartcard": lambda p: p == "reader/pcsc.py",
    "serial": _serial_edge,
    "requests": lambda p: (
        (p.startswith("relay_client/") and "http" in p.rsplit("/", 1)[-1]) or p.startswith("kiosk/devices/")
    ),
    "kivy": lambda p: p.startswith("kiosk/ui/"),
}


@pytest.mark.parametrize("library", sorted(ALLOWED))
def test_library_imported_only_in_its_edge_module(library: str) -> None:
    offenders = [
        rel(p) for p in python_files() if library in imported_modules(p) and not ALLOWED[library](rel(p))
    ]
    assert offenders == [], f"{library} imported outside its edge module: {offenders}"


FORBIDDEN = {
    "reader": {"kiosk", "firmware_sim", "mock_relay", "relay_client"},
    "relay_client": {"kiosk", "firmware_sim", "mock_relay", "reader"},
}


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_library_packages_do_not_depend_on_the_application(package: str) -> None:
    offenders = {
        rel(p): sorted(imported_modules(p) & FORBIDDEN[package])
        for p in sorted((ROOT / package).rglob("*.py"))
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_checker_sees_imports(tmp_path: Path) -> None:
    sample = tmp_path / "m.py"
    sample.write_text("import smartcard.scard\nfrom serial import Serial\ndef f():\n    import kivy.app\n")
    assert imported_modules(sample) == {"smartcard", "serial", "kivy"}
    assert ALLOWED["smartcard"]("reader/pcsc.py") and not ALLOWED["smartcard"]("reader/jpki.py")
    assert ALLOWED["serial"]("kiosk/devices/cctalk_link.py") and not ALLOWED["serial"]("kiosk/flow.py")


SIM_WIRING = {"kiosk/sim.py", "kiosk/sim_controls.py", "kiosk/sim_commands.py"}


def test_the_kiosk_reaches_the_simulators_only_through_its_sim_wiring() -> None:
    """The kiosk runs on real devices without firmware_sim / mock_relay: only ``--sim`` (kiosk.sim and the
    test harness's controls and commands) may import them."""
    importers = {
        rel(p)
        for p in sorted((ROOT / "kiosk").rglob("*.py"))
        if imported_modules(p) & {"firmware_sim", "mock_relay"}
    }
    assert "kiosk/sim.py" in importers
    assert importers <= SIM_WIRING, importers - SIM_WIRING
