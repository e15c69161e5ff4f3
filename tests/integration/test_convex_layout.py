"""Convex-style module paths: a FUNCTIONS_ROOT package laid out as a Convex project's convex/
folder, registered at start-up as Convex names its functions; clashes and a missing root are one
line at start-up. Each case starts `manage.py` as a user would (a fresh process, its own
registry) against the tests' database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.django_db(transaction=True)

MESSAGES = """
from reactive import mutation, query, v


@query(args={"paginationOpts": v.pagination_opts()})
def list_(ctx, paginationOpts):  # Convex's `list` (a Python builtin, hence the underscore)
    results = ctx.db.query("messages").order("desc").paginate(paginationOpts)
    return [f"{doc.body} rated {doc.rating}" for doc in results.page]


@mutation
def send(ctx, body, rating):  # no validators: any arguments, as Convex without `args`
    channel = ctx.db.query("channels").first()
    channel_id = channel._id if channel else ctx.db.insert("channels", {"name": "general"})
    return ctx.db.insert(
        "messages", {"channel": channel_id, "author": "port", "body": body, "rating": rating}
    )


@query
def default(ctx):
    return "the module's default export"
"""


def _project(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return tmp_path


def _manage(project: Path, root: str, *args: str) -> subprocess.CompletedProcess[str]:
    return _python(project, root, "manage.py", "reactive", *args)


def _python(project: Path, root: str, *args: str) -> subprocess.CompletedProcess[str]:
    if not args[0].endswith(".py"):
        args = ("-c", *args)
    env = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="tests.settings",
        REACTIVE_LIVE_DB_NAME=connection.settings_dict["NAME"],
        REACTIVE_TEST_FUNCTIONS_ROOT=root,
        PYTHONPATH=os.pathsep.join([str(project), str(ROOT)]),
    )
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_convex_layout_paths_and_a_call_through_them(tmp_path: Path) -> None:
    project = _project(
        tmp_path,
        {
            "portedapp/__init__.py": "",
            "portedapp/convex/__init__.py": "",
            "portedapp/convex/messages.py": MESSAGES,
            "portedapp/convex/admin/__init__.py": "",
            "portedapp/convex/admin/tools.py": (
                "from reactive import internal_query\n\n\n"
                "@internal_query\ndef count(ctx):\n"
                "    return len(ctx.db.query('messages').collect())\n"
            ),
        },
    )
    listed = _manage(project, "portedapp.convex", "functions")
    assert listed.returncode == 0, listed.stderr
    lines = {line.split()[0]: line for line in listed.stdout.splitlines()}
    assert "messages:list" in lines and "messages:list_" not in lines
    assert "messages:default" in lines and "messages:send" in lines
    assert "admin/tools:count" in lines and "internal" in lines["admin/tools:count"]
    assert lines["messages:send"].endswith("(accepts any arguments)")
    assert not lines["messages:list"].endswith("(accepts any arguments)")
    assert "testapp:create_channel" in lines  # the apps' functions keep their paths

    # the calls, by path, in one more process: `reactive run` as the command line runs it
    calls = [
        ("messages:send", {"body": "a", "rating": 4, "clientTag": "extra, and accepted"}),
        ("messages:send", {"body": "b", "rating": 2.5}),
        ("messages:list", {"paginationOpts": {"numItems": 5, "cursor": None}}),
        ("messages", {}),  # "messages" is "messages:default"
        ("admin/tools:count", {}),
    ]
    script = (
        "import io, json, sys, django\n"
        "django.setup()\n"
        "from django.core.management import call_command\n"
        "for path, args in json.loads(sys.argv[1]):\n"
        "    out = io.StringIO()\n"
        "    call_command('reactive', 'run', path, json.dumps(args), stdout=out)\n"
        "    print(json.dumps(json.loads(out.getvalue())))\n"
    )
    ran = _python(project, "portedapp.convex", script, json.dumps(calls))
    assert ran.returncode == 0, ran.stderr
    results = [json.loads(line) for line in ran.stdout.splitlines()]
    # doc.body reads as Convex code reads it; a whole float64 prints as JavaScript prints it
    assert results[2] == ["b rated 2.5", "a rated 4"]
    assert results[3:] == ["the module's default export", 2]


def test_a_path_taken_twice_is_one_line_at_start_up(tmp_path: Path) -> None:
    project = _project(
        tmp_path,
        {
            "clash/__init__.py": "",
            "clash/testapp.py": (
                "from reactive import mutation\n\n\n"
                "@mutation\ndef create_channel(ctx, name):\n    return None\n"
            ),
        },
    )
    proc = _manage(project, "clash", "functions")
    assert proc.returncode == 1
    assert "Two functions are registered as 'testapp:create_channel'" in proc.stderr
    assert "clash.testapp.create_channel" in proc.stderr
    assert "tests.testapp.functions.create_channel" in proc.stderr


def test_a_missing_root_is_one_line_at_start_up(tmp_path: Path) -> None:
    proc = _manage(tmp_path, "no_such_pkg.convex", "functions")
    assert proc.returncode == 1
    assert "REACTIVE['FUNCTIONS_ROOT'] = 'no_such_pkg.convex': no such package" in proc.stderr
