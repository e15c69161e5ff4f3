"""`manage.py reactive dev`: the ASGI server and the scheduler's worker together, for development.

Two child processes, both on this settings module: daphne serving ``settings.ASGI_APPLICATION``
(with reactive's WebSocket frame limit, as dev.py serves the demo) and
``manage.py reactive worker``. Every ``interval`` seconds the Python files this process has
loaded (the project's apps, their functions modules included; not site-packages), the files
added to a functions package and those anywhere in the FUNCTIONS_ROOT package are checked; a
change stops both children and starts them again, so they import the new code. The children get
this process's first import folder (manage.py's) on their PYTHONPATH, so `python
~/mysite/manage.py reactive dev` works from any folder. A child that exits (a syntax error in a
functions module) stops the other, and both start again on the next change. A port already
taken is one line and nothing started; Ctrl-C (or SIGTERM) stops both children and waits for
them.
"""

from __future__ import annotations

import argparse
import errno
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import autoreload

from ..conf import reactive_settings

FRAME_BYTES = str(17 * 1024 * 1024)


def add_arguments(sub: Any) -> None:
    dev = sub.add_parser(
        "dev", help="Serve the ASGI app and run the worker, restarting both on code changes."
    )
    dev.add_argument("--port", type=_port, default=8000, help="Port to serve on (default: 8000).")
    dev.add_argument("--host", default="127.0.0.1", help="Address to bind (default: 127.0.0.1).")
    dev.add_argument("--no-reload", action="store_true", help="Do not watch the code.")
    dev.add_argument("--no-worker", action="store_true", help="Serve only; run no worker.")


def _code_files() -> dict[Path, float]:
    found: dict[Path, float] = {}
    functions = reactive_settings.lenient.FUNCTIONS_MODULE
    candidates: list[Path] = []
    for path in autoreload.iter_all_python_module_files():
        if "site-packages" in path.parts or "dist-packages" in path.parts:
            continue
        folder = path.parent
        candidates += [path, *(folder.glob("*.py") if folder.name == functions else [])]
    for folder in _root_folders():  # as `npx convex dev`, a file added anywhere in convex/
        candidates += folder.rglob("*.py")
    for candidate in candidates:
        try:
            found[candidate] = candidate.stat().st_mtime
        except OSError:
            found[candidate] = -1.0  # removed: a change too
    return found


def _root_folders() -> list[Path]:
    """The folders of the FUNCTIONS_ROOT package, if one is set."""
    root = reactive_settings.lenient.FUNCTIONS_ROOT
    try:
        spec = importlib.util.find_spec(root) if root else None
    except ImportError:
        spec = None  # start-up has said so already
    return [Path(p) for p in (spec.submodule_search_locations or [])] if spec else []


def _port(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"{text} is not a port (1 to 65535)")
    return int(text)


def _check_bind(host: str, port: int) -> None:
    """Raise CommandError, one line, unless the server can listen on ``host:port``."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise CommandError(
                    f"port {port} on {host} is in use: stop what uses it or pass --port"
                ) from None
            raise CommandError(f"cannot serve on {host}:{port}: {exc.strerror or exc}") from None


class Children:
    """The server and the worker; started and stopped together."""

    def __init__(self, cmd: BaseCommand, host: str, port: int, worker: bool) -> None:
        self.cmd, self.host, self.port, self.worker = cmd, host, port, worker
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self) -> None:
        app = str(getattr(settings, "ASGI_APPLICATION", "") or "")
        module, _, name = app.rpartition(".")
        if not module:
            raise CommandError(
                "settings.ASGI_APPLICATION is not set (e.g. 'mysite.asgi.application')"
            )
        server = [sys.executable, "-m", "daphne", "-b", self.host, "-p", str(self.port)]
        server += ["--websocket-max-message-size", FRAME_BYTES]
        server += ["--websocket-max-frame-size", FRAME_BYTES, f"{module}:{name}"]
        env = dict(os.environ, PYTHONUNBUFFERED="1", PYTHONPATH=_import_path())
        self.procs = [subprocess.Popen(server, env=env)]
        if self.worker:
            worker = [sys.executable, "-m", "django", "reactive", "worker"]
            self.procs.append(subprocess.Popen(worker, env=env))

    def exited(self) -> subprocess.Popen[bytes] | None:
        return next((p for p in self.procs if p.poll() is not None), None)

    def stop(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        self.procs = []


def _import_path() -> str:
    """PYTHONPATH for the children: this process's first import folder (manage.py's, or the
    one ``--pythonpath`` gave) first, so they import the project from any working directory."""
    first = os.path.abspath(sys.path[0] or os.curdir)
    return os.pathsep.join([first, *filter(None, [os.environ.get("PYTHONPATH")])])


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def handle(cmd: BaseCommand, options: dict[str, Any]) -> None:
    host, port = options["host"], options["port"]
    _check_bind(host, port)
    children = Children(cmd, host, port, worker=not options["no_worker"])
    signal.signal(signal.SIGTERM, _interrupt)
    what = "" if options["no_worker"] else " and the worker"
    cmd.stdout.write(f"serving http://{host}:{port}/{what} (Ctrl-C to stop)")
    seen = _code_files()
    try:
        children.start()
        while True:
            time.sleep(0.5)
            dead = children.exited()
            if dead is not None:
                what = "server" if dead is children.procs[0] else "worker"
                children.stop()
                if options["no_reload"]:
                    raise CommandError(f"the {what} exited with status {dead.returncode}")
                cmd.stderr.write(
                    f"the {what} exited with status {dead.returncode}: fix the code, "
                    "both start again on the next change (Ctrl-C to quit)"
                )
            if options["no_reload"]:
                continue
            now = _code_files()
            changed = sorted(str(p) for p in now.keys() | seen.keys() if now.get(p) != seen.get(p))
            if changed:
                cmd.stdout.write(f"{changed[0]} changed: restarting the server and the worker")
                children.stop()
                seen = now
                children.start()
    except KeyboardInterrupt:
        cmd.stdout.write("stopping")
    finally:
        children.stop()
