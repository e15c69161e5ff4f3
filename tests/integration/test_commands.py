"""manage.py reactive functions | run: thin wrappers over the registry and the executor."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import connection

from tests.testapp.models import Channel

pytestmark = pytest.mark.django_db(transaction=True)


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("reactive", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_functions_lists_the_registry():
    out, _ = run("functions")
    assert "testapp/messages:send" in out and "mutation" in out
    assert "testapp:secret" in out and "internal" in out


def test_run_calls_through_the_executor_including_internal():
    out, _ = run("run", "testapp:create_channel", '{"name": "cli"}')
    channel_id = json.loads(out)
    assert Channel.objects.get().name == "cli"
    out, _ = run("run", "testapp/messages:list", json.dumps({"channel": channel_id}))
    assert json.loads(out) == []
    out, _ = run("run", "testapp:secret")
    assert json.loads(out) == "internal only"
    out, err = run("run", "testapp:logs")
    assert "[LOG] hello 1" in err


def test_run_as_user_and_formats():
    get_user_model().objects.create_user("cli-user", email="c@x.test")
    out, _ = run("run", "testapp:whoami", "--user", "cli-user")
    assert json.loads(out)["email"] == "c@x.test"
    out, _ = run("run", "testapp:big_int")
    assert json.loads(out)["i"] == str(2**62)
    out, _ = run("run", "testapp:big_int", "--format", "convex_encoded_json")
    assert set(json.loads(out)["i"]) == {"$integer"}


def test_run_prints_whole_numbers_as_javascript_does():
    out, _ = run("run", "testapp:echo", '{"n": 4, "half": 2.5, "list": [1.0, -0.0]}')
    assert out == '{\n  "n": 4,\n  "half": 2.5,\n  "list": [\n    1,\n    -0.0\n  ]\n}\n'


@pytest.mark.parametrize(
    "args, match",
    [
        (("run", "testapp:ping", "{not json"), "JSON"),
        (("run", "testapp:nope"), "Could not find function"),
        (("run", "testapp:fail_convex"), "NOPE"),
        (("run", "testapp:create_channel", '{"name": 5}'), "`name`"),
        (("run", "testapp:whoami", "--user", "ghost"), "no user"),
    ],
)
def test_run_errors(args, match):
    with pytest.raises(CommandError, match=match):
        run(*args)
    assert not Channel.objects.exists()


def test_an_unknown_user_is_one_line_and_exit_status_1() -> None:
    env = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="tests.settings",
        REACTIVE_LIVE_DB_NAME=connection.settings_dict["NAME"],
    )
    proc = subprocess.run(
        [sys.executable, "manage.py", "reactive", "run", "testapp:whoami", "--user", "ghost"],
        cwd=Path(__file__).resolve().parents[2],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1
    assert proc.stdout == "" and proc.stderr == "CommandError: no user 'ghost'\n"
