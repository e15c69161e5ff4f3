"""The official npm `convex` ConvexHttpClient (1.48.0), run in Node against a live server."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.interop.node import run_node

JS_DIR = Path(__file__).resolve().parent / "js"
SCRIPT = JS_DIR / "http_client.mjs"

# Every check http_client.mjs runs; a check missing from its output is a failure too.
CHECKS = [
    "query",
    "query_default_export",
    "mutation",
    "mutation_error_rolls_back",
    "action",
    "int64",
    "bytes",
    "convex_error",
    "plain_error",
    "unknown_function",
    "internal_function",
    "log_lines",
    "consistent_query",
]

# The live server commits to pytest-django's test database, which pytest-django (4.14) only
# creates when a collected test asks for database access: without this mark, running these tests
# alone would point the server at the development database.
pytestmark = [pytest.mark.interop, pytest.mark.django_db]

_runs: dict[str, dict[str, Any]] = {}


def _run_script(url: str) -> dict[str, Any]:
    """Run http_client.mjs once per server; fail (never skip) if it crashes."""
    if url in _runs:
        return _runs[url]
    result = run_node(SCRIPT.name, url)
    if "fatal" in result:
        pytest.fail(
            f"http_client.mjs crashed (exit {result['returncode']}): {result['fatal']}\n"
            f"stderr: {result['stderr']}"
        )
    _runs[url] = result
    return result


def test_script_reports_every_check_and_exit_status(asgi_server) -> None:
    result = _run_script(asgi_server.url)
    assert sorted(result["checks"]) == sorted(CHECKS), "the script's checks changed"
    failed = [name for name, check in result["checks"].items() if not check["ok"]]
    assert result["ok"] is (not failed)
    assert result["returncode"] == (0 if not failed else 1), result["stderr"]


@pytest.mark.parametrize("check", CHECKS)
def test_official_js_http_client(asgi_server, check: str) -> None:
    result = _run_script(asgi_server.url)
    outcome = result["checks"].get(check)
    assert outcome is not None, f"http_client.mjs did not run the {check!r} check"
    assert outcome["ok"], f"{check}: {outcome['detail']}\n--- server log ---\n{asgi_server.log()}"


def test_script_reports_a_crash_as_json(tmp_path: Path) -> None:
    """Against a server that is not there, the script still prints one JSON line and fails."""
    node = shutil.which("node")
    assert node is not None, "node is not installed: install Node.js 20+"
    if not (JS_DIR / "node_modules" / "convex" / "package.json").exists():
        pytest.fail("tests/interop/js/node_modules is missing: run `python3 dev.py test`")
    proc = subprocess.run(
        [node, str(SCRIPT), "http://127.0.0.1:9"],
        cwd=JS_DIR,
        capture_output=True,
        text=True,
        timeout=60,
    )
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 1, proc.stdout + proc.stderr
    result = json.loads(lines[0])
    assert result["ok"] is False
    assert proc.returncode != 0
    assert not any(check["ok"] for check in result["checks"].values())
