#!/usr/bin/env python3
"""One-command set-up for the demo server and the test suite.

    python3 dev.py demo     # venv + install + migrate + seed + serve the demo on 127.0.0.1:8000
    python3 dev.py test     # venv + install (Python and npm) + the whole test suite
    python3 dev.py bench    # venv + install + the benchmarks (prints figures, writes JSON)
    python3 dev.py check    # venv + install + ruff check, ruff format --check, mypy --strict
    python3 dev.py stopdb   # stop the embedded Postgres (it otherwise keeps running)

Needs only Python 3.11+ and Node/npm (for the official JavaScript client; `test` also drives
chromium, installed with apt-get when missing and root). Postgres comes from DATABASE_URL when it
is set, otherwise from an embedded PostgreSQL 16 kept in ./.pgdata and started on demand (see
reactive/contrib/embedded_postgres.py). Extra arguments after `test` go to pytest, after `check`
to mypy.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / "python"
JS_DIR = ROOT / "tests" / "interop" / "js"  # the official convex npm client, for the interop tests
WEB_DIR = ROOT / "demo_project" / "web"  # ... and for the demo page (and its browser test)
CHROMIUM = "/usr/bin/chromium"


def step(msg: str) -> None:
    print(f"==> {msg}", flush=True)


def run(*cmd: str | Path, cwd: Path = ROOT, env: dict[str, str] | None = None) -> None:
    result = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env)
    if result.returncode != 0:
        sys.exit(f"dev.py: command failed ({result.returncode}): {' '.join(map(str, cmd))}")


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
    sys.exit(
        f"dev.py: chromium is required at {CHROMIUM} for the browser test "
        "(e.g. `sudo apt-get install chromium`)"
    )


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


def demo(args: list[str]) -> None:
    ensure_venv()
    ensure_node_packages(WEB_DIR)
    build_web()
    env = django_env()
    env["DJANGO_SETTINGS_MODULE"] = "demo_project.settings"
    step("migrating the database")
    run(PY, "manage.py", "migrate", "--no-input", env=env)
    step("seeding demo data")
    run(PY, "manage.py", "seed_demo", env=env)
    host, port = "127.0.0.1", "8000"
    step("starting the scheduler's worker (manage.py reactive worker)")
    # Same process group as the server: Ctrl-C stops both.
    subprocess.Popen([str(PY), "manage.py", "reactive", "worker"], cwd=ROOT, env=env)
    step(f"serving the demo at http://{host}:{port}/ (Ctrl-C to stop)")
    # daphne's own WebSocket message limit (1 MiB by default) must not undercut reactive's
    os.execve(
        str(BIN / "daphne"),
        [
            str(BIN / "daphne"),
            "-b",
            host,
            "-p",
            port,
            "--websocket-max-message-size",
            str(17 * 1024 * 1024),
            "--websocket-max-frame-size",
            str(17 * 1024 * 1024),
            "demo_project.asgi:application",
            *args,
        ],
        env,
    )


def run_module(module: str, args: list[str], what: str) -> None:
    """Run ``python -m module`` in the venv with the test settings, exiting with its code."""
    env = django_env()
    env["DJANGO_SETTINGS_MODULE"] = "tests.settings"
    step(what)
    sys.exit(subprocess.run([str(PY), "-m", module, *args], cwd=ROOT, env=env).returncode)


def test(args: list[str]) -> None:
    ensure_venv()
    ensure_node_packages(JS_DIR)
    ensure_node_packages(WEB_DIR)
    build_web()
    ensure_chromium()
    run_module("pytest", args, "running the test suite")


def bench(args: list[str]) -> None:
    ensure_venv()
    ensure_node_packages(JS_DIR)  # held_back drives the official JS client
    run_module("bench.run", args, "running the benchmarks")


LINTED = ("reactive", "tests", "bench", "dev.py")


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


def stopdb(args: list[str]) -> None:
    """Stop the embedded Postgres of this checkout (it keeps running between commands)."""
    pid_file = ROOT / ".pgdata" / "postmaster.pid"
    if not pid_file.exists():
        print("the embedded Postgres is not running")
        return
    import signal

    os.kill(int(pid_file.read_text().split()[0]), signal.SIGINT)  # "fast" shutdown
    step("stopping the embedded Postgres")


def main() -> None:
    commands = {"demo": demo, "test": test, "bench": bench, "check": check, "stopdb": stopdb}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        sys.exit(__doc__)
    commands[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    main()
