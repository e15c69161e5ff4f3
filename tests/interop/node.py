"""Running the official npm client's scripts (tests/interop/js/*.mjs) from the tests."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import LiveServer

JS_DIR = Path(__file__).resolve().parent / "js"


def node_executable() -> str:
    """Node, with the npm client installed; fail (never skip) when either is missing."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed: install Node.js 20+ and run `python3 dev.py test`")
    if not (JS_DIR / "node_modules" / "convex" / "package.json").exists():
        pytest.fail(
            f"{JS_DIR / 'node_modules'} is missing the `convex` package: run "
            "`python3 dev.py test` (it runs `npm ci` in tests/interop/js)"
        )
    return node


def run_node(
    script: str, *args: str, server: LiveServer | None = None, timeout: float = 60
) -> dict[str, Any]:
    """Run ``tests/interop/js/<script>``, which prints exactly one JSON line; fail if it hangs
    or prints anything else."""
    node = node_executable()
    log = f"\n--- server log ---\n{server.log()}" if server is not None else ""
    try:
        proc = subprocess.run(
            [node, str(JS_DIR / script), *args],
            cwd=JS_DIR,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(
            f"{script} did not finish in {timeout:g} s\nstdout: {exc.stdout!r}\n"
            f"stderr: {exc.stderr!r}{log}"
        )
    lines = proc.stdout.strip().splitlines()
    if len(lines) != 1:
        pytest.fail(
            f"{script} must print exactly one JSON line (exit {proc.returncode})"
            f"\nstdout: {proc.stdout}\nstderr: {proc.stderr}"
        )
    try:
        result: dict[str, Any] = json.loads(lines[0])
    except ValueError:
        pytest.fail(f"{script} printed non-JSON: {lines[0]!r}\nstderr: {proc.stderr}")
    result["returncode"] = proc.returncode
    result["stderr"] = proc.stderr
    return result
