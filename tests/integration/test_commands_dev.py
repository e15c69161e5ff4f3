"""manage.py reactive dev: server and worker together; a changed functions file is served after
the restart, a broken one waits for the fix; Ctrl-C leaves no child running; a busy port is one
line and nothing started."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from io import StringIO
from pathlib import Path

import pytest
import requests
from django.core.management import CommandError, call_command
from django.db import connection

pytestmark = pytest.mark.django_db(transaction=True)
ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS = ROOT / "tests" / "testapp" / "functions"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def children_of(pid: int) -> set[int]:
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def call(port: int, path: str, timeout: float = 20) -> object:
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            r = requests.post(
                f"http://127.0.0.1:{port}/api/query", json={"path": path, "args": {}}, timeout=2
            )
            last = r.json()
            if r.ok and last.get("status") == "success":  # type: ignore[attr-defined]
                return last["value"]  # type: ignore[index]
        except requests.RequestException as exc:
            last = exc
        time.sleep(0.1)
    raise AssertionError(f"{path} never answered on port {port}: {last!r}")


def dev(*args: str, log: Path, cwd: Path = ROOT) -> subprocess.Popen[bytes]:
    env = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="tests.settings",
        REACTIVE_LIVE_DB_NAME=connection.settings_dict["NAME"],
        PYTHONUNBUFFERED="1",
    )
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, str(ROOT / "manage.py"), "reactive", "dev", *args],
            cwd=cwd,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def test_dev_serves_reloads_and_stops_everything(tmp_path: Path) -> None:
    port = free_port()
    name = f"devprobe_{os.getpid()}"
    probe = FUNCTIONS / f"{name}.py"
    source = "from reactive import query\n\n\n@query\ndef version(ctx) -> str:\n    return {!r}\n"
    probe.write_text(source.format("one"))
    # started from another folder (`python ~/mysite/manage.py`): the children find the project
    proc = dev("--port", str(port), log=tmp_path / "dev.log", cwd=tmp_path)
    try:
        assert call(port, f"testapp/{name}:version", timeout=30) == "one"
        # a broken module stops both; fixing it starts them again with the new function
        probe.write_text("def broken(:\n")
        deadline = time.monotonic() + 30
        while "exited with status" not in (tmp_path / "dev.log").read_text():
            assert time.monotonic() < deadline, (tmp_path / "dev.log").read_text()
            time.sleep(0.1)
        probe.write_text(source.format("two"))
        assert call(port, f"testapp/{name}:version", timeout=30) == "two"
        kids = children_of(proc.pid)
        assert len(kids) == 2, kids  # the server and the worker
        # the worker may still be starting (a loaded machine): its line comes before Ctrl-C
        deadline = time.monotonic() + 30
        while "worker started" not in (tmp_path / "dev.log").read_text():
            assert time.monotonic() < deadline, (tmp_path / "dev.log").read_text()
            time.sleep(0.1)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) == 0
        assert not [k for k in kids if alive(k)]
        log = (tmp_path / "dev.log").read_text()
        assert "restarting the server and the worker" in log and "worker started" in log
    finally:
        probe.unlink(missing_ok=True)
        for cached in (FUNCTIONS / "__pycache__").glob(f"{name}.*"):
            cached.unlink()
        if proc.poll() is None:
            left = children_of(proc.pid)  # a dev killed outright cannot stop its children
            proc.kill()
            proc.wait()
            for pid in left:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)


def test_a_busy_port_is_one_line_and_nothing_runs(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = dev("--port", str(port), log=tmp_path / "busy.log")
        assert proc.wait(timeout=30) == 1
    log = (tmp_path / "busy.log").read_text()
    assert (
        log.strip()
        == f"CommandError: port {port} on 127.0.0.1 is in use: stop what uses it or pass --port"
    )
    assert not children_of(proc.pid)


def test_bad_port_or_host_is_one_line() -> None:
    """Not a traceback (a port out of range), nor "in use" for an address this machine
    does not have."""
    for args, message in (
        (["--port", "99999"], "argument --port: 99999 is not a port (1 to 65535)"),
        (["--host", "nothere.invalid"], "cannot serve on nothere.invalid:8000: "),
        (["--host", "192.0.2.1", "--port", "8000"], "cannot serve on 192.0.2.1:8000: "),
    ):
        with pytest.raises(CommandError, match=re.escape(message)):
            call_command("reactive", "dev", *args, stdout=StringIO(), stderr=StringIO())
