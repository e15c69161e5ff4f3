"""A `manage.py reactive worker` process on the test database, for the scheduler's fault tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Worker:
    process: subprocess.Popen[bytes]
    log_path: Path
    _log: Any = field(repr=False)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for_log(self, text: str, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.log():
                return
            if self.process.poll() is not None:
                raise AssertionError(
                    f"worker exited ({self.process.returncode}) before "
                    f"logging {text!r}:\n{self.log()}"
                )
            time.sleep(0.05)
        raise AssertionError(f"worker did not log {text!r} in {timeout} s:\n{self.log()}")

    def kill9(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)
        self._log.close()

    def terminate(self, timeout: float = 20.0) -> int:
        """SIGTERM, then wait for a clean exit; the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout=timeout)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
            self._log.close()
        return code


def start_worker(
    db_name: str,
    tmp_dir: Path,
    *,
    crons: bool = False,
    env_extra: dict[str, str] | None = None,
    name: str = "w",
    settings: str = "tests.settings",
) -> Worker:
    env = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE=settings,
        REACTIVE_LIVE_DB_NAME=db_name,
        PYTHONUNBUFFERED="1",
        **(env_extra or {}),
    )
    cmd = [sys.executable, "manage.py", "reactive", "worker", "--name", name]
    if not crons:
        cmd.append("--no-crons")
    log_path = tmp_dir / f"worker-{name}-{time.monotonic_ns()}.log"
    log = log_path.open("wb")
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    worker = Worker(proc, log_path, log)
    try:
        worker.wait_for_log("worker started")
    except AssertionError:
        worker.kill9()  # never leave a worker running behind a failed start
        raise
    return worker


def wait_for(
    predicate: Callable[[], Any],
    what: str = "condition",
    timeout: float = 20.0,
    logs: Callable[[], str] | None = None,
    worker: Worker | None = None,
) -> Any:
    """Poll until `predicate()` is truthy and return it; on timeout fail with `what` and the
    logs (of `logs()`, or of `worker`)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    log = logs() if logs is not None else worker.log() if worker is not None else ""
    raise AssertionError(f"{what} not reached in {timeout} s\n{log}")
