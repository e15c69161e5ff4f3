"""Names say one thing: no two modules, classes, or a method and a function of one module share a
name in reactive/, and function kinds are passed as `Kind`, not as strings."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import reactive
from reactive.functions.registry import Kind

ROOT = Path(reactive.__file__).parent
KINDS = {kind.value for kind in Kind}


def _modules() -> list[Path]:
    return sorted(p for p in ROOT.rglob("*.py") if "migrations" not in p.relative_to(ROOT).parts)


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), filename=str(path))


def _where(path: Path, node: ast.AST | None = None) -> str:
    line = f":{node.lineno}" if isinstance(node, ast.stmt | ast.expr) else ""
    return f"{path.relative_to(ROOT.parent)}{line}"


def test_no_two_modules_share_a_name() -> None:
    by_stem: dict[str, list[str]] = defaultdict(list)
    for path in _modules():
        if path.stem != "__init__":
            by_stem[path.stem].append(_where(path))
    shared = {stem: paths for stem, paths in by_stem.items() if len(paths) > 1}
    assert not shared, shared


def test_no_two_classes_share_a_name() -> None:
    by_name: dict[str, list[str]] = defaultdict(list)
    for path in _modules():
        for node in _tree(path).body:
            if isinstance(node, ast.ClassDef):
                by_name[node.name].append(_where(path, node))
    shared = {name: where for name, where in by_name.items() if len(where) > 1}
    assert not shared, shared


def test_no_private_method_shares_its_modules_function_name() -> None:
    """A private helper is one thing per module (public pairs such as `reactive.testing.call` and
    `ReactiveClient.call` do the same thing on purpose)."""
    clashes = []
    for path in _modules():
        body = _tree(path).body
        functions = {n.name for n in body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}
        for cls in (n for n in body if isinstance(n, ast.ClassDef)):
            for node in cls.body:
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    private = node.name.startswith("_") and not node.name.startswith("__")
                    if private and node.name in functions:
                        clashes.append(f"{_where(path, node)} {cls.name}.{node.name}")
    assert not clashes, clashes


def _kind_literals(tree: ast.AST) -> list[ast.Constant]:
    """String literals naming a function kind where a kind is passed or compared: a ``kind=``
    keyword, an argument of a ``*call`` function, an operand of ``==`` / ``!=``."""
    found: list[ast.AST] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            found += [k.value for k in node.keywords if k.arg == "kind"]
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name.endswith("call"):
                found += node.args
        elif isinstance(node, ast.Compare):
            found += [node.left, *node.comparators]
    return [
        n
        for n in found
        if isinstance(n, ast.Constant) and isinstance(n.value, str) and n.value in KINDS
    ]


def test_function_kinds_are_passed_as_kind_not_strings() -> None:
    strings = [
        f"{_where(path, node)} {node.value!r}"
        for path in _modules()
        for node in _kind_literals(_tree(path))
    ]
    assert not strings, strings


def test_the_kind_check_finds_a_string_kind() -> None:
    """The check above can fail: it finds each form it looks for."""
    sample = ast.parse(
        'execute(p, a, kind="query")\nself._call(r, a, "mutation")\nif k == "action": pass\n'
        'execute(p, a, kind=Kind.QUERY)\nlog("query")\n'
    )
    assert [n.value for n in _kind_literals(sample)] == ["query", "mutation", "action"]
