"""manage.py reactive run --watch: a query's result printed again when another connection's
write changes it (the capture trigger's NOTIFY wakes it), and never for a mutation."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from io import StringIO
from pathlib import Path
from typing import IO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from reactive import ids
from tests.testapp.models import Channel, Message

pytestmark = pytest.mark.django_db(transaction=True)
ROOT = Path(__file__).resolve().parents[2]


def read_results(out: IO[str], count: int, timeout: float = 15) -> list[object]:
    """The next ``count`` JSON results the watch prints (each indented JSON, ending with ']')."""
    results: list[object] = []
    buffer = ""
    deadline = time.monotonic() + timeout
    while len(results) < count:
        assert time.monotonic() < deadline, f"only {results} printed; partial: {buffer!r}"
        line = out.readline()
        if not line:
            time.sleep(0.02)
            continue
        buffer += line
        try:
            results.append(json.loads(buffer))
            buffer = ""
        except ValueError:
            continue
    return results


def test_watch_prints_each_new_result(tmp_path: Path) -> None:
    channel = Channel.objects.create(name="watched")
    cid = ids.encode_id("channels", channel.pk)
    env = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="tests.settings",
        REACTIVE_LIVE_DB_NAME=connection.settings_dict["NAME"],
        PYTHONUNBUFFERED="1",
    )
    args = json.dumps({"channel": cid})
    cmd = [sys.executable, "manage.py", "reactive", "run", "testapp/messages:list", args, "--watch"]
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        assert read_results(proc.stdout, 1) == [[]]
        Channel.objects.create(name="elsewhere")  # a write the query did not read
        Message.objects.create(channel=channel, author="a", body="one")
        [first] = read_results(proc.stdout, 1)
        assert [m["body"] for m in first] == ["one"]  # type: ignore[index, union-attr]
        Message.objects.create(channel=channel, author="b", body="two")
        [second] = read_results(proc.stdout, 1)
        assert [m["body"] for m in second] == ["one", "two"]  # type: ignore[index, union-attr]
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
        # nothing more: no result printed twice (an unchanged result, as after the unrelated
        # write, is never printed again; whether that write re-ran the query is not visible here)
        assert proc.stdout.read() == ""
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for pipe in (proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()


def test_watch_refuses_mutations() -> None:
    with pytest.raises(CommandError, match="--watch follows queries only: .* is a mutation"):
        call_command(
            "reactive",
            "run",
            "testapp:create_channel",
            '{"name": "x"}',
            "--watch",
            stdout=StringIO(),
            stderr=StringIO(),
        )
    assert not Channel.objects.exists()


def test_watch_with_bad_arguments_ends_at_once() -> None:
    """No write can fix arguments the validators refuse: one line and exit 1, not a silent
    wait for changes."""
    refused = "ArgumentValidationError in testapp:channel_name: .*`channel`"
    with pytest.raises(CommandError, match=refused):
        call_command(
            "reactive",
            "run",
            "testapp:channel_name",
            "{}",
            "--watch",
            stdout=StringIO(),
            stderr=StringIO(),
        )
