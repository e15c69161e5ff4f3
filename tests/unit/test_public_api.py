"""The curated public API: `__all__` is exactly what resolves, and importing needs no setup."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import reactive


def test_all_is_sorted_and_resolves():
    assert reactive.__all__ == sorted(reactive.__all__)
    for name in reactive.__all__:
        assert getattr(reactive, name) is not None


def test_all_is_a_literal_list_of_the_lazy_exports():
    """Type checkers read `__all__` only when it is a literal; it must list every lazy name."""
    tree = ast.parse(Path(reactive.__file__).read_text())
    [node] = [
        n
        for n in tree.body
        if isinstance(n, ast.Assign)
        and any(isinstance(t, ast.Name) and t.id == "__all__" for t in n.targets)
    ]
    assert isinstance(node.value, ast.List)
    assert ast.literal_eval(node.value) == sorted(reactive._EXPORTS)


def test_the_ctx_types_are_exported():
    from reactive.functions.context import ActionCtx, MutationCtx, QueryCtx

    assert (reactive.QueryCtx, reactive.MutationCtx, reactive.ActionCtx) == (
        QueryCtx,
        MutationCtx,
        ActionCtx,
    )
    assert {"QueryCtx", "MutationCtx", "ActionCtx"} <= set(reactive.__all__)


def test_import_without_django_setup():
    code = (
        "import reactive; from reactive import query, mutation, v, api, ConvexError, Int64;"
        "print(api.chat.send.path)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env={"PATH": ""}, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "chat:send"


def test_the_distribution_has_its_own_name_and_provides_reactive() -> None:
    """`pip install reactive` installs an unrelated project: ours is django-reactive-backend."""
    from importlib import metadata

    dist = metadata.distribution("django-reactive-backend")
    assert dist.metadata["Name"] == "django-reactive-backend"
    top = (dist.read_text("top_level.txt") or "").split()
    files = [str(f) for f in (dist.files or [])]
    assert "reactive" in top or any(f.startswith("reactive") or "reactive" in f for f in files)
