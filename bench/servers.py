"""The benchmark database, the servers under test (daphne, uvicorn; hypercorn and granian for
the comparison of ASGI servers) and the subscriber farms."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
DB_NAME = "reactive_bench"


def setup_database(name: str = DB_NAME) -> str:
    """Create (or reuse) the benchmark database `name` and migrate it; returns its name."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django
    from django.conf import settings

    django.setup()
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if cur.fetchone() is None:
            cur.execute(f'CREATE DATABASE "{name}"')
    connection.close()
    settings.DATABASES["default"]["NAME"] = name
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from django.db import connection as bench_db

    with bench_db.cursor() as cur:  # every run starts from the same counters table
        cur.execute("TRUNCATE testapp_counter")
    from tests.testapp.models import Channel, Message

    if not Message.objects.exists():
        channel = Channel.objects.create(name="bench")
        Message.objects.bulk_create(
            Message(channel=channel, author=f"user{i % 7}", body=f"message {i}", score=i)
            for i in range(200)
        )
    return name


@dataclass
class Server:
    kind: str
    url: str
    process: subprocess.Popen[bytes]

    @property
    def ws(self) -> str:
        return "ws" + self.url.removeprefix("http")

    def rss_kib(self) -> int:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError("no VmRSS")

    def cpu_seconds(self) -> float:
        """CPU time of the server process and of the worker processes it started (granian
        serves from a child process)."""
        total, pending = 0, [self.process.pid]
        while pending:
            pid = pending.pop()
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                for task in Path(f"/proc/{pid}/task").iterdir():
                    pending += [int(c) for c in (task / "children").read_text().split()]
            except FileNotFoundError:
                continue
            total += int(fields[11]) + int(fields[12])
        return total / os.sysconf("SC_CLK_TCK")

    def stats(self) -> dict[str, Any]:
        r = requests.post(
            self.url + "/api/query",
            json={"path": "testapp:listener_stats", "args": {}, "format": "json"},
            timeout=30,
        )
        return r.json()["value"]

    def settle(self, quiet: float = 0.3) -> dict[str, Any]:
        """The listener's counters once it has run nothing for `quiet` seconds."""
        before = self.stats()
        while True:
            time.sleep(quiet)
            now = self.stats()
            if now["executions"] == before["executions"]:
                return now
            before = now

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_server(
    db_name: str,
    port: int,
    kind: str = "daphne",
    env_extra: dict[str, str] | None = None,
    root: Path | None = None,
    args: list[str] | None = None,
    app: str = "tests.asgi:application",
) -> Server:
    """A server of `kind` on `port`, running the code of `root` (default: the checkout named by
    `REACTIVE_BENCH_SERVER_ROOT`, set by `bench.run --root`, else this one), with the server's
    own command-line `args` added and the ASGI application `app`."""
    if root is None and os.environ.get("REACTIVE_BENCH_SERVER_ROOT"):
        root = Path(os.environ["REACTIVE_BENCH_SERVER_ROOT"])
    env = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="tests.settings",
        REACTIVE_LIVE_DB_NAME=db_name,
        **(env_extra or {}),
    )
    if kind == "daphne":
        cmd = [
            sys.executable,
            "-m",
            "daphne",
            "-b",
            "127.0.0.1",
            "-p",
            str(port),
            "--websocket-max-message-size",
            str(17 * 1024 * 1024),
            *(args or []),
            app,
        ]
    elif kind == "hypercorn":
        cmd = [
            sys.executable,
            "-m",
            "hypercorn",
            "-b",
            f"127.0.0.1:{port}",
            "--backlog",
            "4096",
            *(args or []),
            app,
        ]
    elif kind == "granian":
        cmd = [
            sys.executable,
            "-m",
            "granian",
            "--interface",
            "asgi",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--backlog",
            "4096",
            "--log-level",
            "warning",
            *(args or []),
            app,
        ]
    else:  # "uvicorn" (its default WebSocket implementation, websockets) or "uvicorn-wsproto"
        cmd = [
            sys.executable,
            "-m",
            "uvicorn",
            *(["--ws", "wsproto"] if kind == "uvicorn-wsproto" else []),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--backlog",
            "4096",
            *(args or []),
            app,
        ]
    proc = subprocess.Popen(
        cmd, cwd=root or ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            requests.get(url + "/test/plain_latest", timeout=1)
            return Server(kind, url, proc)
        except requests.ConnectionError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"{kind} did not start")


class Farm:
    """A `bench.farm` process: `sockets` subscribed clients, socket i on query i % len (or on
    `per_socket` queries from i * per_socket on)."""

    def __init__(
        self,
        server: Server,
        sockets: int,
        queries: list[tuple[str, dict[str, Any]]],
        record: bool = False,
        per_socket: int = 1,
    ) -> None:
        spec = json.dumps(
            {"sockets": sockets, "queries": queries, "record": record, "per_socket": per_socket}
        )
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.farm", server.ws, "-"],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.proc.stdin.write(spec + "\n")  # type: ignore[union-attr]
        self.proc.stdin.flush()  # type: ignore[union-attr]
        line = self.proc.stdout.readline()  # type: ignore[union-attr]
        if line.strip() != "ready":
            self.proc.kill()
            raise RuntimeError(f"farm of {sockets} sockets did not start: {line!r}")

    def report(self) -> dict[str, Any]:
        self.proc.stdin.write("report\n")  # type: ignore[union-attr]
        self.proc.stdin.flush()  # type: ignore[union-attr]
        return json.loads(self.proc.stdout.readline())  # type: ignore[union-attr]

    def close(self) -> None:
        try:
            self.proc.stdin.write("close\n")  # type: ignore[union-attr]
            self.proc.stdin.flush()  # type: ignore[union-attr]
            self.proc.wait(timeout=60)
        except (BrokenPipeError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]
