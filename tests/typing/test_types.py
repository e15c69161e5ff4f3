"""The public API as a type checker sees it: mypy --strict on tests/typing/typed_functions.py.

A decorated function keeps its handler's signature (`RegisteredFunction[P, R]`), both forms of
each decorator type-check (custom builders' too), and the ctx classes are importable from
`reactive`. Runs the project's
own mypy configuration (pyproject.toml: strict, the django-stubs plugin).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SNIPPET = Path(__file__).with_name("typed_functions.py")
REGISTERED = "reactive.functions.registry.RegisteredFunction"
QUERY_CTX = "reactive.functions.context.QueryCtx"


def _mypy() -> dict[int, list[str]]:
    """mypy's notes and errors on the snippet, by line."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"}
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--config-file",
            str(ROOT / "pyproject.toml"),
            "--no-error-summary",
            str(SNIPPET.relative_to(ROOT)),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode in (0, 1), out.stdout + out.stderr  # 2: mypy itself failed
    found: dict[int, list[str]] = {}
    for line in out.stdout.splitlines():
        m = re.match(r".*typed_functions\.py:(\d+): (.*)$", line)
        assert m, f"mypy reported outside the snippet: {line}"
        found.setdefault(int(m.group(1)), []).append(m.group(2))
    return found


def _line(text: str) -> int:
    lines = SNIPPET.read_text().splitlines()
    return next(i for i, line in enumerate(lines, 1) if line.strip().startswith(text))


def test_decorated_functions_keep_their_signature() -> None:
    found = _mypy()

    def revealed(expr: str) -> str:
        [note] = found.pop(_line(f"reveal_type({expr})"))
        assert note.startswith("note: Revealed type is "), note
        return note.removeprefix("note: Revealed type is ").strip('"')

    assert revealed("reactive.query") == "reactive.functions.decorators.FunctionDecorator"
    assert revealed("list_messages") == (
        f"{REGISTERED}[[ctx: {QUERY_CTX}, channel: builtins.str, limit: builtins.int =], "
        "builtins.list[builtins.str]]"
    )
    assert revealed("send") == (
        f"{REGISTERED}[[ctx: reactive.functions.context.MutationCtx, body: builtins.str], "
        "builtins.str]"
    )
    assert revealed("fetch") == (
        f"{REGISTERED}[[ctx: reactive.functions.context.ActionCtx, url: builtins.str], "
        "typing.Coroutine[Any, Any, builtins.int]]"
    )
    assert revealed("count") == f"{REGISTERED}[[ctx: {QUERY_CTX}], builtins.int]"
    assert revealed("list_messages.handler") == (
        f"def (ctx: {QUERY_CTX}, channel: builtins.str, limit: builtins.int =) "
        "-> builtins.list[builtins.str]"
    )
    # A direct call is checked against the handler's parameters.
    call = found.pop(_line("list_messages(1)"))
    assert any("[call-arg]" in e for e in call) and any("[arg-type]" in e for e in call), call
    # A custom builder is a decorator of the same forms; what it decorates keeps its signature,
    # with the ctx type the handler declares (a QueryCtx subclass naming the added field).
    assert revealed("user_query") == "reactive.custom.builder.CustomDecorator"
    assert revealed("mine") == (
        f"{REGISTERED}[[ctx: tests.typing.typed_functions.UserCtx, limit: builtins.int =], "
        "builtins.list[builtins.str]]"
    )
    assert revealed("bump") == (
        f"{REGISTERED}[[ctx: reactive.functions.context.MutationCtx, n: builtins.float], "
        "builtins.float]"
    )
    call = found.pop(_line("mine(1)"))
    assert any("[arg-type]" in e for e in call), call
    # Nothing else: the decorators' option forms (custom options too) and the ctx imports
    # type-check.
    assert found == {}
