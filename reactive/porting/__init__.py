"""Porting a Convex project: its ``convex/schema.ts`` → Django models (docs/convex-schema.md).

`evaluate` runs the schema under Node with the project's own ``convex`` package, `plan` maps
its exported JSON to models, `render` writes their Python source; `convert` does all three and
`write` puts the result in place. Bad input is a ``ValueError`` of one line, and nothing is
written.
"""

from __future__ import annotations

import os
from pathlib import Path

from .evaluate import evaluate
from .plan import SchemaPlan, plan_schema
from .render import render

__all__ = ["SchemaPlan", "convert", "write"]

#: What ``manage.py startapp`` puts in models.py: replacing it loses nothing.
STARTAPP_MODELS = "from django.db import models\n\n# Create your models here.\n"


def convert(
    schema: Path, max_lengths: dict[str, int] | None = None, node: str | None = None
) -> tuple[str, SchemaPlan]:
    """The models module for ``schema`` (a ``convex/schema.ts``), and the plan behind it.

    Raises:
        ValueError: one line naming the file, table, field or index that cannot be ported.
    """
    plan = plan_schema(evaluate(schema, node), max_lengths)
    source = render(
        plan, f"convex/{schema.name}" if schema.parent.name == "convex" else schema.name
    )
    try:  # a rendering mistake fails here, in one line, not at import
        compile(source, "models.py", "exec")
    except SyntaxError as exc:
        raise ValueError(
            f"{schema}: the models would not compile ({exc}); please report it"
        ) from None
    return source, plan


def write(out: Path, source: str, *, force: bool = False) -> None:
    """Write ``source`` to ``out`` in one step (a temporary file renamed over it).

    Raises:
        ValueError: ``out`` exists (other than as startapp left it) and ``force`` is false.
        OSError: the folder is missing or not writable.
    """
    if out.exists() and not force and out.read_text() != STARTAPP_MODELS:
        raise ValueError(f"{out} exists: pass --force to overwrite it")
    # a name of our own, created with the umask's permissions (mkstemp's are 0600)
    temporary = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        with temporary.open("x") as handle:
            handle.write(source)
        os.replace(temporary, out)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
