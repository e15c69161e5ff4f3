"""README.md's quick start, applied to a fresh `django-admin startproject` as written: every file
section of its Python blocks (`# path` writes the file, `# at the end of path` appends to it), then
`manage.py check` must be clean, `mysite.asgi` must import and route WebSockets, and the functions
must be registered. (A quick start whose snippets leave out an import or the asgi.py step is what
a newcomer copies first.) The full walk, server and clients included, is test_tutorial.py's."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from django.core.management import call_command

ROOT = Path(__file__).resolve().parent.parent.parent
SECTION = re.compile(r"^# (at the end of )?(\S+\.py)\b.*$", re.M)


def quick_start() -> list[tuple[str, bool, str]]:
    """(path, append, code) of each file section of the quick start's Python blocks."""
    readme = (ROOT / "README.md").read_text()
    part = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    sections = []
    for block in re.findall(r"^```python\n(.*?)^```$", part, re.S | re.M):
        marks = list(SECTION.finditer(block))
        assert marks and marks[0].start() == 0, f"a Python block names no file:\n{block}"
        for mark, after in zip(marks, [*marks[1:], None], strict=True):
            code = block[mark.end() : after.start() if after else len(block)]
            sections.append((mark[2], bool(mark[1]), code.strip("\n") + "\n"))
    return sections


CHECK = """
from mysite.asgi import application  # sets Django up, as a server would
from django.core.management import call_command
from reactive.functions.registry import registry
call_command("check")
print("routes:", sorted(application.application_mapping))
print("functions:", sorted(fn.path for fn in registry))
"""


def test_the_quick_start_makes_a_working_project(tmp_path: Path) -> None:
    call_command("startproject", "mysite", str(tmp_path))
    (tmp_path / "tasks").mkdir()
    call_command("startapp", "tasks", str(tmp_path / "tasks"))
    sections = quick_start()
    assert {path for path, _a, _c in sections} >= {
        "mysite/settings.py",
        "mysite/urls.py",
        "mysite/asgi.py",
        "tasks/models.py",
        "tasks/functions.py",
    }
    for path, append, code in sections:
        with (tmp_path / path).open("a" if append else "w") as f:
            f.write(("\n" if append else "") + code)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("DJANGO_SETTINGS_MODULE")  # asgi.py sets it, as under a server
    result = subprocess.run(
        [sys.executable, "-c", CHECK], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    assert "System check identified no issues" in out, out
    assert "routes: ['http', 'websocket']" in out, out
    assert "functions: ['tasks:add', 'tasks:list_tasks']" in out, out
