"""Smoke test of demo_project: its settings load, its checks pass, its chat functions register."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent

CHAT_FUNCTIONS = {
    "chat:list_channels": "query",
    "chat:unread_counts": "query",
    "chat:list_messages": "query",
    "chat:paginated_messages": "query",
    "chat:search": "query",
    "chat:pending_later": "query",
    "chat:create_channel": "mutation",
    "chat:generate_upload_url": "mutation",
    "chat:send": "mutation",
    "chat:cancel_later": "mutation",
    "chat:mark_read": "mutation",
    "chat:purge_channel": "mutation",
    "chat:deliver": "mutation",
    "chat:post_bot_message": "mutation",
    "chat:summarize": "action",
    "chat:bot_reply": "action",
}
INTERNAL = {"chat:purge_channel", "chat:deliver", "chat:post_bot_message", "chat:bot_reply"}


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
    assert {path for path, (_, visibility) in rows.items() if visibility == "internal"} == INTERNAL
