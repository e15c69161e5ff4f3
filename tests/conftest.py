"""Shared fixtures: the in-process client, and a live ASGI server on the test database."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from reactive.testing import ReactiveClient

#: the token tests' fixtures (`jwks`, `auth_server`)
pytest_plugins = ["tests.auth_support"]

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def client() -> ReactiveClient:
    """Calls functions through the executor as a server-side caller (anonymous)."""
    return ReactiveClient()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LiveServer:
    url: str  # http://127.0.0.1:<port>
    process: subprocess.Popen[bytes]
    log_path: Path
    log_file: object

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log_file.close()  # type: ignore[attr-defined]

    def post(self, path: str, json_body: object = None, **kwargs: object) -> requests.Response:
        return requests.post(self.url + path, json=json_body, timeout=30, **kwargs)  # type: ignore[arg-type]

    @property
    def ws_url(self) -> str:
        return "ws" + self.url.removeprefix("http")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def start_server(
    db_name: str,
    tmp_dir: Path,
    server: str = "daphne",
    env_extra: dict[str, str] | None = None,
    settings: str = "tests.settings",
    workers: int = 1,
) -> LiveServer:
    port = _free_port()
    env = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE=settings,
        REACTIVE_LIVE_DB_NAME=db_name,
        PYTHONUNBUFFERED="1",
        **(env_extra or {}),
    )
    if server == "daphne":
        # daphne drops WebSocket messages over 1 MiB by default; let reactive's own limit
        # (SYNC.max_frame_bytes) be the one that answers
        cmd = [
            sys.executable,
            "-m",
            "daphne",
            "-b",
            "127.0.0.1",
            "-p",
            str(port),
            "--websocket-max-message-size",
            str(8 * 1024 * 1024),
            "--websocket-max-frame-size",
            str(8 * 1024 * 1024),
            "tests.asgi:application",
        ]
    elif server == "granian":  # ASGI without lifespan: Channels' router has none
        cmd = [
            sys.executable,
            "-m",
            "granian",
            "--interface",
            "asginl",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--log-level",
            "warning",
            "tests.asgi:application",
        ]
    else:
        cmd = [
            sys.executable,
            "-m",
            "uvicorn",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--workers",
            str(workers),
            "tests.asgi:application",
        ]
    log_path = tmp_dir / f"{server}-{port}.log"
    log = log_path.open("wb")
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            log.close()
            raise RuntimeError(f"{server} exited early:\n{log_path.read_text()}")
        try:
            requests.post(url + "/api/query", json={"path": "testapp:ping", "args": {}}, timeout=1)
            return LiveServer(url, proc, log_path, log)
        except requests.ConnectionError:
            time.sleep(0.1)
    proc.kill()
    log.close()
    raise RuntimeError(f"{server} did not start:\n{log_path.read_text()}")


@pytest.fixture(scope="session")
def asgi_server(
    django_db_setup: None, django_db_blocker: object, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """A daphne server running tests.asgi on the test database, for real-socket tests.

    It commits to the test database, so tests using it create their own uniquely named data
    rather than relying on rollback.
    """
    from django.db import connection

    name = connection.settings_dict["NAME"]
    # pytest-django creates the test database only for aliases that some collected test marks
    # with django_db; never let a live server write to the development database instead.
    assert name.startswith("test_"), (
        f"asgi_server would use database {name!r}: mark the module with pytest.mark.django_db"
    )
    server = start_server(name, tmp_path_factory.mktemp("server"))
    yield server
    server.stop()


def pytest_unconfigure(config: pytest.Config) -> None:
    """Remove the files this run stored (its own MEDIA_ROOT, tests/settings.py)."""
    import shutil

    root = os.environ.get("REACTIVE_TEST_MEDIA_ROOT")
    if root and Path(root).parent == ROOT / ".test-media":
        shutil.rmtree(root, ignore_errors=True)
