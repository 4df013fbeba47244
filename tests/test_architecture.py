"""The architecture, checked: each hardware/framework library is imported in its one edge module; the
product (reader, relay_client, kiosk) never reaches a stand-in, the harness, aiohttp or reportlab, not
even transitively; dependencies point down; no import cycles, counting imports inside functions and
under TYPE_CHECKING (docs/architecture.md)."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PRODUCT = ("reader", "relay_client", "kiosk")
STAND_INS = ("firmware_sim", "mock_relay")
PACKAGES = (*PRODUCT, *STAND_INS, "harness", "fuzz")


def python_files(folders: tuple[str, ...] = (*PACKAGES, "scripts")) -> Iterator[Path]:
    for folder in folders:
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
    "kivy": lambda p: p.startswith(("kiosk/ui/", "harness/ui/")),
}


@pytest.mark.parametrize("library", sorted(ALLOWED))
def test_library_imported_only_in_its_edge_module(library: str) -> None:
    offenders = [
        rel(p) for p in python_files() if library in imported_modules(p) and not ALLOWED[library](rel(p))
    ]
    assert offenders == [], f"{library} imported outside its edge module: {offenders}"


def test_the_checker_sees_imports(tmp_path: Path) -> None:
    sample = tmp_path / "m.py"
    sample.write_text("import smartcard.scard\nfrom serial import Serial\ndef f():\n    import kivy.app\n")
    assert imported_modules(sample) == {"smartcard", "serial", "kivy"}
    assert ALLOWED["smartcard"]("reader/pcsc.py") and not ALLOWED["smartcard"]("reader/jpki.py")
    assert ALLOWED["serial"]("kiosk/devices/cash/serial_link.py") and not ALLOWED["serial"]("kiosk/flow.py")


FORBIDDEN = {
    "reader": {"kiosk", "firmware_sim", "mock_relay", "relay_client", "harness", "fuzz"},
    "relay_client": {"kiosk", "firmware_sim", "mock_relay", "reader", "harness", "fuzz"},
    "kiosk": {"firmware_sim", "mock_relay", "harness", "fuzz"},
    "firmware_sim": {"kiosk", "mock_relay", "harness", "relay_client", "fuzz"},
    "mock_relay": {"kiosk", "harness", "relay_client", "fuzz"},
    "harness": {"fuzz"},  # the fuzz targets use everything; nothing uses them
}


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_packages_import_only_what_lies_below_them(package: str) -> None:
    offenders = {
        rel(p): sorted(imported_modules(p) & FORBIDDEN[package])
        for p in sorted((ROOT / package).rglob("*.py"))
    }
    assert {k: v for k, v in offenders.items() if v} == {}


# --- the product, transitively: every module imported in a fresh interpreter --------------------------
_PROBE = """
import importlib, json, pkgutil, sys
names = []
for top in {tops!r}:
    package = importlib.import_module(top)
    names.append(top)
    for info in pkgutil.walk_packages(package.__path__, top + "."):
        names.append(info.name)
for name in names:
    if name.endswith("__main__"):
        continue
    importlib.import_module(name)
print(json.dumps({{"modules": names, "loaded": sorted({{m.split(".")[0] for m in sys.modules}})}}))
"""
NEVER_IN_PRODUCT = {
    "firmware_sim",
    "mock_relay",
    "harness",
    "fuzz",
    "atheris",
    "aiohttp",
    "reportlab",
    "yaml",
    "jsonschema",
}


def test_importing_every_product_module_loads_no_stand_in_harness_or_server_library(tmp_path: Path) -> None:
    env = {**os.environ, "KIVY_HOME": str(tmp_path / "kivy"), "KIVY_NO_ARGS": "1", "KIVY_NO_CONSOLELOG": "1"}
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run(
        [sys.executable, "-c", _PROBE.format(tops=list(PRODUCT))],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert len(result["modules"]) > 80  # every module of the three packages, kiosk.ui included
    assert "kiosk.ui.app" in result["modules"] and "kiosk.app.assemble" in result["modules"]
    assert set(result["loaded"]) & NEVER_IN_PRODUCT == set()


# --- the module graph: no cycles, layers point down -----------------------------------------------------
def module_map() -> dict[str, Path]:
    """Dotted module name -> file, for every module of every package."""
    found: dict[str, Path] = {}
    for path in python_files(PACKAGES):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def module_graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    """Module -> the modules it imports: every import statement, inside functions and TYPE_CHECKING
    included; ``from package import name`` counts the submodule ``name`` where it is one."""

    def resolve(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        edges: set[str] = set()
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parent = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                    base = ".".join([*parent, *([node.module] if node.module else [])])
                targets = [f"{base}.{alias.name}" for alias in node.names]
            for target in targets:
                found = resolve(target)
                if found and found != name:
                    edges.add(found)
        graph[name] = edges
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_no_import_cycle() -> None:
    assert cycles(module_graph(module_map())) == []


def test_the_cycle_finder_finds_one_hidden_in_a_function(tmp_path: Path) -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


# The kiosk's layers, lowest first: a module may import its own layer and the layers below, never above.
KIOSK_LAYERS = (
    ("kiosk.money",),
    ("kiosk.devices",),
    ("kiosk.journal",),
    ("kiosk.flow",),
    ("kiosk.staff",),
    ("kiosk.ui",),
    ("kiosk.app", "kiosk.__main__"),
)


def _layer(module: str) -> int | None:
    for number, prefixes in enumerate(KIOSK_LAYERS):
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return number
    return None


def test_kiosk_dependencies_point_down() -> None:
    graph = module_graph(module_map())
    upward = []
    for module, edges in sorted(graph.items()):
        mine = _layer(module)
        if mine is None:
            continue
        for target in sorted(edges):
            theirs = _layer(target)
            if theirs is not None and theirs > mine:
                upward.append(f"{module} -> {target}")
    assert upward == []


def test_every_kiosk_module_has_a_layer() -> None:
    unplaced = [m for m in module_map() if m.startswith("kiosk.") and _layer(m) is None]
    assert unplaced == []
