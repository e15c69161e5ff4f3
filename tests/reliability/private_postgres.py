"""A private PostgreSQL cluster for fault tests that stop and restart the database.

The suite's shared embedded Postgres (./.pgdata) must never be restarted: other test runs use it.
This starts a cluster of its own from the `pgserver` package in a temporary directory, listening
on a Unix socket in that directory only, so a restart comes back at the same address and the
processes under test reconnect to it by themselves.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent.parent


class PrivatePostgres:
    """initdb + start on construction (`start_cluster`); `stop`, `start`, `restart`, `destroy`."""

    def __init__(self, data_dir: Path, db_name: str) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
            import pgserver
            from pgserver._commands import POSTGRES_BIN_PATH

            data_dir.mkdir(parents=True, exist_ok=True)
            # initdb and the first start (as the unprivileged `pgserver` user when run as
            # root); nothing stops it at exit: `destroy` does
            server = pgserver.get_server(data_dir, cleanup_mode=None)
        self.data_dir = data_dir
        self.bin = POSTGRES_BIN_PATH
        self.user: str | None = server.system_user
        self.socket_dir = Path(server.get_postmaster_info().socket_dir)
        self.log_path = data_dir / "log"
        self.db_name = db_name
        self.restarts = 0

    # -- addresses ----------------------------------------------------------------------
    def url(self, db_name: str | None = None) -> str:
        return f"postgresql://postgres:@/{db_name or self.db_name}?host={self.socket_dir}"

    def connect(self, db_name: str | None = None, **kwargs: Any) -> Any:
        import psycopg

        return psycopg.connect(self.url(db_name), autocommit=True, connect_timeout=5, **kwargs)

    def env(self) -> dict[str, str]:
        """Environment for a server or worker subprocess on this cluster."""
        return {"DATABASE_URL": self.url()}

    # -- control ------------------------------------------------------------------------
    def pg_ctl(self, *args: str, timeout: float = 60.0) -> None:
        cmd = [str(self.bin / "pg_ctl"), "-D", str(self.data_dir), *args]
        result = subprocess.run(
            cmd,
            user=self.user,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            timeout=timeout,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"pg_ctl {' '.join(args)} failed ({result.returncode}): "
                f"{result.stderr.decode(errors='replace')}\n{self.log()}"
            )

    def stop(self, mode: str = "fast") -> None:
        self.pg_ctl("-w", "-m", mode, "stop")

    def start(self) -> None:
        # the same options pgserver started it with: no TCP, the socket in socket_dir
        self.pg_ctl(
            "-w", "-l", str(self.log_path), "-o", '-h ""', "-o", f"-k {self.socket_dir}", "start"
        )
        self.restarts += 1

    def restart(self, mode: str = "fast", down_seconds: float = 0.0) -> None:
        """Stop (in ``mode``: fast terminates the sessions, immediate is a crash), stay down
        for ``down_seconds``, start again at the same address."""
        self.stop(mode)
        if down_seconds:
            time.sleep(down_seconds)
        self.start()

    def running(self) -> bool:
        result = subprocess.run(
            [str(self.bin / "pg_ctl"), "-D", str(self.data_dir), "status"],
            user=self.user,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
        )
        return result.returncode == 0

    def destroy(self) -> None:
        if self.running():
            try:
                self.pg_ctl("-w", "-m", "immediate", "stop", timeout=30)
            except Exception:
                pass
        shutil.rmtree(self.data_dir.parent, ignore_errors=True)

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    # -- set-up -------------------------------------------------------------------------
    def create_and_migrate(self) -> None:
        with self.connect("postgres") as conn:
            conn.execute(f'CREATE DATABASE "{self.db_name}"')
        env = dict(os.environ, DJANGO_SETTINGS_MODULE="tests.settings", DATABASE_URL=self.url())
        env.pop("REACTIVE_LIVE_DB_NAME", None)
        result = subprocess.run(
            [sys.executable, "manage.py", "migrate", "-v0", "--no-input"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            timeout=120,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(
                "migrating the private cluster failed:\n"
                + result.stdout.decode(errors="replace")
                + result.stderr.decode(errors="replace")
            )


def start_cluster(db_name: str = "faults") -> PrivatePostgres:
    """A new cluster in a fresh directory under the system's temporary directory (not pytest's
    tmp_path: pytest makes its base directory private again whenever a run starts, and the
    unprivileged user Postgres runs as when we are root must reach the data directory)."""
    base = Path(tempfile.mkdtemp(prefix="reactive-private-pg-"))
    base.chmod(0o755)
    try:
        cluster = PrivatePostgres(base / "data", db_name)
    except BaseException:
        shutil.rmtree(base, ignore_errors=True)
        raise
    try:
        cluster.create_and_migrate()
    except BaseException:
        cluster.destroy()
        raise
    return cluster
