"""`python3 dev.py demo` as a newcomer runs it: on a busy port, one clear line, a non-zero exit and
nothing started; on a free port, the demo served, and SIGINT stops the server and the worker.

Every process dev.py starts inherits a marker in its environment, so "nothing left running" is
checked by looking for the marker in /proc, whatever the processes are called. The venv is the
installed one (its stamp makes `ensure_venv` a no-op) and the database a fresh one on the server
of DATABASE_URL.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
import requests

ROOT = Path(__file__).resolve().parent.parent.parent

pytestmark = pytest.mark.skipif(not Path("/proc").is_dir(), reason="looks for processes in /proc")


def marked(mark: str) -> dict[int, str]:
    """pid -> command line of every process whose environment holds ``mark``."""
    found = {}
    needle = mark.encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if needle in (entry / "environ").read_bytes():
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
                found[int(entry.name)] = cmdline.strip()
        except OSError:
            continue  # gone meanwhile, or not ours to read
    return found


def kill_marked(mark: str) -> None:
    """After a failure: no process this test started through dev.py outlives it."""
    for pid in marked(mark):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def dev_env(mark: str, database_url: str) -> dict[str, str]:
    env = dict(os.environ, REACTIVE_DEV_PY_TEST=mark, DATABASE_URL=database_url)
    env.pop("DJANGO_SETTINGS_MODULE", None)  # dev.py chooses the demo's
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def database_url() -> Iterator[str]:
    """A new, empty database on the server of DATABASE_URL, dropped afterwards."""
    base = os.environ["DATABASE_URL"]
    name = f"devpy_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(base)
    yield urlunsplit(parts._replace(path=f"/{name}"))
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_busy_port_is_one_clear_line_and_starts_nothing(database_url: str) -> None:
    mark = uuid.uuid4().hex
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "dev.py", "demo", "--port", str(port)],
            cwd=ROOT,
            env=dev_env(mark, database_url),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode != 0
    assert result.stdout == ""  # not a step taken
    lines = result.stderr.strip().splitlines()
    assert lines == [
        f"dev.py: port {port} on 127.0.0.1 is already in use; "
        f"pass another, e.g. python3 dev.py demo --port {port + 1}"
    ]
    assert marked(mark) == {}


def test_demo_serves_then_sigint_stops_everything(database_url: str, tmp_path: Path) -> None:
    mark = uuid.uuid4().hex
    port = free_port()
    log_path = tmp_path / "dev.log"
    with log_path.open("wb") as log:
        dev = subprocess.Popen(
            # every address, as the README suggests for serving other machines
            [sys.executable, "dev.py", "demo", "--host", "0.0.0.0", "--port", str(port)],
            cwd=ROOT,
            env=dev_env(mark, database_url),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 90
            page = None
            while time.monotonic() < deadline and dev.poll() is None:
                try:
                    page = requests.get(f"http://127.0.0.1:{port}/", timeout=5)
                    break
                except requests.ConnectionError:
                    time.sleep(0.3)
            output = log_path.read_text()
            assert page is not None and page.status_code == 200, output
            # ... to other machines too: their Host header is this machine's address
            other = requests.get(page.url, headers={"Host": f"192.0.2.7:{port}"}, timeout=5)
            assert other.status_code == 200, other.text[-2000:]
            running = " | ".join(marked(mark).values())
            assert "reactive worker" in running and "daphne" in running, running
            # ... the server announced (dev.py polls the port itself, so its line may come a
            # moment after our first answer), and quietly: daphne's access log is off
            announced = f"the demo is at http://0.0.0.0:{port}/"
            deadline = time.monotonic() + 10
            while announced not in log_path.read_text() and time.monotonic() < deadline:
                time.sleep(0.1)
            assert announced in log_path.read_text(), log_path.read_text()
            dev.send_signal(signal.SIGINT)
            assert dev.wait(timeout=30) == 0, log_path.read_text()
        finally:
            if dev.poll() is None:
                dev.kill()
                dev.wait()
            if sys.exc_info()[0] is not None:  # dev.py, killed, stopped nothing it started
                kill_marked(mark)
    output = log_path.read_text()
    for step in (
        "==> using the PostgreSQL database at DATABASE_URL",
        "==> migrating the database",
        "==> seeding demo data",
        "==> starting the scheduler's worker",
        f"==> starting the server (daphne) on http://0.0.0.0:{port}/",
        "==> stopping the scheduler's worker",
    ):
        assert step in output, output
    assert '"GET / HTTP/1.1" 200' not in output  # no access log line per request
    deadline = time.monotonic() + 10
    while marked(mark) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert marked(mark) == {}, output


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["--port", "99999"], "argument --port: '99999' is not a port number (1 to 65535)"),
        (["--port", "abc"], "argument --port: 'abc' is not a port number (1 to 65535)"),
        # a daphne option mistyped: refused by daphne's parser before any set-up step
        (["--prot", "8001"], "daphne: error: unrecognized arguments: --prot 8001"),
    ],
)
def test_bad_options_are_one_line_and_start_nothing(args: list[str], error: str) -> None:
    mark = uuid.uuid4().hex
    result = subprocess.run(
        [sys.executable, "dev.py", "demo", *args],
        cwd=ROOT,
        env=dev_env(mark, "postgresql://localhost/not-used"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode in (1, 2) and result.stdout == "", result
    assert error in result.stderr.strip().splitlines()[-1], result.stderr
    assert "Traceback" not in result.stderr
    assert marked(mark) == {}


@pytest.mark.parametrize("how", ["ctrl-c", "sigterm"])
def test_stopped_during_migrate_exits_quietly_leaving_nothing(database_url: str, how: str) -> None:
    """Ctrl-C in a terminal reaches dev.py's whole process group; a supervisor's SIGTERM reaches
    dev.py alone. Either way the migration is stopped, without the child's KeyboardInterrupt
    traceback, and dev.py exits 130."""
    mark = uuid.uuid4().hex
    dev = subprocess.Popen(
        [sys.executable, "dev.py", "demo", "--port", str(free_port())],
        cwd=ROOT,
        env=dev_env(mark, database_url),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # a process group of its own, as a terminal's foreground job
    )
    try:
        assert dev.stdout is not None
        seen = []
        for line in dev.stdout:
            seen.append(line)
            if "==> migrating the database" in line:
                break
        assert any("migrating" in line for line in seen), "".join(seen)
        deadline = time.monotonic() + 10  # the step's line comes just before its process
        while not any("manage.py migrate" in c for c in marked(mark).values()):
            assert time.monotonic() < deadline, "".join(seen)
            time.sleep(0.05)
        if how == "ctrl-c":
            os.killpg(dev.pid, signal.SIGINT)
        else:
            dev.send_signal(signal.SIGTERM)
        rest, _ = dev.communicate(timeout=30)  # a dev.py that went on serving fails here
        assert dev.returncode == 130, "".join(seen) + rest
    finally:
        if dev.poll() is None:
            dev.kill()
            dev.wait()
        kill_marked(mark)
        if dev.stdout is not None:
            dev.stdout.close()
    assert "Traceback" not in rest and "KeyboardInterrupt" not in rest, rest
    assert "==> stopping the interrupted step (python manage.py migrate)" in rest, rest
    assert "seeding" not in rest, rest
    assert marked(mark) == {}


def test_stopdb_with_a_stale_pid_file_says_not_running(tmp_path: Path) -> None:
    """After a crash or a reboot .pgdata/postmaster.pid names a process that is gone."""
    (tmp_path / "dev.py").write_text((ROOT / "dev.py").read_text())  # its ROOT: tmp_path
    (tmp_path / ".pgdata").mkdir()
    gone = subprocess.Popen(["true"])
    gone.wait()
    (tmp_path / ".pgdata" / "postmaster.pid").write_text(f"{gone.pid}\n/data\n")
    result = subprocess.run(
        [sys.executable, "dev.py", "stopdb"], cwd=tmp_path, capture_output=True, text=True
    )
    assert (result.returncode, result.stdout, result.stderr) == (
        0,
        "the embedded Postgres is not running\n",
        "",
    )


def test_a_database_url_that_cannot_connect_is_one_line() -> None:
    mark = uuid.uuid4().hex
    missing = f"missing_{uuid.uuid4().hex[:8]}"
    url = urlunsplit(urlsplit(os.environ["DATABASE_URL"])._replace(path=f"/{missing}"))
    result = subprocess.run(
        [sys.executable, "dev.py", "demo", "--port", str(free_port())],
        cwd=ROOT,
        env=dev_env(mark, url),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stdout == "==> using the PostgreSQL database at DATABASE_URL\n", result.stdout
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("dev.py: DATABASE_URL: ") and f'database "{missing}" does not' in line
    assert "unset DATABASE_URL to use the embedded PostgreSQL" in line
    assert marked(mark) == {}
