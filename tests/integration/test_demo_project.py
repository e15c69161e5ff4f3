"""Smoke test of demo_project: its settings load, its checks pass, its chat functions register."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent

CHAT_FUNCTIONS = {
    "chat:list_channels": "query",
    "chat:list_messages": "query",
    "chat:paginated_messages": "query",
    "chat:create_channel": "mutation",
    "chat:send": "mutation",
    "chat:purge_channel": "mutation",
    "chat:deliver": "mutation",
    "chat:summarize": "action",
}


def _manage(*args: str) -> str:
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="demo_project.settings")
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, f"manage.py {' '.join(args)} failed:\n{result.stderr}"
    return result.stdout


def test_demo_project_checks_and_lists_chat_functions() -> None:
    assert "no issues" in _manage("check")
    rows = {
        line.split()[0]: line.split()[1:3]
        for line in _manage("reactive", "functions").splitlines()
        if line.startswith("chat")
    }
    assert {path: kind for path, (kind, _) in rows.items()} == CHAT_FUNCTIONS
    assert rows["chat:purge_channel"][1] == "internal"
    assert rows["chat:deliver"][1] == "internal"
    assert rows["chat:send"][1] == "public"
