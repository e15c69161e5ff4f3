#!/usr/bin/env python3
"""One-command set-up for the demo server and the test suite.

    python3 dev.py demo     # venv + install + migrate + seed + serve the demo on 127.0.0.1:8000
                            #   (--port N, --host H; other options go to daphne)
    python3 dev.py test     # venv + install (Python and npm) + the whole test suite
    python3 dev.py bench    # venv + install + the benchmarks (prints figures, writes JSON)
    python3 dev.py check    # venv + install + ruff check, ruff format --check, mypy --strict
    python3 dev.py docs     # regenerate docs/reference/api.md from the docstrings
    python3 dev.py stopdb   # stop the embedded Postgres (it otherwise keeps running)

Needs only Python 3.11+ and Node/npm (for the official JavaScript client; `test` also drives
chromium, installed with apt-get when missing and root). Postgres comes from DATABASE_URL when it
is set, otherwise from an embedded PostgreSQL 16 kept in ./.pgdata and started on demand (see
reactive/contrib/embedded_postgres.py). Extra arguments after `test` go to pytest, after `check`
to mypy.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / "python"
JS_DIR = ROOT / "tests" / "interop" / "js"  # the official convex npm client, for the interop tests
WEB_DIR = ROOT / "demo_project" / "web"  # ... and for the demo page (and its browser test)
CHROMIUM = "/usr/bin/chromium"
NO_DATABASE = "(or unset DATABASE_URL to use the embedded PostgreSQL)"


def step(msg: str) -> None:
    print(f"==> {msg}", flush=True)


#: Ctrl-C or SIGTERM that came while a child was being started: acted on once Popen has
#: returned, so that child is known and stopped with the rest (raised inside Popen, it ran on)
_stop_asked: list[int] = []
_spawning = False


def interrupt(signum: int, frame: object) -> None:
    """dev.py's handler of SIGINT and SIGTERM: KeyboardInterrupt, or just after a child starts."""
    if _spawning:
        _stop_asked.append(signum)
        return
    raise KeyboardInterrupt


def spawn(cmd: list[str], **options: Any) -> subprocess.Popen[bytes]:
    """Popen, with a stop asked for meanwhile held until it has returned (see `stop_if_asked`)."""
    global _spawning
    _spawning = True
    try:
        return subprocess.Popen(cmd, **options)
    finally:
        _spawning = False


def stop_if_asked() -> None:
    if _stop_asked:
        _stop_asked.clear()
        raise KeyboardInterrupt


def run(*cmd: str | Path, cwd: Path = ROOT, env: dict[str, str] | None = None) -> None:
    """Run a set-up step in a session of its own: Ctrl-C (or SIGTERM) reaches dev.py alone, which
    stops the step with SIGTERM (a Python child given SIGINT would print a traceback)."""
    process = spawn([str(c) for c in cmd], cwd=cwd, env=env, start_new_session=True)
    try:
        stop_if_asked()
        code = process.wait()
    except KeyboardInterrupt:
        stop_group(process, f"interrupted step ({' '.join(Path(str(c)).name for c in cmd[:3])})")
        raise
    if code != 0:
        sys.exit(f"dev.py: command failed ({code}): {' '.join(map(str, cmd))}")


def stamp_of(*files: Path) -> str:
    h = hashlib.sha256()
    for f in files:
        h.update(f.read_bytes() if f.exists() else b"")
    return h.hexdigest()


def ensure_venv() -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 - dev.py may be run by an older python3
        sys.exit("dev.py: Python 3.11 or newer is required")
    if not PY.exists():
        step(f"creating virtual environment in {VENV.name}/")
        run(sys.executable, "-m", "venv", VENV)
    stamp_file = VENV / ".reactive-stamp"
    want = stamp_of(ROOT / "pyproject.toml")
    if stamp_file.exists() and stamp_file.read_text() == want:
        return
    step("installing reactive and its development dependencies")
    t = time.monotonic()
    run(PY, "-m", "pip", "install", "--disable-pip-version-check", "-q", "--upgrade", "pip")
    run(PY, "-m", "pip", "install", "--disable-pip-version-check", "-q", "-e", ".[dev]")
    stamp_file.write_text(want)
    step(f"installed in {time.monotonic() - t:.0f}s")


def ensure_node_packages(folder: Path) -> None:
    """`npm ci` (`npm install` without a lock file) in ``folder`` when its package files changed."""
    npm = shutil.which("npm")
    if npm is None:
        sys.exit("dev.py: npm is required for the official JavaScript client (install Node.js 20+)")
    stamp_file = folder / "node_modules" / ".reactive-stamp"
    want = stamp_of(folder / "package.json", folder / "package-lock.json")
    if stamp_file.exists() and stamp_file.read_text() == want:
        return
    step(f"installing the official convex npm client in {folder.relative_to(ROOT)}/")
    lock = (folder / "package-lock.json").exists()
    run(npm, "ci" if lock else "install", "--no-audit", "--no-fund", "--loglevel=error", cwd=folder)
    stamp_file.write_text(want)


def ensure_chromium() -> None:
    """The browser test drives Debian's chromium (Playwright's own download is not used)."""
    if Path(CHROMIUM).exists():
        return
    if shutil.which("apt-get") and hasattr(os, "geteuid") and os.geteuid() == 0:
        step("installing chromium for the browser test")
        run("apt-get", "update", "-qq")
        run("apt-get", "install", "-y", "-qq", "chromium")
        return
    sys.exit(f"dev.py: the browser test needs chromium at {CHROMIUM} (apt-get install chromium)")


def build_web() -> None:
    """Bundle the demo page (demo_project/web/src + the convex client) when its sources changed."""
    sources = sorted(p for p in (WEB_DIR / "src").rglob("*") if p.is_file())
    sources += [WEB_DIR / "package.json", WEB_DIR / "package-lock.json"]
    stamp_file = WEB_DIR / "node_modules" / ".reactive-build-stamp"
    bundle = ROOT / "demo_project" / "chat" / "static" / "chat" / "app.js"
    want = stamp_of(*sources)
    if bundle.exists() and stamp_file.exists() and stamp_file.read_text() == want:
        return
    step("bundling the demo page with esbuild (npm run build in demo_project/web)")
    run(shutil.which("npm") or "npm", "run", "--silent", "build", cwd=WEB_DIR)
    stamp_file.write_text(want)


def django_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def port_number(text: str) -> int:
    """The type of ``--port``: a TCP port, 1 to 65535."""
    port = int(text) if text.isdigit() else -1
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (1 to 65535)")
    return port


def parse_demo_args(args: list[str]) -> tuple[str, int, list[str]]:
    """``--host`` and ``--port`` of `demo`; any other argument goes to daphne."""
    parser = argparse.ArgumentParser(
        prog="python3 dev.py demo",
        description="Set up, migrate, seed and serve the demo chat with its scheduler's worker.",
        epilog="Any other option goes to daphne (the venv's `daphne --help` lists them), "
        "e.g. --proxy-headers.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to serve on (127.0.0.1)")
    parser.add_argument("--port", type=port_number, default=8000, help="port to serve on (8000)")
    options, rest = parser.parse_known_args(args)
    return options.host, options.port, rest


def check_daphne_args(args: list[str]) -> None:
    """Options meant for daphne, checked by daphne's own parser before any set-up step, so a
    typo is one line now rather than a failed start after the migration."""
    if not args:
        return
    code = "import sys, daphne.cli as d; p = d.CommandLineInterface().parser; p.prog = 'daphne'; "
    code += "p.parse_args(sys.argv[1:])"
    cmd = [str(PY), "-c", code, "demo_project.asgi:application", *args]
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        problem = (result.stderr.strip().splitlines() or ["daphne refused them"])[-1]
        sys.exit(f"dev.py demo: {problem} (python3 dev.py demo --help lists the options)")


def port_is_free(host: str, port: int) -> bool:
    """Whether a server could listen on host:port now (SO_REUSEADDR as daphne sets it, so a
    closed connection's TIME_WAIT does not count as busy)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def ensure_database(env: dict[str, str]) -> None:
    """DATABASE_URL when set; otherwise start the embedded Postgres here, with a step line (its
    first start takes seconds), and hand its URL to the commands that follow."""
    if env.get("DATABASE_URL"):  # reachable? one line now, not migrate's 80-line traceback
        step("using the PostgreSQL database at DATABASE_URL")
        code = "import os, psycopg\ntry: psycopg.connect(os.environ['DATABASE_URL']).close()\n"
        code += "except psycopg.OperationalError as e: raise SystemExit(' '.join(str(e).split()))"
        code += "\nexcept Exception: pass  # a URL only Django reads: migrate will say"
        failed = subprocess.run([str(PY), "-c", code], env=env, capture_output=True, text=True)
        if failed.returncode:
            sys.exit(f"dev.py: DATABASE_URL: {failed.stderr.strip()} {NO_DATABASE}")
        return
    data = ROOT / ".pgdata"
    new = "" if (data / "PG_VERSION").exists() else " (the first run initialises it)"
    step(f"starting the embedded PostgreSQL in ./.pgdata{new}")
    t = time.monotonic()
    code = (
        "from reactive.contrib.embedded_postgres import embedded_url; "
        f"print(embedded_url({str(data)!r}))"
    )
    result = subprocess.run([str(PY), "-c", code], cwd=ROOT, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"dev.py: the embedded PostgreSQL did not start:\n{result.stderr.strip()}")
    env["DATABASE_URL"] = result.stdout.strip().splitlines()[-1]
    step(f"PostgreSQL is up ({time.monotonic() - t:.1f}s)")


def stop_group(process: subprocess.Popen[bytes] | None, what: str) -> None:
    """Stop a child started in its own session, and everything it started (SIGTERM, then
    SIGKILL after 10 s)."""
    if process is None or process.poll() is not None:
        return
    step(f"stopping the {what}")
    for sig, wait in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(process.pid, sig)
            process.wait(timeout=wait)
            return
        except ProcessLookupError:
            return
        except subprocess.TimeoutExpired:
            continue


def serve(cmd: list[str], env: dict[str, str], host: str, port: int) -> int:
    """Run the server as a child (own process group) until it exits or dev.py is told to stop
    (SIGINT/SIGTERM are forwarded to it); its exit code."""
    server = spawn(cmd, cwd=ROOT, env=env, start_new_session=True)

    def forward(signum: int, frame: object) -> None:
        try:  # SIGTERM either way: a server started with SIGINT ignored (a background job's
            os.killpg(server.pid, signal.SIGTERM)  # children inherit that) stops on SIGTERM
        except ProcessLookupError:
            pass

    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        if _stop_asked:  # while the server was being started
            _stop_asked.clear()
            forward(signal.SIGTERM, None)
        announced = False
        while server.poll() is None:
            if not announced:
                try:
                    socket.create_connection((host, port), timeout=0.5).close()
                except OSError:
                    pass
                else:
                    announced = True
                    step(
                        f"the demo is at http://{host}:{port}/ (the admin at /admin/, user "
                        "admin, password admin); Ctrl-C stops the server and the worker"
                    )
            try:
                server.wait(timeout=0.2)
            except subprocess.TimeoutExpired:
                pass
        return server.returncode
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        stop_group(server, "server")


def demo(args: list[str]) -> None:
    host, port, daphne_args = parse_demo_args(args)
    if not port_is_free(host, port):  # before anything starts: nothing to clean up
        sys.exit(
            f"dev.py: port {port} on {host} is already in use; "
            f"pass another, e.g. python3 dev.py demo --port {port + 1}"
        )
    ensure_venv()
    check_daphne_args(daphne_args)
    ensure_node_packages(WEB_DIR)
    build_web()
    env = django_env()
    env["DJANGO_SETTINGS_MODULE"] = "demo_project.settings"
    if host not in ("127.0.0.1", "localhost", "::1"):  # served to other machines: their Host
        env["DEMO_ALLOWED_HOSTS"] = "*" if host in ("0.0.0.0", "::") else f"{host},127.0.0.1"
    ensure_database(env)
    step("migrating the database")
    run(PY, "manage.py", "migrate", "--no-input", "-v", "0", env=env)
    step("seeding demo data")
    run(PY, "manage.py", "seed_demo", env=env)
    step("starting the scheduler's worker (manage.py reactive worker)")
    # its own process group, stopped (with anything it started) whenever the server stops
    worker = spawn(
        [str(PY), "manage.py", "reactive", "worker"], cwd=ROOT, env=env, start_new_session=True
    )
    code = 1
    try:
        stop_if_asked()
        step(f"starting the server (daphne) on http://{host}:{port}/")
        limit = str(17 * 1024 * 1024)  # daphne's WebSocket limit (1 MiB) must not undercut ours
        cmd = [str(BIN / "daphne"), "-v", "0", "-b", host, "-p", str(port)]  # -v 0: no access log
        cmd += ["--websocket-max-message-size", limit, "--websocket-max-frame-size", limit]
        code = serve([*cmd, "demo_project.asgi:application", *daphne_args], env, host, port)
    finally:
        stop_group(worker, "scheduler's worker")
    if code not in (0, -2, -15, 130):  # not a stop asked for with Ctrl-C or SIGTERM
        sys.exit(f"dev.py: the server exited with code {code}; the worker is stopped")


def run_module(module: str, args: list[str], what: str, database: bool = True) -> None:
    """Run ``python -m module`` in the venv with the test settings, exiting with its code."""
    env = django_env()
    env["DJANGO_SETTINGS_MODULE"] = "tests.settings"
    if database:
        ensure_database(env)
    step(what)
    # Ctrl-C reaches the child too (same process group), and pytest stops cleanly: dev.py only
    # waits (subprocess.run would kill it 0.25 s after a Ctrl-C). SIGTERM is passed on as SIGINT.
    process = subprocess.Popen([str(PY), "-m", module, *args], cwd=ROOT, env=env)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda signum, frame: process.send_signal(signal.SIGINT))
    sys.exit(process.wait())


def test(args: list[str]) -> None:
    ensure_venv()
    ensure_node_packages(JS_DIR)
    ensure_node_packages(WEB_DIR)
    ensure_node_packages(ROOT / "tests" / "codegen" / "js")  # tsc over codegen's TypeScript
    ensure_node_packages(ROOT / "tests" / "ported" / "convex_src")  # the ported app's React
    build_web()
    ensure_chromium()
    run_module("pytest", args, "running the test suite")


def bench(args: list[str]) -> None:
    ensure_venv()
    ensure_node_packages(JS_DIR)  # held_back drives the official JS client
    run_module("bench.run", args, "running the benchmarks")


LINTED = ("reactive", "tests", "bench", "tools", "dev.py")


def check(args: list[str]) -> None:
    """Lint, formatting and types; every step runs, and the command fails if any did."""
    ensure_venv()
    env = django_env()
    env["DJANGO_SETTINGS_MODULE"] = "tests.settings"  # django-stubs' plugin loads the settings
    # ... which would start the embedded Postgres without a URL; type checking never connects
    env.setdefault("DATABASE_URL", "postgresql://localhost/unused-by-mypy")
    steps = [
        ("ruff check", [BIN / "ruff", "check", *LINTED]),
        ("ruff format --check", [BIN / "ruff", "format", "--check", *LINTED]),
        ("mypy (strict, pyproject.toml [tool.mypy])", [PY, "-m", "mypy", *args]),
    ]
    failed = []
    for what, cmd in steps:
        step(what)
        if subprocess.run([str(c) for c in cmd], cwd=ROOT, env=env).returncode != 0:
            failed.append(what)
    if failed:
        sys.exit(f"dev.py check: failed: {', '.join(failed)}")


def docs(args: list[str]) -> None:
    """Regenerate docs/reference/api.md from the docstrings (``--check``: only compare)."""
    ensure_venv()
    what = "writing docs/reference/api.md from the docstrings of reactive.__all__"
    run_module("tools.gen_api_reference", args, what, database=False)


def stopdb(args: list[str]) -> None:
    """Stop the embedded Postgres of this checkout (it keeps running between commands)."""
    pid_file = ROOT / ".pgdata" / "postmaster.pid"
    try:
        pid = int(pid_file.read_text().split()[0])
        os.kill(pid, signal.SIGINT)  # "fast" shutdown
    except (OSError, ValueError, IndexError):  # no file, or a stale one (a crash, a reboot)
        print("the embedded Postgres is not running")
        return
    step("stopping the embedded Postgres")
    for _ in range(100):  # it removes its pid file once stopped
        if not pid_file.exists():
            step("stopped")
            return
        time.sleep(0.1)
    sys.exit(f"dev.py: the embedded Postgres (pid {pid}) is still stopping after 10 s")


def main() -> None:
    commands = dict(demo=demo, test=test, bench=bench, check=check, docs=docs, stopdb=stopdb)
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        sys.exit(__doc__)

    # SIGTERM as Ctrl-C: the step running is stopped, then dev.py exits
    signal.signal(signal.SIGTERM, interrupt)
    # Ctrl-C is KeyboardInterrupt even when dev.py was started with SIGINT ignored (from a
    # background job, whose children inherit that): Python then installs no handler of its own
    signal.signal(signal.SIGINT, interrupt)
    try:
        commands[sys.argv[1]](sys.argv[2:])
    except KeyboardInterrupt:  # Ctrl-C during a set-up step: its child got it too and stopped
        sys.exit(130)


if __name__ == "__main__":
    main()
