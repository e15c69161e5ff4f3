"""Run a Convex ``schema.ts`` under Node with the project's own ``convex`` npm package, and read
back ``schema.export()``: the JSON the Convex CLI sends to its backend.

TypeScript is never parsed here: ``evaluate_schema.mjs`` bundles the schema with the esbuild that
comes with ``convex`` and imports it. Every failure is one line naming the file.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

RUNNER = Path(__file__).with_name("evaluate_schema.mjs")
#: A schema evaluates in well under a second; a hang (an import that waits) is an error.
TIMEOUT_SECONDS = 60
# The runner's exit statuses (see evaluate_schema.mjs).
NO_PACKAGE, NO_COMPILE, THREW, NOT_A_SCHEMA, NO_ESBUILD = 3, 4, 5, 6, 7


def evaluate(schema: Path, node: str | None = None) -> dict[str, Any]:
    """``schema.export()`` of ``schema`` (a ``convex/schema.ts``) as a dict.

    Args:
        schema: The schema file; ``convex`` and esbuild are found from its folder upwards.
        node: The Node.js executable (default: ``node`` on ``PATH``).

    Raises:
        ValueError: one line: the file is missing, Node is missing, no ``convex`` package, the
            schema does not compile or throws, or it exports no schema.
    """
    if not schema.is_file():
        raise ValueError(f"{schema}: no such file")
    executable = node or shutil.which("node")
    if executable is None:
        raise ValueError(
            "Node.js is needed to evaluate the schema with the convex npm package, and no "
            "`node` is on PATH: install Node.js 20 or later"
        )
    try:
        done = subprocess.run(
            [executable, str(RUNNER), str(schema.resolve())],
            capture_output=True,
            text=True,
            timeout=TIMEOUT_SECONDS,
            check=False,
        )
    except FileNotFoundError:
        raise ValueError(
            f"Node.js not found at {executable}: install Node.js 20 or later"
        ) from None
    except subprocess.TimeoutExpired:
        raise ValueError(f"{schema}: evaluating it took over {TIMEOUT_SECONDS} s") from None
    # the runner's own line is the last: what the schema logged (console.error) comes before
    said = next((line for line in reversed(done.stderr.splitlines()) if line.strip()), "")
    if done.returncode == NO_PACKAGE:
        raise ValueError(
            f"{schema}: no convex npm package in {schema.parent} or a folder above it: "
            "run `npm install convex` in the project"
        )
    if done.returncode == NO_ESBUILD:
        raise ValueError(
            f"{schema}: the convex npm package in {said} cannot load its esbuild: "
            "run `npm install` in the project"
        )
    if done.returncode in (NO_COMPILE, THREW, NOT_A_SCHEMA):
        what = {NO_COMPILE: "does not compile", THREW: "threw", NOT_A_SCHEMA: "is no schema"}
        raise ValueError(f"{schema} {what[done.returncode]}: {said}")
    if done.returncode != 0:
        raise ValueError(f"{schema}: node exited with status {done.returncode}: {said}")
    # the export is the last line: what the schema logged (console.log) comes before
    last = next((line for line in reversed(done.stdout.splitlines()) if line.strip()), "")
    try:
        exported = json.loads(last)
    except ValueError:
        raise ValueError(f"{schema}: the schema's export is not JSON") from None
    if not isinstance(exported, dict):
        raise ValueError(f"{schema}: the schema's export is not a JSON object")
    return exported
