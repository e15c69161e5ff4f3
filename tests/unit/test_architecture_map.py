"""docs/architecture.md's layer picture names every package and module of reactive/, and only
those; its table says where each planned capability will live."""

from __future__ import annotations

import re
from pathlib import Path

import reactive

ROOT = Path(reactive.__file__).parent
PAGE = ROOT.parent / "docs" / "architecture.md"


def _picture() -> str:
    section = PAGE.read_text().split("## Layers", 1)[1]
    return section.split("```", 2)[1]


def _package_lines() -> dict[str, list[str]]:
    """``pkg/`` → the words on its line(s) of the picture (a line starting with spaces only
    continues the one above)."""
    lines: dict[str, list[str]] = {}
    current = None
    for line in _picture().splitlines():
        match = re.match(r"  (\w+)/\s+(.*)", line)
        if match:
            current = match[1]
            lines[current] = match[2].split()
        elif current and re.match(r" {4,}\S", line):
            lines[current] += line.split()
        else:
            current = None
    return lines


def _packages() -> list[str]:
    return sorted(p.name for p in ROOT.iterdir() if p.is_dir() and (p / "__init__.py").exists())


def test_every_top_level_module_and_package_is_in_the_picture() -> None:
    picture = _picture()
    for path in sorted(ROOT.glob("*.py")):
        assert re.search(rf"(?<![\w/]){re.escape(path.name)}\b", picture), path.name
    for name in _packages():
        assert f"{name}/" in picture, f"{name}/"


def test_package_lines_list_their_modules_and_nothing_else() -> None:
    """Each package's line starts with exactly its modules: a stale or missing name breaks it."""
    lines = _package_lines()
    for name in ("changelog", "db", "functions", "scheduler", "sync", "transactions", "validators"):
        modules = {p.stem for p in (ROOT / name).glob("*.py") if p.stem != "__init__"}
        run: list[str] = []
        for word in lines.get(name, []):
            if word not in modules:
                break
            run.append(word)
        assert set(run) == modules, f"{name}/ lists {run}, has {sorted(modules)}"


def test_no_file_named_in_the_picture_is_missing() -> None:
    for name in re.findall(r"(?<![\w/.])(\w+\.py)\b", _picture()):
        assert (ROOT / name).exists() or name == "manage.py", name


def test_planned_capabilities_have_a_home() -> None:
    table = PAGE.read_text().split("### Where planned capabilities will live", 1)[1]
    rows = [line for line in table.splitlines() if line.startswith("| ") and "---" not in line]
    names = " ".join(row.split("|")[1] for row in rows).lower()
    for capability in (
        "auth",
        "rules",
        "custom functions",
        "triggers",
        "search",
        "vector",
        "storage",
        "http router",
        "codegen",
        "admin",
    ):
        assert capability in names, capability
    for row in rows[1:]:
        assert "reactive/" in row.split("|")[2], row
