"""Imports go one way: the package's module graph has no cycle, and a function-local import
says why it is local.

The graph counts every import: module-level, function-local and ``TYPE_CHECKING`` ones, since a
cycle hidden behind any of them is still two modules that cannot be understood apart.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import reactive

PACKAGE = Path(reactive.__file__).parent
#: A function-local import carries a comment (same line or the line above) naming its reason.
REASON = re.compile(r"#.*\b(deferred|cycle|app registry|heavy|optional)\b", re.I)


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py") if "migrations" not in p.parts}


def imported(path: Path, node: ast.Import | ast.ImportFrom) -> list[str]:
    """The package modules an import statement loads."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names if a.name in MODULES]
    if node.level:
        package = module_name(path) if path.name == "__init__.py" else module_name(path.parent)
        for _ in range(node.level - 1):
            package = package.rpartition(".")[0]
        base = f"{package}.{node.module}" if node.module else package
    else:
        base = node.module or ""
    found = [f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in MODULES]
    if base in MODULES and len(found) < len(node.names):
        found.append(base)
    return found


def local_imports(tree: ast.Module) -> list[ast.Import | ast.ImportFrom]:
    found = []
    for fn in ast.walk(tree):
        if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
            found += [n for n in ast.walk(fn) if isinstance(n, ast.Import | ast.ImportFrom)]
    return list({id(n): n for n in found}.values())


def graph() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {name: set() for name in MODULES}
    for name, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import | ast.ImportFrom):
                edges[name].update(t for t in imported(path, node) if t != name)
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges[child]))))
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


def test_the_module_graph_has_no_cycle() -> None:
    assert cycles(graph()) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def explanation(lines: list[str], node: ast.stmt) -> list[str]:
    """The import's own lines and the comment and import lines right above it (a block of
    imports may share one comment)."""
    start = node.lineno - 1
    while start > 0 and lines[start - 1].strip().startswith(("#", "from ", "import ")):
        start -= 1
    return lines[start : node.end_lineno or node.lineno]


def test_a_function_local_import_says_why() -> None:
    unexplained = []
    for name, path in MODULES.items():
        lines = path.read_text().splitlines()
        for node in local_imports(ast.parse("\n".join(lines))):
            if not any(REASON.search(line) for line in explanation(lines, node)):
                unexplained.append(f"{name}:{node.lineno}: {lines[node.lineno - 1].strip()}")
    assert unexplained == []
