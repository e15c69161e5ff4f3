"""Run `manage.py` on a throwaway settings module (and throwaway apps), for the check tests.

`run_manage(tmp_path, settings, apps={...}, args=("check",))` writes ``settings`` (Python source
appended to ``from tests.settings import *``) and each app's files under ``tmp_path``, then runs
``manage.py`` on them in a subprocess and returns the exit code and the combined output.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_manage(
    tmp_path: Path,
    settings: str,
    apps: dict[str, dict[str, str]] | None = None,
    args: tuple[str, ...] = ("check",),
    timeout: float = 60.0,
) -> tuple[int, str]:
    """Exit code and output of ``manage.py <args>`` under the given settings and apps."""
    module = f"check_settings_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{module}.py").write_text(
        "from tests.settings import *  # noqa: F403\n" + textwrap.dedent(settings)
    )
    for app, files in (apps or {}).items():
        package = tmp_path / app
        package.mkdir(exist_ok=True)
        (package / "__init__.py").write_text("")
        for name, source in files.items():
            (package / name).write_text(textwrap.dedent(source))
    env = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE=module,
        PYTHONPATH=os.pathsep.join([str(tmp_path), str(ROOT)]),
    )
    proc = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return proc.returncode, proc.stdout + proc.stderr
