"""docs/tutorial.md, followed to the letter: every marked block, in the order written.

The marks are HTML comments before fenced blocks (`<!-- tutorial: KIND [ARGUMENT] -->`):

- `run`: the block runs in bash (`-eu`) in the project directory; it must succeed. An `output`
  block after it must be the end of what it printed.
- `file PATH` / `append PATH`: the block is written to / appended to that file of the project.
- `background server` / `background worker`: started in the background, stopped at the end.
- Three blocks stand for what the test does otherwise, and each is checked to say what is meant:
  `setup` (a directory and a virtual environment: the test's temporary directory, and the venv
  running this test), `install` (`pip install` from PyPI: the package is installed already, and
  PYTHONPATH points at this checkout so its code is what runs), `createdb` (a database created
  here on the server of DATABASE_URL, and DATABASE_URL pointed at it), `npm-install` (the
  official client already installed in tests/interop/js, linked into the project).

The only rewriting: the server listens on a free port instead of 8000, so `127.0.0.1:8000` in
the blocks after it is replaced by that address. Every fenced `bash` block must carry a mark, so
a command added to the tutorial is a command this test runs.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
TUTORIAL = ROOT / "docs" / "tutorial.md"
NODE_MODULES = ROOT / "tests" / "interop" / "js" / "node_modules"

BLOCK = re.compile(
    r"(?:<!-- tutorial: (?P<kind>[a-z-]+)(?: (?P<arg>[^>]+?))? -->\n)?"
    r"```(?P<lang>[a-z]*)\n(?P<body>.*?)^```$",
    re.S | re.M,
)


@dataclass
class Block:
    kind: str | None
    arg: str | None
    lang: str
    body: str
    line: int

    def where(self) -> str:
        return f"docs/tutorial.md line {self.line}"


def blocks() -> list[Block]:
    text = TUTORIAL.read_text()
    return [
        Block(m["kind"], m["arg"], m["lang"], m["body"], text.count("\n", 0, m.start()) + 1)
        for m in BLOCK.finditer(text)
    ]


def test_every_shell_block_is_marked() -> None:
    unmarked = [b.where() for b in blocks() if b.lang == "bash" and b.kind is None]
    assert unmarked == []


@dataclass
class Project:
    dir: Path
    env: dict[str, str]
    background: list[tuple[subprocess.Popen[bytes], Path]]
    databases: list[str]


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Project]:
    env = dict(os.environ)
    for name in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL", "PYTHONPATH"):
        env.pop(name, None)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env["PYTHONPATH"] = str(ROOT)  # the installed package is this checkout
    env["PYTHONUNBUFFERED"] = "1"
    folder = tmp_path / "todo"
    folder.mkdir()
    made = Project(folder, env, [], [])
    yield made
    for process, _log in made.background:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
    with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
        for name in made.databases:
            for db in (name, f"test_{name}"):
                conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, f"the server exited:\n{log.read_text()}"
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"the server did not listen on {port}:\n{log.read_text()}")


def logs(project: Project) -> str:
    return "\n".join(f"--- {log.name}\n{log.read_text()}" for _p, log in project.background)


def test_the_tutorial_end_to_end(project: Project) -> None:
    port = free_port()
    address = None  # the server's, once started
    last_output: str | None = None
    for block in blocks():
        if block.kind is None:
            continue
        body = block.body
        if address is not None:
            body = body.replace("127.0.0.1:8000", address)
        where = block.where()
        if block.kind == "setup":
            assert "python3 -m venv" in body, where
        elif block.kind == "install":
            assert body.startswith("pip install 'django-reactive-backend[embedded]'"), where
            for module in body.split()[3:]:  # what else it installs is in the venv already
                check = [sys.executable, "-c", f"import {module.replace('-', '_')}"]
                assert subprocess.run(check).returncode == 0, f"{where}: {module} is missing"
        elif block.kind == "createdb":
            assert body.startswith("createdb todo\nexport DATABASE_URL="), where
            name = f"tutorial_{os.getpid()}_{uuid.uuid4().hex[:6]}"
            with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{name}"')
            project.databases.append(name)
            parts = urlsplit(os.environ["DATABASE_URL"])
            project.env["DATABASE_URL"] = urlunsplit(parts._replace(path=f"/{name}"))
        elif block.kind == "npm-install":
            assert body.strip() == "npm install convex", where
            (project.dir / "node_modules").symlink_to(NODE_MODULES)
        elif block.kind in ("file", "append"):
            assert block.arg, where
            path = project.dir / block.arg
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("a" if block.kind == "append" else "w") as f:
                f.write(("\n" if block.kind == "append" else "") + body)
        elif block.kind == "run":
            result = subprocess.run(
                ["bash", "-euc", body],
                cwd=project.dir,
                env=project.env,
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert result.returncode == 0, (
                f"{where}: {body}\n{result.stdout}\n{result.stderr}\n{logs(project)}"
            )
            last_output = result.stdout
        elif block.kind == "output":
            assert last_output is not None, where
            got = [line.rstrip() for line in last_output.rstrip().splitlines()]
            want = [line.rstrip() for line in body.rstrip().splitlines()]
            assert got[-len(want) :] == want, f"{where}: printed\n{last_output}\n{logs(project)}"
        elif block.kind == "background":
            command = body.strip()
            if block.arg == "server":
                assert command == "python manage.py runserver", where
                address = f"127.0.0.1:{port}"
                command += f" {address}"
            log = project.dir.parent / f"{block.arg}.log"
            with log.open("wb") as out:  # the child keeps its own descriptor
                process = subprocess.Popen(
                    ["bash", "-euc", f"exec {command}"],
                    cwd=project.dir,
                    env=project.env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            project.background.append((process, log))
            if block.arg == "server":
                wait_for_port(port, process, log)
        else:
            raise AssertionError(f"{where}: unknown mark {block.kind!r}")
    kinds = {b.kind for b in blocks()}
    assert {"run", "output", "file", "background", "createdb"} <= kinds
    assert address is not None, "the tutorial never starts the server"
    for process, log in project.background:
        assert process.poll() is None, f"{log.name} exited:\n{log.read_text()}"
    server_log = (project.dir.parent / "server.log").read_text()
    assert "reactive.W011" not in server_log and "Traceback" not in server_log, server_log
