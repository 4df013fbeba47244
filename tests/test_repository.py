"""The repository stands alone: no tracked text file points outside it, ``.gitignore`` hides no tracked file,
the LICENSE is there, and the tree in docs/architecture.md names exactly the folders and packages on disk
(so the documentation cannot drift silently from the code)."""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from pathlib import Path, PurePosixPath

import pytest

ROOT = Path(__file__).resolve().parent.parent
ARCHITECTURE = ROOT / "docs" / "architecture.md"
THIS = PurePosixPath("tests/test_repository.py")  # names the patterns it looks for

# Paths and citations that lead outside the repository: the team's notes beside the clone, a machine's
# work directory, design files that are not part of the repository.
OUTSIDE = re.compile(
    r"""
    \.\./shared\b                                    # a sibling folder of the clone
    | (?<![\w.-])/work/                              # a machine's work directory
    | \bshared/(?:DESIGN|STYLE|reference)\b          # the team's design notes
    | \breference/(?:jpki-card|service|devices|platform)\.md
    | (?<![\w/.-])(?:DESIGN|STYLE|jpki-card|platform)\.md\b
    | \breference\s+(?:service\.md\s+)?§             # "reference §9": a section of a file not in the repo
    | \b(?:DESIGN\s+step|STYLE\s+habit)\b
    """,
    re.VERBOSE,
)
# A Markdown file named in a text: it must be one of the repository's (by path, or by name in docs/).
MARKDOWN = re.compile(r"(?<![\w.-])((?:[\w-]+/)*[\w-]+\.md)\b")


def _git(*args: str) -> str:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: the repository checks need git")
    done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def tracked() -> list[PurePosixPath]:
    """Every file git tracks (deleted-but-not-committed ones left out)."""
    return [PurePosixPath(p) for p in _git("ls-files", "-z").split("\0") if p and (ROOT / p).exists()]


def text_of(path: PurePosixPath) -> str | None:
    """The file's text, or None for a binary file."""
    raw = (ROOT / path).read_bytes()
    if b"\0" in raw[:8192]:
        return None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None


def outside_references(text: str) -> list[str]:
    return [m.group(0) for m in OUTSIDE.finditer(text)]


def missing_markdown(text: str, where: PurePosixPath, files: set[PurePosixPath]) -> list[str]:
    """Markdown files ``text`` names that the repository does not hold (relative to the root, to the
    naming file's folder, or to docs/)."""
    missing = []
    for name in MARKDOWN.findall(text):
        # by path, relative to the naming file, in docs/, or an installed copy of a docs/ page
        candidates = {PurePosixPath(name), where.parent / name, PurePosixPath("docs") / name}
        candidates.add(PurePosixPath("docs") / PurePosixPath(name).name)
        if not candidates & files:
            missing.append(name)
    return missing


def test_no_tracked_file_points_outside_the_repository() -> None:
    files = tracked()
    offenders: dict[str, list[str]] = {}
    for path in files:
        text = None if path == THIS else text_of(path)
        if text is None:
            continue
        found = outside_references(text) + missing_markdown(text, path, set(files))
        if found:
            offenders[str(path)] = found
    assert offenders == {}, "cite docs/… (or CONTRIBUTING.md) instead of files outside the repository"


def test_the_checks_see_outside_paths() -> None:
    for sample in (
        "See ../shared/DESIGN.md",
        "from /work/shared/reference/jpki-card.md",
        "(reference §9 pitfall 13)",
        "(reference service.md §7)",
        "as in DESIGN.md",
        "(DESIGN step 4)",
        "(STYLE habit 10)",
        "jpki-card.md §1.2",
    ):
        assert outside_references(sample), sample
    for fine in (
        "docs/card.md §9 pitfall 13",
        "see CONTRIBUTING.md",
        "key reference 0x80",
        "reference vectors",
    ):
        assert outside_references(fine) == [], fine
    files = {PurePosixPath("docs/card.md"), PurePosixPath("README.md")}
    where = PurePosixPath("kiosk/x.py")
    assert missing_markdown("docs/card.md §3, README.md, card.md", where, files) == []
    assert missing_markdown("see devices.md §1 and notes/plan.md", where, files) == [
        "devices.md",
        "notes/plan.md",
    ]


def test_gitignore_hides_no_tracked_file() -> None:
    assert _git("ls-files", "-ci", "--exclude-standard") == ""


def test_license_is_the_apache_license_pyproject_declares() -> None:
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert "Apache License" in text and "Version 2.0, January 2004" in text
    assert "TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION" in text
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["license"] == "Apache-2.0"


# --- docs/architecture.md's tree against the repository ---------------------------------------------------
_TREE_LINE = re.compile(r"^(?P<prefix>(?:[│ ] {3})*)(?:├── |└── )(?P<name>\S+)")


def tree_folders(markdown: str) -> set[str]:
    """The folders of the first code block under ``## The tree``, as paths (``kiosk/flow``)."""
    section = markdown.split("\n## The tree", 1)[1]
    block = section.split("```", 2)[1]
    folders: set[str] = set()
    stack: list[str] = []
    for line in block.splitlines():
        match = _TREE_LINE.match(line)
        if match is None:
            continue
        depth = len(match["prefix"]) // 4
        name = match["name"]
        del stack[depth:]
        if name.endswith("/"):
            stack.append(name.rstrip("/"))
            folders.add("/".join(stack))
    return folders


def test_the_tree_reader_follows_nesting() -> None:
    lines = ["", "## The tree", "", "```", "repo/", "├── a/     x", "│   ├── b/   y", "│   │   └── c/"]
    lines += ["│   └── f.py", "└── d/", "```", ""]
    sample = "\n".join(lines)
    assert tree_folders(sample) == {"a", "a/b", "a/b/c", "d"}


def repository_folders(files: list[PurePosixPath]) -> tuple[set[str], set[str]]:
    """(top-level folders holding tracked files, hidden ones left out; every Python package folder outside
    tests/)."""
    top = {p.parts[0] for p in files if len(p.parts) > 1 and not p.parts[0].startswith(".")}
    packages = {
        str(p.parent) for p in files if p.name == "__init__.py" and p.parts[0] != "tests" and len(p.parts) > 1
    }
    return top, packages


def test_architecture_tree_matches_the_repository() -> None:
    files = tracked()
    named = tree_folders(ARCHITECTURE.read_text(encoding="utf-8"))
    folders_on_disk = {str(parent) for p in files for parent in p.parents if str(parent) != "."}
    top, packages = repository_folders(files)
    assert sorted(named - folders_on_disk) == [], "docs/architecture.md names folders that do not exist"
    assert sorted(top - named) == [], "top-level folders missing from docs/architecture.md's tree"
    assert sorted(packages - named) == [], "packages missing from docs/architecture.md's tree"
